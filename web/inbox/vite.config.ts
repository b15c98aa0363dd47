// Vite build of the coordinator inbox UI: sources in web/inbox, output in dist-inbox/ at the project root,
// served by the app under /inbox/. Everything is bundled (no CDN, no third-party request); the crypto is
// the project's own src/crypto (libsodium WebAssembly), imported as is.
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./'),
  base: '/inbox/',
  plugins: [preact()],
  build: {
    outDir: here('../../dist-inbox'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Everything as files: the CSP forbids inline scripts and styles.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2500,
  },
});
