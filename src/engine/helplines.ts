/**
 * The helplines of the emergency card, with their hours, in ONE place: both cards (young people and
 * professionals, French and English) are built from this file, and other engine strings that name a number
 * take its hours from here.
 *
 * Before every release a coordinator checks each number and each hour below against the service's own site
 * (hours change: the 3018's did twice since 2021). A line that closes at night has `allDay: false`: never
 * write "jour et nuit", "day and night", "tout de suite" or "right away" of it (tests/engine/strings.test.ts).
 */
import type { EmergencyLine } from './strings.js';
import type { FlowKind, Lang } from './types.js';

/** The lines the cards can show. `119chat` is the 119's written chat, shown on the 119's own line. */
export type HelplineId =
  | '17'
  | '112'
  | '114'
  | '15'
  | '119'
  | '119chat'
  | '3018'
  | '116000'
  | 'filSanteJeunes';

export interface Helpline {
  /** What to dial (or where to go, for the 119's chat), as shown on the card. */
  number: string;
  /** Whether it answers around the clock, every day. */
  allDay: boolean;
  /** When it answers, in words a 14-year-old understands. */
  hours: Record<Lang, string>;
}

const ALL_DAY: Record<Lang, string> = { fr: '24 h/24, 7 j/7', en: '24/7' };

/**
 * The 3018's hours, in one string per language. It does not answer at night: say "en journée", not a range
 * (its hours changed since 2021; check 3018.fr before a release).
 */
export const HOURS_3018: Record<Lang, string> = {
  fr: 'tous les jours en journée, pas la nuit',
  en: 'every day in the daytime, not at night',
};

export const HELPLINES: Readonly<Record<HelplineId, Helpline>> = {
  '17': { number: '17', allDay: true, hours: ALL_DAY },
  '112': { number: '112', allDay: true, hours: ALL_DAY },
  '114': { number: '114', allDay: true, hours: ALL_DAY },
  '15': { number: '15', allDay: true, hours: ALL_DAY },
  '119': { number: '119', allDay: true, hours: ALL_DAY },
  // Weekday afternoons only (in 2021: Monday, Tuesday, Thursday, Friday 3-7 pm, Wednesday 1-7 pm).
  '119chat': {
    number: 'allo119.gouv.fr',
    allDay: false,
    hours: { fr: 'du lundi au vendredi, l’après-midi seulement', en: 'Monday to Friday, afternoons only' },
  },
  '3018': { number: '3018', allDay: false, hours: HOURS_3018 },
  '116000': { number: '116 000', allDay: true, hours: ALL_DAY },
  filSanteJeunes: {
    number: '0 800 235 236',
    allDay: false,
    hours: { fr: '7 j/7, de 9 h à 23 h', en: 'every day, 9 am to 11 pm' },
  },
};

/** The hours of a line in a language (for strings that name a number outside the card). */
export function hoursOf(id: HelplineId, lang: Lang): string {
  return HELPLINES[id].hours[lang];
}

type Hours = (id: HelplineId) => string;
/** What a card line says of a helpline; `h` gives the hours from the table above. */
type Label = (h: Hours) => string;

/** The cards: which lines, in which order, and what each says, per audience and language. */
const CARDS: Record<FlowKind, Record<Lang, [Exclude<HelplineId, '119chat'>, Label][]>> = {
  youth: {
    fr: [
      ['17', (h) => `Police secours : ${h('17')}`],
      ['112', (h) => `Numéro d’urgence européen : ${h('112')}`],
      ['114', (h) => `Urgence par SMS, si tu ne peux pas parler : ${h('114')}`],
      ['15', (h) => `SAMU, si tu es blessé·e ou après une agression : ${h('15')}`],
      [
        '119',
        (h) =>
          `Allô Enfance en Danger : gratuit, ${h('119')}, n’apparaît pas sur la facture. Tchat sur allo119.gouv.fr si tu as moins de 21 ans : ${h('119chat')}.`,
      ],
      [
        '3018',
        (h) =>
          `Harcèlement en ligne, photos intimes partagées, chantage (sextorsion) : gratuit et anonyme, ${h('3018')}. Aussi par tchat sur 3018.fr.`,
      ],
      ['116000', (h) => `Enfants Disparus, si un·e proche a disparu ou a fugué : gratuit, ${h('116000')}`],
      [
        'filSanteJeunes',
        (h) =>
          `Fil Santé Jeunes : santé, sexualité, amours. Gratuit et anonyme, par téléphone ou tchat, ${h('filSanteJeunes')}.`,
      ],
    ],
    en: [
      ['17', (h) => `Police: ${h('17')}`],
      ['112', (h) => `European emergency number: ${h('112')}`],
      ['114', (h) => `Emergency by text message, if you cannot speak: ${h('114')}`],
      ['15', (h) => `SAMU, medical help if you are hurt or after an assault: ${h('15')}`],
      [
        '119',
        (h) =>
          `Allô Enfance en Danger, child protection line: free, ${h('119')}, not shown on the phone bill. Chat on allo119.gouv.fr if you are under 21: ${h('119chat')}.`,
      ],
      [
        '3018',
        (h) =>
          `Online harassment, intimate photos shared, sextortion: free and anonymous, ${h('3018')}. Also by chat on 3018.fr.`,
      ],
      [
        '116000',
        (h) => `Missing children line, if someone close to you disappeared or ran away: free, ${h('116000')}`,
      ],
      [
        'filSanteJeunes',
        (h) =>
          `Fil Santé Jeunes, for health, sex and relationships. Free and anonymous, by phone or chat, ${h('filSanteJeunes')}.`,
      ],
    ],
  },
  professional: {
    fr: [
      ['17', (h) => `Police secours : ${h('17')}`],
      ['112', (h) => `Numéro d’urgence européen : ${h('112')}`],
      [
        '114',
        (h) => `Urgence par SMS ou application 114, pour qui ne peut pas parler ou entendre : ${h('114')}`,
      ],
      ['15', (h) => `SAMU (urgence médicale, blessure, après une agression) : ${h('15')}`],
      [
        '119',
        (h) =>
          `Allô Enfance en Danger : gratuit, ${h('119')}, n’apparaît pas sur la facture. Tchat sur allo119.gouv.fr pour les moins de 21 ans : ${h('119chat')}.`,
      ],
      ['116000', (h) => `Enfants Disparus (mineur disparu ou en fugue) : gratuit, ${h('116000')}`],
      [
        '3018',
        (h) =>
          `e-Enfance (harcèlement en ligne, images intimes, sextorsion, retrait de contenus) : gratuit, ${h('3018')}.`,
      ],
    ],
    en: [
      ['17', (h) => `Police: ${h('17')}`],
      ['112', (h) => `European emergency number: ${h('112')}`],
      [
        '114',
        (h) => `Emergency by text message or the 114 app, for those who cannot speak or hear: ${h('114')}`,
      ],
      ['15', (h) => `SAMU (medical emergency, injury, after an assault): ${h('15')}`],
      [
        '119',
        (h) =>
          `Allô Enfance en Danger, child protection line: free, ${h('119')}, not shown on the phone bill. Chat on allo119.gouv.fr for under-21s: ${h('119chat')}.`,
      ],
      ['116000', (h) => `Missing Children (a minor missing or run away): free, ${h('116000')}`],
      [
        '3018',
        (h) =>
          `e-Enfance (online harassment, intimate images, sextortion, content removal): free, ${h('3018')}.`,
      ],
    ],
  },
};

/** The lines of the emergency card for an audience and a language, built from {@link HELPLINES}. */
export function cardLines(kind: FlowKind, lang: Lang): EmergencyLine[] {
  return CARDS[kind][lang].map(([id, label]) => ({
    number: HELPLINES[id].number,
    label: label((line) => hoursOf(line, lang)),
  }));
}

/** Which helpline each card line is (same order as {@link cardLines}); for the tests. */
export function cardLineIds(kind: FlowKind, lang: Lang): HelplineId[] {
  return CARDS[kind][lang].map(([id]) => id);
}
