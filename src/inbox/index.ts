/**
 * The coordinator inbox: the authenticated API under /api/v1 and the web UI (built by Vite into
 * dist-inbox/) under /inbox/. The server stores and serves ciphertext only; every decryption happens in
 * the coordinator's browser. Register with one line in buildApp: `await app.register(inboxPlugin)`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ROOT_DIR } from '../paths.js';
import { purgeIdleSessions } from '../store/index.js';
import { adminRoutes } from './admin-routes.js';
import { authRoutes } from './auth-routes.js';
import { authenticate, type InboxOptions, inboxOptions } from './context.js';
import { invitationRoutes } from './invitation-routes.js';
import { reportRoutes } from './report-routes.js';
import { deriveInboxKeys } from './security.js';
import { loginThrottle } from './throttle.js';
import { loadWorkflow, type Workflow } from './workflow.js';

export { CSRF_HEADER, type InboxOptions, inboxOptions, SESSION_COOKIE } from './context.js';
export { totpCode } from './security.js';
export { loadWorkflow, validateWorkflow, type Workflow, WorkflowError } from './workflow.js';

/** Default folder of the built UI. */
export const UI_DIR = join(ROOT_DIR, 'dist-inbox');

/**
 * The UI's Content-Security-Policy: only this origin, no inline script, no third party; libsodium compiles
 * its WebAssembly, hence 'wasm-unsafe-eval' (which allows WebAssembly compilation, not JavaScript eval).
 */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export interface InboxPluginOptions {
  options?: Partial<InboxOptions>;
  workflow?: Workflow;
}

export async function inboxPlugin(app: FastifyInstance, opts: InboxPluginOptions = {}) {
  const options = { ...inboxOptions(process.env, UI_DIR), ...opts.options };
  const workflow = opts.workflow ?? loadWorkflow();
  await app.register(cookie);
  const keys = deriveInboxKeys(app.intake.masterKey);
  const throttle = loginThrottle(app.intake.db, keys, options);
  app.decorate('inbox', { options, keys, workflow, throttle });

  await app.register(
    async (api) => {
      api.decorateRequest('inboxSession', null);
      api.addHook('onRequest', authenticate(api));
      api.addHook('onSend', async (_request, reply) => {
        reply.header('cache-control', 'no-store');
      });
      await api.register(authRoutes);
      await api.register(reportRoutes);
      await api.register(adminRoutes);
      await api.register(invitationRoutes);
    },
    { prefix: '/api/v1' },
  );

  // Sessions idle past the timeout or past their lifetime are refused on use; this sweep removes the rows.
  const sweep = setInterval(() => {
    purgeIdleSessions(app.intake.db, options.idleMinutes * 60, options.sessionMaxHours * 3600).catch((err) =>
      app.log.warn({ err }, 'inbox: idle session sweep failed'),
    );
  }, 5 * 60_000);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));

  await app.register(async (ui) => {
    ui.addHook('onSend', async (request, reply) => {
      reply.header('content-security-policy', UI_CSP);
      reply.header(
        'cache-control',
        request.url.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    });
    if (existsSync(join(options.uiDir, 'index.html'))) {
      await ui.register(fastifyStatic, {
        root: options.uiDir,
        prefix: '/inbox/',
        index: 'index.html',
        redirect: true,
        wildcard: true,
        decorateReply: false,
      });
    } else {
      const notBuilt = async (
        _req: unknown,
        reply: { code: (n: number) => { type: (t: string) => { send: (b: string) => unknown } } },
      ) =>
        reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('inbox UI not built: run `npm run build:inbox`\n');
      ui.get('/inbox', { schema: { hide: true } }, notBuilt);
      ui.get('/inbox/*', { schema: { hide: true } }, notBuilt);
    }
  });
}
