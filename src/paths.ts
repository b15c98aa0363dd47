/**
 * Where the project's data files live. This file sits one level below the project root both in `src/`
 * (run with tsx) and in `dist/` (built), so the root is always its parent folder.
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of the project root (ends with a slash). */
export const ROOT_DIR = fileURLToPath(new URL('../', import.meta.url));
/** Default folder of the YAML configuration files. */
export const CONFIG_DIR = fileURLToPath(new URL('../config/', import.meta.url));
/** Default folder of the flow files. */
export const FLOWS_DIR = fileURLToPath(new URL('../flows/', import.meta.url));
