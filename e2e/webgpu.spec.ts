// The WebGPU backend in Chromium (SwiftShader's WebGPU in headless runs): the backend and the CPU dequantizer are
// bundled with esbuild, injected into the served page, and a quantized matmul and the GPU argmax are checked there
// against a plain TypeScript reference.

import { expect, test } from '@playwright/test';
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** The page-side check: exposes `webgpuCheck()` on window. */
const ENTRY = `
import { WebGpuBackend } from './src/backend/webgpu/webgpu-backend';
import { dequantize } from './src/quant/dequantize';
import { quantizeTensor } from './src/quant/quantize';
import { ggmlTypeByName } from './src/quant/types';

window.webgpuCheck = async () => {
  const backend = await WebGpuBackend.create();
  const type = ggmlTypeByName('Q4_K');
  const [cols, rows, nTokens] = [256, 19, 3];
  const values = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.731));
  const bytes = quantizeTensor(type, values, cols);
  const weights = dequantize(type, bytes, rows * cols);
  // Activations already on the Q8_K grid (multiples of 1/127 of the block maximum), so no rounding differs.
  const x = Float32Array.from({ length: nTokens * cols }, (_, i) => (i % 255 - 127) / 127);
  const xb = backend.createBuffer(x.length);
  backend.write(xb, x);
  const out = backend.createBuffer(nTokens * rows);
  backend.matmul(backend.uploadWeight({ name: 'w', type, shape: [cols, rows] }, bytes), xb, out, nTokens);
  const got = await backend.read(out);
  let maxError = 0;
  let scale = 0;
  for (let t = 0; t < nTokens; t++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += weights[r * cols + c] * x[t * cols + c];
      maxError = Math.max(maxError, Math.abs(got[t * rows + r] - sum));
      scale = Math.max(scale, Math.abs(sum));
    }
  }
  const argmax = await backend.argmaxAsync(out);
  let expectedArgmax = 0;
  for (let i = 1; i < got.length; i++) if (got[i] > got[expectedArgmax]) expectedArgmax = i;
  backend.dispose();
  return { relativeError: maxError / scale, argmax, expectedArgmax };
};
`;

async function bundle(): Promise<string> {
  const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
  const result = await build({
    stdin: { contents: ENTRY, resolveDir: root, loader: 'ts' },
    bundle: true,
    format: 'iife',
    write: false,
    // The bundle also pulls in modules with import.meta (the WASM kernels' URLs) that this check never runs.
    logLevel: 'error',
    plugins: [
      {
        name: 'raw',
        setup(builder) {
          builder.onResolve({ filter: /\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.replace(/\?raw$/, '')), namespace: 'raw' }));
          builder.onLoad({ filter: /.*/, namespace: 'raw' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
        },
      },
    ],
  });
  return result.outputFiles[0]!.text;
}

test('the WebGPU backend multiplies Q4_K weights and finds the argmax in the browser', async ({ page }) => {
  test.setTimeout(90_000);
  await page.goto('/');
  const hasWebGpu = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
  expect(hasWebGpu, 'Chromium exposes a WebGPU adapter').toBe(true);
  await page.addScriptTag({ content: await bundle() });
  const result = await page.evaluate(() => (window as unknown as { webgpuCheck(): Promise<{ relativeError: number; argmax: number; expectedArgmax: number }> }).webgpuCheck());
  expect(result.relativeError).toBeLessThan(1e-4);
  expect(result.argmax).toBe(result.expectedArgmax);
});
