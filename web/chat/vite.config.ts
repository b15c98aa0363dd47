// Vite build of the web flow (/chat/): sources in web/chat, output in dist-chat/ at the project root. The page
// runs the project's own engine (src/engine), routing (src/intake/routing.ts) and crypto (src/crypto) in the
// browser. Everything is bundled (nothing from another origin); every script and stylesheet carries
// Subresource Integrity, and the build prints the SHA-256 of each file and of the whole bundle so that anyone
// can compare what the server sends with what was published (docs/SECURITY.md).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const outDir = here('../../dist-chat');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** Adds `integrity` to the page's scripts and stylesheets, then prints the bundle's hashes. */
function integrity(): Plugin {
  return {
    name: 'intake-chat-integrity',
    enforce: 'post',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const bundle = ctx.bundle ?? {};
        const sri = (fileName: string) => {
          const item = bundle[fileName];
          if (!item) throw new Error(`integrity: ${fileName} is not in the bundle`);
          const bytes = item.type === 'chunk' ? item.code : item.source;
          return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
        };
        return html.replace(
          /<(script|link)([^>]*?) (src|href)="\/chat\/([^"]+)"([^>]*)>/g,
          (tag, name, before, attr, file, after) =>
            /integrity=/.test(tag) || (name === 'link' && !/stylesheet|modulepreload/.test(tag))
              ? tag
              : `<${name}${before} ${attr}="/chat/${file}" integrity="${sri(file)}"${after}>`,
        );
      },
    },
    writeBundle() {
      // The hashes above are of the chunks as transformIndexHtml sees them; Vite still rewrites a chunk after
      // that (the preload list of the dynamic import of teams-js), so the integrity of the files as written
      // is set again here, from the bytes on disk: what the browser checks.
      const index = join(outDir, 'index.html');
      const html = readFileSync(index, 'utf8').replace(
        /((?:src|href)="\/chat\/([^"]+)"[^>]*? integrity=")sha384-[^"]+"/g,
        (_tag, head: string, file: string) =>
          `${head}sha384-${createHash('sha384')
            .update(readFileSync(join(outDir, file)))
            .digest('base64')}"`,
      );
      writeFileSync(index, html);
    },
    closeBundle() {
      const all = createHash('sha256');
      const lines: string[] = [];
      for (const file of files(outDir)) {
        const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
        const name = relative(outDir, file);
        lines.push(`  ${digest}  ${name}`);
        all.update(`${digest}  ${name}\n`);
      }
      process.stdout.write(
        `web flow bundle (dist-chat/), SHA-256 of each file:\n${lines.join('\n')}\n` +
          `web flow bundle SHA-256: ${all.digest('hex')}\n`,
      );
    },
  };
}

export default defineConfig({
  root: here('./'),
  base: '/chat/',
  plugins: [preact(), integrity()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Everything as files: the CSP forbids inline scripts and styles.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2500,
  },
});
