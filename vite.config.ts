import { defineConfig } from 'vite';

// The dashboard (ui/) is built into dist/ui and served by the service at /ui (src/ui/dashboard.ts).
export default defineConfig({
  root: 'ui',
  base: '/ui/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: '../dist/ui', emptyOutDir: true, assetsInlineLimit: 0, chunkSizeWarningLimit: 200 },
});
