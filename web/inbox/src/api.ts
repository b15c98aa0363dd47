/**
 * The inbox API client: same-origin fetch with the session cookie (httpOnly, set by the server) and the
 * CSRF token (kept in memory only) on every state-changing call. Errors carry the server's code and message.
 */
let csrfToken: string | null = null;
let onUnauthenticated: (() => void) | null = null;

export function setCsrf(token: string | null) {
  csrfToken = token;
}
export function onSessionLost(fn: () => void) {
  onUnauthenticated = fn;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401 && !path.startsWith('/auth/') && onUnauthenticated) onUnauthenticated();
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('application/json') ? await res.json() : await res.text();
  if (!res.ok) {
    const d = (typeof data === 'object' && data) || {};
    throw new ApiError(
      res.status,
      String((d as { error?: string }).error ?? res.status),
      String((d as { message?: string }).message ?? res.statusText),
    );
  }
  return data as T;
}

// --- Shapes of the API ---------------------------------------------------------------------------------

export interface Label {
  fr: string;
  en: string;
}
export interface Workflow {
  statuses: { id: string; label: Label; final?: boolean }[];
  transitions: { from: string[]; to: string; requires?: string[] }[];
  closeReasons: { id: string; label: Label }[];
  partners: { id: string; name: string }[];
  due: { immediateOpenMinutes: number; evaluateHours: number };
}
export interface WorkflowInfo {
  workflow: Workflow;
  inboxes: { id: string; name: string }[];
  members: { id: string; name: string; inboxes: string[] }[];
}
export interface QueueItem {
  id: string;
  reference: string;
  inbox: string;
  kind: 'professional' | 'youth';
  channel: string;
  urgency: 'normal' | 'high' | 'immediate';
  status: string;
  receivedAt: string;
  firstOpenedAt: string | null;
  assignedTo: string | null;
  partner: string | null;
  closeReason: string | null;
  duplicateOf: string | null;
  hasReceipt: boolean;
  canOpen: boolean;
  /** When the person last wrote back (web page, sealed), and whether nobody has opened the case since. */
  lastFollowUpAt: string | null;
  newFollowUp: boolean;
  due: { openBy: string | null; evaluateBy: string | null; overdue: 'not_opened' | 'not_evaluated' | null };
}
export interface CaseDetail extends QueueItem {
  envelopeVersion: number;
  nonce: string;
  ciphertext: string;
  sealedKey: string | null;
  receiptPublicKey: string | null;
  allowedTransitions: { to: string; requires: string[] }[];
  transitions: {
    id: string;
    from: string;
    to: string;
    actorName: string;
    reason: string | null;
    partner: string | null;
    duplicateOf: string | null;
    at: string;
  }[];
  replies: { id: string; authorName: string | null; at: string }[];
  /** The person's messages, sealed; `sealedKey` is null when they were not sealed to this coordinator. */
  followUps: {
    id: string;
    at: string;
    envelopeVersion: number;
    nonce: string;
    ciphertext: string;
    sealedKey: string | null;
  }[];
  /** The coordinators this report's data key is sealed to. */
  recipients: { id: string; login: string; name: string; disabled: boolean }[];
}
export interface LoginResponse {
  csrfToken: string;
  idleMinutes: number;
  totpEnrollmentRequired: boolean;
  coordinator: {
    id: string;
    login: string;
    name: string;
    role: 'coordinator' | 'admin';
    publicKey: string;
    wrappedPrivateKey: string;
    signingPublicKey: string | null;
    totpEnabled: boolean;
  };
  inboxes: { id: string; name: string }[];
}
export interface FlowLabels {
  id: string;
  version: number;
  steps: Record<string, { label: Partial<Label>; options?: Record<string, Partial<Label>> }>;
}
