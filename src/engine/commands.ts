/**
 * Global commands, available at every step in French and English, case- and accent-insensitive
 * (`/Aide`, `/AIDE`, `/aide@SomeBot` all mean help), and the free-text emergency words.
 */

/** The commands the engine understands. */
export type CommandName =
  | 'help'
  | 'emergency'
  | 'erase'
  | 'restart'
  | 'language'
  | 'followUp'
  | 'stop'
  | 'skip'
  | 'start';

/** A parsed command: its name and the rest of the message (trimmed, original case), if any. */
export interface Command {
  name: CommandName;
  arg?: string;
}

/** Every alias, already normalised (lowercase, no accents). French first. */
export const COMMAND_ALIASES: Readonly<Record<CommandName, readonly string[]>> = {
  help: ['aide', 'help'],
  emergency: ['urgence', 'emergency', 'sos'],
  erase: ['effacer', 'erase'],
  restart: ['recommencer', 'restart'],
  language: ['langue', 'language', 'lang'],
  followUp: ['suivi', 'followup', 'follow_up'],
  stop: ['stop', 'arreter'],
  skip: ['passer', 'skip'],
  start: ['start', 'demarrer'],
};

const BY_ALIAS = new Map<string, CommandName>(
  Object.entries(COMMAND_ALIASES).flatMap(([name, aliases]) => aliases.map((a) => [a, name as CommandName])),
);

/**
 * Words that, sent alone, show the emergency card at any step (never stored as an answer). Written as
 * {@link isEmergencyWord} compares them: normalised, hyphens as spaces, no punctuation.
 */
export const EMERGENCY_WORDS: readonly string[] = [
  'urgence',
  'danger',
  'sos',
  'au secours',
  'aide moi',
  'aidez moi',
  "a l'aide",
  'emergency',
  'help me',
];

/**
 * Lowercases, strips accents and typographic quotes, collapses spaces. Used to compare what the user typed
 * with labels and keywords, never to store anything.
 */
export function normalize(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[’‘`´]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Parses a message starting with `/` into a command. Returns `undefined` when the message is not a command
 * at all, and `null` for an unknown `/word` (so the engine can say the command is unknown).
 */
export function parseCommand(text: string): Command | null | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('/')) return undefined;
  const match = /^\/([^\s@]+)(?:@\S+)?(?:\s+([\s\S]*))?$/u.exec(trimmed);
  if (!match) return null;
  const name = BY_ALIAS.get(normalize(match[1] ?? '').replace(/-/g, ''));
  if (!name) return null;
  const arg = match[2]?.trim();
  return arg ? { name, arg } : { name };
}

/**
 * Whether a whole message is an emergency word ("urgence", "Aide-moi !", "À l’aide", "SOS"...): case,
 * accents, hyphens, punctuation and emoji aside.
 */
export function isEmergencyWord(text: string): boolean {
  const cleaned = normalize(text)
    .replace(/-/g, ' ')
    .replace(/[^\p{L}\p{N}\s']+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return EMERGENCY_WORDS.includes(cleaned);
}
