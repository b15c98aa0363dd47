// The engine's and the channels' own words: short sentences for young people, the right register for each
// audience, and honest hours on the emergency card (numbers and hours from the project's domain notes).
import { describe, expect, it } from 'vitest';
import { TEAMS_TEXTS } from '../../src/channels/teams/texts.js';
import { TEXTS } from '../../src/channels/telegram/texts.js';
import {
  cardLineIds,
  cardLines,
  HELPLINES,
  type HelplineId,
  HOURS_3018,
} from '../../src/engine/helplines.js';
import { type EngineStrings, type FlowKind, type Lang, stringsFor } from '../../src/engine/index.js';
import { FOLLOW_UP } from '../../src/intake/texts.js';
import { sentences, TUTOIEMENT, VOUVOIEMENT, wordCount } from '../support/words.js';

const MAX_WORDS = 20;
const LANGS: Lang[] = ['fr', 'en'];
const KINDS: FlowKind[] = ['youth', 'professional'];

interface Shown {
  where: string;
  text: string;
}

/** Sample arguments for every engine string that is a function: each call is one string to check. */
const SAMPLES: Record<string, unknown[][]> = {
  languageUnavailable: [['fr, en']],
  invalidChoice: [[5]],
  invalidMultiMin: [[1], [2]],
  invalidMultiMax: [[1], [3]],
  invalidMultiUnknown: [[5]],
  invalidConsent: [['J’accepte', 'Je refuse']],
  invalidTextShort: [[1], [10]],
  invalidTextLong: [[1000, 1234]],
  invalidNumber: [[0, 120]],
  expired: [[72]],
  erased: [[true], [false]],
  receiptText: [[true], [false]],
  submitFailed: [['no_recipient'], ['unavailable']],
  // FOLLOW_UP
  header: [[1], [3]],
  item: [['14/07/2024', 'Bonjour.']],
  // Telegram
  eraseDone: [[0], [1], [3]],
  eraseFailed: [[1], [3]],
  // Teams
  noticeOne: [['R-1234', 'ssd', 'high']],
  noticeMessages: [
    ['Coordination 93', ['R-1234']],
    ['Coordination 93', ['R-1234', 'R-5678']],
  ],
  noticeMany: [
    [
      'ssd',
      [
        { reference: 'R-1', urgency: 'normal' },
        { reference: 'R-2', urgency: 'immediate' },
      ],
    ],
  ],
};

/** Every string a table shows: plain strings, each function called with its samples, nested lists. */
function walk(value: unknown, where: string): Shown[] {
  if (typeof value === 'string') return [{ where, text: value }];
  if (typeof value === 'function') {
    const key = where.split('.').at(-1) ?? where;
    const samples = SAMPLES[key];
    if (!samples) throw new Error(`${where}: no sample arguments in SAMPLES; add some`);
    return samples.flatMap((args) =>
      walk((value as (...a: unknown[]) => unknown)(...args), `${where}(${args.map(String).join(', ')})`),
    );
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => walk(v, `${where}[${i}]`));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => walk(v, `${where}.${k}`));
  return [];
}

const engine = (lang: Lang, kind: FlowKind): Shown[] =>
  walk(stringsFor(lang, kind) satisfies EngineStrings, `stringsFor(${lang}, ${kind})`);
const card = (lang: Lang, kind: FlowKind): Shown[] =>
  cardLines(kind, lang).map((l, i) => ({ where: `card ${kind} ${lang} [${i}] ${l.number}`, text: l.label }));
const followUp = (lang: Lang, register: 'tu' | 'vous' | 'neutral'): Shown[] =>
  walk(FOLLOW_UP[lang][register], `FOLLOW_UP.${lang}.${register}`);
const telegram = (lang: Lang): Shown[] => walk(TEXTS[lang], `telegram.TEXTS.${lang}`);
const teams = (lang: Lang): Shown[] => walk(TEAMS_TEXTS[lang], `teams.TEXTS.${lang}`);

/** What a young person can read: youth engine strings and card, follow-up (tu and neutral), Telegram. */
const youthFacing = (lang: Lang): Shown[] => [
  ...engine(lang, 'youth'),
  ...card(lang, 'youth'),
  ...followUp(lang, 'tu'),
  ...followUp(lang, 'neutral'),
  ...telegram(lang),
];

function tooLong(list: Shown[]): string[] {
  return list.flatMap((s) =>
    sentences(s.text)
      .filter((sentence) => wordCount(sentence) > MAX_WORDS)
      .map((sentence) => `${s.where}: ${wordCount(sentence)} words: ${sentence}`),
  );
}

describe('the engine’s own strings', () => {
  it('walks every string of every table', () => {
    for (const lang of LANGS) {
      for (const kind of KINDS) expect(engine(lang, kind).length).toBeGreaterThan(60);
      expect(telegram(lang).length).toBeGreaterThan(15);
    }
  });

  it.each(LANGS)(`keeps every sentence a young person reads at ${MAX_WORDS} words or fewer [%s]`, (lang) => {
    expect(tooLong(youthFacing(lang))).toEqual([]);
  });

  it('says "vous" to professionals in French (no tu, te, toi, ton, ta, tes, t’)', () => {
    const pro = [...engine('fr', 'professional'), ...card('fr', 'professional'), ...followUp('fr', 'vous')];
    expect(pro.filter((s) => TUTOIEMENT.test(s.text)).map((s) => `${s.where}: ${s.text}`)).toEqual([]);
  });

  it('says "tu" to young people in French (no vous, votre, vos)', () => {
    const youth = [...engine('fr', 'youth'), ...card('fr', 'youth'), ...followUp('fr', 'tu')];
    expect(youth.filter((s) => VOUVOIEMENT.test(s.text)).map((s) => `${s.where}: ${s.text}`)).toEqual([]);
  });

  it('says neither "tu" nor "vous" where the audience is unknown (Telegram notices, neutral follow-up)', () => {
    const neutral = [...telegram('fr'), ...followUp('fr', 'neutral')];
    expect(
      neutral
        .filter((s) => TUTOIEMENT.test(s.text) || VOUVOIEMENT.test(s.text))
        .map((s) => `${s.where}: ${s.text}`),
    ).toEqual([]);
  });
});

/** Said of a line only if it answers around the clock. */
const ROUND_THE_CLOCK =
  /jour et nuit|day and night|24 ?h ?\/ ?24|24\/7|tout de suite|right away|imm[ée]diatement|à toute heure|any time/i;
/** How a sentence names a line that closes at night. */
const NIGHT_CLOSED = /\b3018\b|0 800 235 236|fil santé jeunes|allo119\.gouv\.fr|\btchat\b|\bchat\b/i;

describe('honest hours', () => {
  const everything = LANGS.flatMap((lang) => [
    ...KINDS.flatMap((kind) => [...engine(lang, kind), ...card(lang, kind)]),
    ...followUp(lang, 'tu'),
    ...followUp(lang, 'vous'),
    ...followUp(lang, 'neutral'),
    ...telegram(lang),
    ...teams(lang),
  ]);

  it('never says "jour et nuit" or "day and night"', () => {
    expect(everything.filter((s) => /jour et nuit|day and night/i.test(s.text)).map((s) => s.where)).toEqual(
      [],
    );
  });

  it('never says "24/7", "tout de suite" or "right away" in a sentence naming a line closed at night', () => {
    const wrong = everything.flatMap((s) =>
      sentences(s.text)
        .filter((sentence) => NIGHT_CLOSED.test(sentence) && ROUND_THE_CLOCK.test(sentence))
        .map((sentence) => `${s.where}: ${sentence}`),
    );
    expect(wrong).toEqual([]);
  });

  it('marks as closed at night exactly the lines DOMAIN.md says close at night', () => {
    const closed = (Object.keys(HELPLINES) as HelplineId[]).filter((id) => !HELPLINES[id].allDay).sort();
    expect(closed).toEqual(['119chat', '3018', 'filSanteJeunes']);
    for (const id of closed)
      for (const lang of LANGS) expect(HELPLINES[id].hours[lang], id).not.toMatch(ROUND_THE_CLOCK);
  });
});

describe('the emergency card', () => {
  const REQUIRED: Record<FlowKind, string[]> = {
    youth: ['17', '112', '114', '15', '119', '3018', '116 000', '0 800 235 236'],
    professional: ['17', '112', '114', '15', '119', '116 000', '3018'],
  };

  it.each(KINDS)('lists the numbers the %s audience needs, in both languages', (kind) => {
    for (const lang of LANGS) {
      expect(cardLines(kind, lang).map((l) => l.number)).toEqual(REQUIRED[kind]);
      expect(stringsFor(lang, kind).emergencyLines).toEqual(cardLines(kind, lang));
    }
  });

  it.each(KINDS)('gives every line of the %s card its hours from the one table', (kind) => {
    for (const lang of LANGS) {
      const lines = cardLines(kind, lang);
      cardLineIds(kind, lang).forEach((id, i) => {
        expect(lines[i]?.label, `${kind} ${lang} ${id}`).toContain(HELPLINES[id].hours[lang]);
      });
      const line119 = lines.find((l) => l.number === '119')?.label ?? '';
      expect(line119).toContain('allo119.gouv.fr');
      expect(line119).toContain(HELPLINES['119chat'].hours[lang]);
    }
  });

  it('has the hours DOMAIN.md gives', () => {
    for (const id of ['17', '112', '114', '15', '119', '116000'] as const) {
      expect(HELPLINES[id].allDay, id).toBe(true);
      expect(HELPLINES[id].hours.fr, id).toBe('24 h/24, 7 j/7');
      expect(HELPLINES[id].hours.en, id).toBe('24/7');
    }
    expect(HELPLINES['119chat'].hours.fr).toMatch(/du lundi au vendredi, l’après-midi/);
    expect(HELPLINES['119chat'].hours.en).toMatch(/Monday to Friday, afternoons/);
    // The 3018: "en journée", never a range of hours, never at night.
    expect(HELPLINES['3018'].hours).toBe(HOURS_3018);
    expect(HOURS_3018.fr).toContain('en journée');
    expect(HOURS_3018.en).toContain('daytime');
    for (const lang of LANGS) expect(HOURS_3018[lang]).not.toMatch(/\d/);
    expect(HELPLINES.filSanteJeunes.hours.fr).toBe('7 j/7, de 9 h à 23 h');
    expect(HELPLINES.filSanteJeunes.hours.en).toBe('every day, 9 am to 11 pm');
  });

  it('names what each line is for, in words a young person uses', () => {
    const fr = cardLines('youth', 'fr');
    const label = (n: string) => fr.find((l) => l.number === n)?.label ?? '';
    expect(label('114')).toMatch(/SMS/);
    expect(label('15')).toMatch(/SAMU/);
    expect(label('119')).toMatch(/gratuit/);
    expect(label('119')).toMatch(/moins de 21 ans/);
    expect(label('3018')).toMatch(/harcèlement en ligne/i);
    expect(label('3018')).toMatch(/sextorsion/);
    expect(label('116 000')).toMatch(/disparu/);
    expect(label('116 000')).toMatch(/fugué/);
    expect(label('0 800 235 236')).toMatch(/Fil Santé Jeunes/);
  });
});
