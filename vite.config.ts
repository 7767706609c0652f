import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// Cross-origin isolation (COOP + COEP) makes SharedArrayBuffer available, which
// multi-threaded WASM kernels need. Dev and preview servers send the same headers.
const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // Relative base: the built playground works from any sub-path (static hosting, a file share).
  base: './',
  plugins: [react()],
  // WGSL shaders (shaders/*.wgsl?raw) and AssemblyScript builds (*.wasm?url) need no
  // plugin: Vite's ?raw and ?url suffixes handle them.
  worker: { format: 'es' },
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  build: { target: 'es2022' },
  // Unit tests sit beside the code; Playwright runs e2e/ on its own.
  test: { include: ['src/**/*.test.ts'] },
});
