/**
 * Shapes a free-text answer can be required to have (`format:` on a `text` step): a phone number, an e-mail
 * address, either of them, or the name of a commune. The checks are deliberately simple: they catch a button
 * label, a number or a word typed on the wrong question ("2", "Valider", "oui"), not every wrong number.
 */
import { normalize } from './commands.js';
import type { EngineStrings } from './strings.js';
import type { TextFormat } from './types.js';

/** Separators people put in phone numbers: spaces (non-breaking too), dots, dashes, parentheses. */
const PHONE_SEPARATORS = /[\s.\-()]/g;

/**
 * A French number (`06 12 34 56 78`, `06.12.34.56.78`, `+33 6 12 34 56 78`, `+33 (0)6…`, `0033 6…`) or an
 * international one (`+` then 8 to 15 digits; `00` then at least 9).
 */
export function isPhone(text: string): boolean {
  const t = text.trim();
  if (!/^\+?[\d\s.\-()]+$/.test(t)) return false;
  let compact = t.replace(/\(0\)/, '').replace(PHONE_SEPARATORS, '');
  // "00" dials abroad like "+"; "00 12 34 56 78" (ten digits) is a mistyped French number, not a foreign one.
  if (compact.startsWith('00')) {
    if (compact.length < 11) return false;
    compact = `+${compact.slice(2)}`;
  }
  if (/^0[1-9]\d{8}$/.test(compact)) return true;
  if (compact.startsWith('+33')) return /^\+33[1-9]\d{8}$/.test(compact);
  return /^\+[1-9]\d{7,14}$/.test(compact);
}

const EMAIL_LOCAL = "[\\p{L}\\p{N}!#$%&'*+/=?^_`{|}~-]+";
const EMAIL_LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,61}[\\p{L}\\p{N}])?';
const EMAIL = new RegExp(`^${EMAIL_LOCAL}(?:\\.${EMAIL_LOCAL})*@(?:${EMAIL_LABEL}\\.)+\\p{L}{2,63}$`, 'u');

/** `name@domain.tld`: one `@`, no spaces, dotted parts, a top-level domain of letters. */
export function isEmail(text: string): boolean {
  const t = text.trim();
  return t.length <= 254 && EMAIL.test(t);
}

/** Words that answer another kind of question (buttons, yes/no, "I don't know"): never a commune. */
const NOT_A_PLACE = new Set([
  'oui',
  'non',
  'ok',
  'okay',
  "d'accord",
  'daccord',
  'valider',
  'valide',
  'confirmer',
  'envoyer',
  'passer',
  'suivant',
  'continuer',
  'annuler',
  'termine',
  'fini',
  'merci',
  'aucun',
  'aucune',
  'rien',
  'inconnu',
  'inconnue',
  'je ne sais pas',
  'je sais pas',
  'ne sais pas',
  'sais pas',
  'jsp',
  'nsp',
  'yes',
  'no',
  'done',
  'skip',
  'next',
  'cancel',
  'confirm',
  'send',
  'thanks',
  'none',
  'nothing',
  'unknown',
  "i don't know",
  "don't know",
  'dont know',
  'idk',
]);

/**
 * The name of a commune: letters (any accents), spaces, hyphens, apostrophes, dots, commas and parentheses,
 * digits only beside letters (a postcode, "Paris 18e"); at least two letters; not a word like "oui".
 */
export function isCommune(text: string): boolean {
  const t = text.trim();
  if (!/^[\p{L}\p{M}\p{N} '’.,()-]+$/u.test(t)) return false;
  if ((t.match(/\p{L}/gu) ?? []).length < 2) return false;
  return !NOT_A_PLACE.has(normalize(t).replace(/[.!?]+$/, ''));
}

/** Whether a (trimmed) answer has the shape `format` asks for. */
export function matchesFormat(format: TextFormat, text: string): boolean {
  switch (format) {
    case 'phone':
      return isPhone(text);
    case 'email':
      return isEmail(text);
    case 'phone_or_email':
      return isPhone(text) || isEmail(text);
    case 'commune':
      return isCommune(text);
  }
}

/** The re-prompt saying which shape is expected. */
export function formatProblem(t: EngineStrings, format: TextFormat): string {
  switch (format) {
    case 'phone':
      return t.invalidPhone;
    case 'email':
      return t.invalidEmail;
    case 'phone_or_email':
      return t.invalidPhoneOrEmail;
    case 'commune':
      return t.invalidCommune;
  }
}

const SKIP_WORDS = new Set(['passer', 'je passe', 'skip']);

/** A typed "Passer"/"Skip" (normalized), which skips an optional question whose answer has a format. */
export function isSkipWord(normalized: string): boolean {
  return SKIP_WORDS.has(normalized);
}
