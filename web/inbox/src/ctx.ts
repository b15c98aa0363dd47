/**
 * What every view of the inbox receives from the app shell (main.tsx): texts, language, the logged-in
 * coordinator, the workflow and two label helpers. In its own module so the views do not import main.tsx
 * (which imports them).
 */
import type { LoginResponse, WorkflowInfo } from './api.js';
import type { Lang, Texts } from './i18n.js';

export interface Ctx {
  t: Texts;
  lang: Lang;
  me: LoginResponse;
  info: WorkflowInfo;
  statusLabel: (id: string) => string;
  memberName: (id: string | null) => string;
}
