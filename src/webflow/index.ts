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

/** Default folder of the built page. */
export const CHAT_DIR = join(ROOT_DIR, 'dist-chat');

/**
 * The page's Content-Security-Policy: this origin only, no inline script or style, no third party, no
 * framing; libsodium compiles its WebAssembly, hence 'wasm-unsafe-eval' (WebAssembly only, not eval).
 */
export const CHAT_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

export interface WebFlowOptions {
  /** Folder of the built page (tests). */
  dir?: string;
}

export async function webFlowPlugin(app: FastifyInstance, opts: WebFlowOptions = {}) {
  const dir = opts.dir ?? CHAT_DIR;
  await app.register(publicRoutes, { prefix: '/api/v1/public' });

  await app.register(async (page) => {
    page.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CHAT_CSP);
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
