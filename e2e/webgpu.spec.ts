// The WebGPU backend in Chromium (SwiftShader's WebGPU in headless runs): the backend, the model and the CPU
// dequantizer are bundled with esbuild and injected into the served page. Checked there: a quantized matmul and the
// GPU top-1 selection against a plain TypeScript reference, and stories260K's greedy tokens against llama.cpp's.

import { expect, test } from '@playwright/test';
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FIXTURES, STORIES_GGUF } from './paths';

/** The page-side check: exposes `webgpuCheck()` on window. */
const ENTRY = `
import { WebGpuBackend } from './src/backend/webgpu/webgpu-backend';
import { loadModel } from './src/model/model';
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
  const argmax = (await backend.topK(out, 1, [])).ids[0];
  let expectedArgmax = 0;
  for (let i = 1; i < got.length; i++) if (got[i] > got[expectedArgmax]) expectedArgmax = i;
  backend.dispose();
  return { relativeError: maxError / scale, argmax, expectedArgmax };
};

/** Greedy continuation of the prompt on WebGPU, of the model at url, nTokens long. */
window.webgpuGreedy = async (url, prompt, nTokens) => {
  const backend = await WebGpuBackend.create();
  const model = await loadModel(await (await fetch(url)).blob(), backend);
  const cache = model.createCache(prompt.length + nTokens);
  const tokens = [];
  let logits = await model.forward(prompt, 0, cache, 'last');
  for (let i = 0; i < nTokens; i++) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    tokens.push(best);
    if (i + 1 < nTokens) logits = await model.forward([best], prompt.length + i, cache, 'last');
  }
  backend.dispose();
  return tokens;
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

test('the WebGPU backend multiplies Q4_K weights and finds the largest output with topK in the browser', async ({ page }) => {
  test.setTimeout(90_000);
  await page.goto('/');
  const hasWebGpu = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
  expect(hasWebGpu, 'Chromium exposes a WebGPU adapter').toBe(true);
  await page.addScriptTag({ content: await bundle() });
  const result = await page.evaluate(() => (window as unknown as { webgpuCheck(): Promise<{ relativeError: number; argmax: number; expectedArgmax: number }> }).webgpuCheck());
  expect(result.relativeError).toBeLessThan(1e-4);
  expect(result.argmax).toBe(result.expectedArgmax);
});

test('stories260K on WebGPU continues the golden prompt with llama.cpp\'s greedy tokens', async ({ page }) => {
  test.setTimeout(60_000);
  const ref = JSON.parse(await readFile(`${FIXTURES}/golden/stories260K-F32.ref.json`, 'utf8')) as { greedy: { prompt_ids: number[]; tokens: number[] } };
  await page.route('**/golden/stories260K.gguf', (route) => route.fulfill({ path: STORIES_GGUF, contentType: 'application/octet-stream' }));
  await page.goto('/');
  await page.addScriptTag({ content: await bundle() });
  const { prompt_ids: prompt, tokens: expected } = ref.greedy;
  const tokens = await page.evaluate(
    ([p, n]) =>
      (window as unknown as { webgpuGreedy(url: string, prompt: number[], n: number): Promise<number[]> }).webgpuGreedy('/golden/stories260K.gguf', p, n),
    [prompt, expected.length] as const,
  );
  expect(tokens).toEqual(expected);
});
