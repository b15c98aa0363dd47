/**
 * The conversation engine: a pure `step(flow, state, turn)` function and the types of the flow language.
 * Channels translate platform events into a {@link Turn} and render the {@link Reply} list; the caller
 * carries out the {@link Effect} list and persists the returned state (encrypted) only after a turn succeeds.
 */
export {
  COMMAND_ALIASES,
  type Command,
  type CommandName,
  isEmergencyWord,
  normalize,
  parseCommand,
} from './commands.js';
export { evaluate, maxUrgency, nextTargets, referencedSteps, resolveNext } from './conditions.js';
export {
  BUILTIN,
  DEFAULT_IDLE_TIMEOUT_MS,
  ERASE_BUTTON,
  LANGUAGE_PICKER,
  parisDay,
  parseDate,
  step,
} from './engine.js';
export { ENGINE_VERSION, isValidState } from './state.js';
export { type EngineStrings, type Register, registerOf, stringsFor } from './strings.js';
export type * from './types.js';
