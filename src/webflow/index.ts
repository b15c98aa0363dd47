/**
 * The web flow: the page at `/chat/` (built by Vite from web/chat into dist-chat/) that runs the same engine
 * and flows as the chats in the person's browser and seals the report there, and its public API under
 * `/api/v1/public/`. Register with one line in buildApp: `await app.register(webFlowPlugin)`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ROOT_DIR } from '../paths.js';
import { publicRoutes } from './routes.js';
import { CHAT_HOSTS, type ChatHost } from './url.js';

/** Default folder of the built page. */
export const CHAT_DIR = join(ROOT_DIR, 'dist-chat');

/**
 * Who may frame the page, by the `in` query parameter the chats put on their links (src/webflow/url.ts):
 * nobody for a plain link; Telegram Web (web.telegram.org) for a Mini App, which Telegram's web clients
 * show in a frame; Microsoft's Teams origins for a Teams dialog (Microsoft's list for Teams, with
 * teams.cloud.microsoft, where the Teams web client is moving; not the other Microsoft 365 apps under
 * *.cloud.microsoft: the bot lives in Teams only). The page is anonymous and has no action another origin could
 * trigger on someone's behalf; framing stays limited to the app that opened it.
 */
export const FRAME_ANCESTORS: Record<ChatHost | 'none', string> = {
  none: "'none'",
  telegram: 'https://web.telegram.org',
  teams: 'https://teams.microsoft.com https://*.teams.microsoft.com https://teams.cloud.microsoft',
};

/**
 * The page's Content-Security-Policy: this origin only, no inline script or style, no third party, framed
 * only by the app that opened it (above); libsodium compiles its WebAssembly, hence 'wasm-unsafe-eval'
 * (WebAssembly only, not eval).
 */
export function chatCsp(host: ChatHost | 'none' = 'none'): string {
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "manifest-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    `frame-ancestors ${FRAME_ANCESTORS[host]}`,
    "form-action 'none'",
  ].join('; ');
}

/** The policy of a page opened by a plain link (no framing at all). */
export const CHAT_CSP = chatCsp();

function hostOf(query: unknown): ChatHost | 'none' {
  const value = (query as { in?: unknown } | undefined)?.in;
  return typeof value === 'string' && (CHAT_HOSTS as readonly string[]).includes(value)
    ? (value as ChatHost)
    : 'none';
}

export interface WebFlowOptions {
  /** Folder of the built page (tests). */
  dir?: string;
}

export async function webFlowPlugin(app: FastifyInstance, opts: WebFlowOptions = {}) {
  const dir = opts.dir ?? CHAT_DIR;
  await app.register(publicRoutes, { prefix: '/api/v1/public' });

  await app.register(async (page) => {
    page.addHook('onSend', async (request, reply) => {
      const host = hostOf(request.query);
      reply.header('content-security-policy', chatCsp(host));
      // helmet's X-Frame-Options (SAMEORIGIN) would contradict frame-ancestors for the two apps.
      if (host !== 'none') reply.removeHeader('x-frame-options');
      // A watched phone: nothing of the page, not even its code, stays in the browser's cache or history.
      reply.header('cache-control', 'no-store');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-robots-tag', 'noindex');
    });
    if (existsSync(join(dir, 'index.html'))) {
      await page.register(fastifyStatic, {
        root: dir,
        prefix: '/chat/',
        index: 'index.html',
        redirect: true,
        wildcard: true,
        cacheControl: false,
        etag: false,
        lastModified: false,
        decorateReply: false,
      });
    } else {
      const notBuilt = async (_req: unknown, reply: import('fastify').FastifyReply) =>
        reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('web flow not built: run `npm run build:chat`\n');
      page.get('/chat', { schema: { hide: true } }, notBuilt);
      page.get('/chat/*', { schema: { hide: true } }, notBuilt);
    }
  });
}
