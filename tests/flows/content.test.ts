// Content checks on every conversation script in flows/: short sentences, every string translated in every
// listed language, and the tone each audience needs (vous for professionals, tu for young people, never the
// word "prostitution" shown to a young person). Reads the YAML directly so it runs without the engine.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sentences, wordCount } from '../support/words.js';

const FLOWS_DIR = fileURLToPath(new URL('../../flows/', import.meta.url));
/** Longest sentence allowed: 20 words for young people (issue 12), 25 for professionals. */
const MAX_WORDS: Record<string, number> = { youth: 20, professional: 25 };
const maxWords = (kind: string): number => MAX_WORDS[kind] ?? 20;

interface VisibleString {
  flow: string;
  kind: string;
  where: string;
  lang: string;
  text: string;
}

interface LoadedFlow {
  file: string;
  id: string;
  kind: string;
  languages: string[];
  doc: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `flows/*.yaml` and `flows/archive/*.yaml` (old versions still finish conversations started on them). */
function flowFiles(): string[] {
  const list = (dir: string, prefix: string) =>
    existsSync(join(FLOWS_DIR, dir))
      ? readdirSync(join(FLOWS_DIR, dir))
          .filter((name) => /\.ya?ml$/.test(name))
          .sort()
          .map((name) => `${prefix}${name}`)
      : [];
  return [...list('.', ''), ...list('archive', 'archive/')];
}

function loadFlows(): LoadedFlow[] {
  return flowFiles().map((file) => {
    const doc: unknown = parse(readFileSync(join(FLOWS_DIR, file), 'utf8'));
    if (!isRecord(doc)) throw new Error(`${file}: not a mapping`);
    const languages = Array.isArray(doc.languages) ? doc.languages.map(String) : [];
    return { file, id: String(doc.id), kind: String(doc.kind), languages, doc };
  });
}

/** Every translated field of a flow, with the languages it has (missing ones are reported separately). */
function translatedFields(flow: LoadedFlow): { where: string; value: unknown }[] {
  const fields: { where: string; value: unknown }[] = [{ where: 'title', value: flow.doc.title }];
  const steps = Array.isArray(flow.doc.steps) ? flow.doc.steps : [];
  steps.forEach((step: unknown, i) => {
    if (!isRecord(step)) return;
    const at = `steps[${i}] (${String(step.id)})`;
    for (const key of ['text', 'page_text', 'summary_label', 'accept', 'decline']) {
      if (key in step) fields.push({ where: `${at}.${key}`, value: step[key] });
    }
    const options = Array.isArray(step.options) ? step.options : [];
    options.forEach((option: unknown, j) => {
      if (!isRecord(option)) return;
      fields.push({ where: `${at}.options[${j}] (${String(option.id)}).label`, value: option.label });
      if ('info' in option)
        fields.push({ where: `${at}.options[${j}] (${String(option.id)}).info`, value: option.info });
    });
  });
  return fields;
}

function visibleStrings(flow: LoadedFlow): VisibleString[] {
  const out: VisibleString[] = [];
  for (const { where, value } of translatedFields(flow)) {
    if (!isRecord(value)) continue;
    for (const [lang, text] of Object.entries(value)) {
      if (typeof text === 'string') out.push({ flow: flow.id, kind: flow.kind, where, lang, text });
    }
  }
  return out;
}

const flows = loadFlows();
const all = flows.flatMap(visibleStrings);

describe('flow content', () => {
  it('finds the two flows and their strings', () => {
    const kinds = flows.map((f) => f.kind);
    expect(kinds).toContain('professional');
    expect(kinds).toContain('youth');
    expect(all.length).toBeGreaterThan(50);
  });

  it('lists French first in every flow', () => {
    for (const flow of flows) expect(flow.languages[0], flow.file).toBe('fr');
  });

  it('has every user-visible string in every listed language, and only those', () => {
    const problems: string[] = [];
    for (const flow of flows) {
      for (const { where, value } of translatedFields(flow)) {
        if (!isRecord(value)) {
          problems.push(`${flow.file} ${where}: not a translated mapping`);
          continue;
        }
        for (const lang of flow.languages) {
          const text = value[lang];
          if (typeof text !== 'string' || text.trim() === '')
            problems.push(`${flow.file} ${where}: missing "${lang}"`);
        }
        for (const lang of Object.keys(value)) {
          if (!flow.languages.includes(lang))
            problems.push(`${flow.file} ${where}: "${lang}" is not a listed language`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it(`keeps every sentence at ${MAX_WORDS.youth} words or fewer for young people, ${MAX_WORDS.professional} for professionals`, () => {
    const tooLong = all.flatMap((s) =>
      sentences(s.text)
        .filter((sentence) => wordCount(sentence) > maxWords(s.kind))
        .map((sentence) => `${s.flow} ${s.where} [${s.lang}] ${wordCount(sentence)} words: ${sentence}`),
    );
    expect(tooLong).toEqual([]);
  });

  it('never shows the word "prostitution" to a young person', () => {
    const found = all.filter((s) => s.kind === 'youth' && /prostitu/i.test(s.text));
    expect(found.map((s) => `${s.flow} ${s.where} [${s.lang}]`)).toEqual([]);
  });

  it('says "vous" to professionals (no tu, te, toi, ton, ta, tes, t\')', () => {
    const tutoiement = /(^|[\s«("'’-])(tu|te|toi|ton|ta|tes)(?=$|[\s,.;:!?…»)])|(^|[\s«("])t['’]\p{L}/iu;
    const found = all.filter((s) => s.kind === 'professional' && s.lang === 'fr' && tutoiement.test(s.text));
    expect(found.map((s) => `${s.flow} ${s.where}: ${s.text}`)).toEqual([]);
  });

  it('says "tu" to young people (no vous, votre, vos)', () => {
    const vouvoiement = /(^|[\s«("'’-])(vous|votre|vos)(?=$|[\s,.;:!?…»)])/iu;
    const found = all.filter((s) => s.kind === 'youth' && s.lang === 'fr' && vouvoiement.test(s.text));
    expect(found.map((s) => `${s.flow} ${s.where}: ${s.text}`)).toEqual([]);
  });

  it('gives the numbers each audience needs, in every language', () => {
    for (const flow of flows) {
      for (const lang of flow.languages) {
        const text = all
          .filter((s) => s.flow === flow.id && s.lang === lang)
          .map((s) => s.text)
          .join('\n');
        expect(text, `${flow.file} [${lang}]`).toMatch(/\b17\b/);
        if (flow.kind === 'youth') {
          expect(text, `${flow.file} [${lang}]`).toMatch(/\b119\b/);
          expect(text, `${flow.file} [${lang}]`).toContain('0 800 235 236');
          expect(text, `${flow.file} [${lang}]`).toMatch(/\/(effacer|erase)\b/);
        } else {
          expect(text, `${flow.file} [${lang}]`).toMatch(/\b112\b/);
        }
      }
    }
  });

  it('counts words and splits sentences as intended', () => {
    expect(sentences('Un. Deux trois ?\nQuatre… cinq')).toEqual(['Un.', 'Deux trois ?', 'Quatre…', 'cinq']);
    expect(wordCount('Fil Santé Jeunes : 0 800 235 236.')).toBe(7);
  });
});
