// Whole models on the WebGPU backend (Dawn on SwiftShader): greedy steps on the golden prompt against llama.cpp's
// tokens, and the prompt's logits against the WASM backend.
//
// The WASM backend reproduces llama.cpp's CPU arithmetic bit for bit; the GPU sums in other orders, so its values
// differ in the last bits. Where such a value sits on a rounding tie of a later rounding (keys and values stored as
// f16, activations quantized to 8 bits), the two round apart, and with quantized weights that difference grows
// layer by layer. So the greedy check is teacher-forced (every step is fed llama.cpp's token, a differing step does
// not derail the next ones; all steps in one batched pass) and skips steps whose golden top-2 log-probabilities are closer than `tieGap`.

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../formats/gguf';
import { LlamaModel } from '../../model/llama';
import { WasmBackend } from '../wasm/wasm-backend';
import { createTestDevice, uncapturedErrors } from './test-gpu';
import { WebGpuBackend } from './webgpu-backend';

const FIXTURES = '../shared/fixtures';

interface Case {
  golden: string;
  model: string;
  /** Largest relative L2 distance of the prompt's logits from the WASM backend's. */
  maxRelL2: number;
  /** Greedy steps whose golden top-2 log-probabilities are closer than this are not compared. */
  tieGap: number;
  /** Golden greedy steps compared (SwiftShader is slow on the wider models). */
  steps: number;
}

const stories = (variant: string, maxRelL2: number, tieGap: number): Case => ({
  golden: `stories260K-${variant}`,
  model: variant === 'F32' ? `${FIXTURES}/models/stories260K.gguf` : `${FIXTURES}/quant/stories260K/pure/stories260K-${variant}.gguf`,
  maxRelL2,
  tieGap,
  steps: 64,
});

/**
 * Measured relL2 from the WASM backend: F32 1.5e-4, F16 3.3e-4, Q8_0 1.2e-2, Q4_0 6.8e-3, Q4_1 1.0e-2, Q5_0 6.0e-3,
 * Q5_1 1.3e-2, random-llama Q4_K_M 1.6e-2. Differing greedy steps (golden top-2 gap): F32, F16, Q5_1 none; Q8_0 one
 * (0.017); Q4_0 one (0.034); Q4_1 one (0.019); Q5_0 one (0.0009); Q4_K_M, first 16 steps: one (0.018).
 */
const CASES: Case[] = [
  stories('F32', 1e-3, 0),
  stories('F16', 1e-3, 0),
  stories('Q8_0', 2e-2, 0.02),
  stories('Q4_0', 2e-2, 0.04),
  stories('Q4_1', 2e-2, 0.02),
  stories('Q5_0', 2e-2, 1e-3),
  stories('Q5_1', 2e-2, 0),
  {
    golden: 'random-llama-256x4-Q4_K_M',
    model: `${FIXTURES}/quant/random-llama-256x4/recipe/random-llama-256x4-Q4_K_M.gguf`,
    maxRelL2: 3e-2,
    tieGap: 0.025,
    steps: 16,
  },
];

let device: GPUDevice;
beforeAll(async () => {
  device = await createTestDevice();
});

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

describe.each(CASES)('$golden', (c) => {
  it('takes llama.cpp\'s greedy steps on the golden prompt; its logits match the WASM backend', { timeout: 60_000 }, async () => {
    const ref = JSON.parse(await readFile(`${FIXTURES}/golden/${c.golden}.ref.json`, 'utf8')) as {
      greedy: { prompt_ids: number[]; tokens: number[]; top_logprobs: [number, number][][] };
    };
    const { prompt_ids: prompt, top_logprobs: top } = ref.greedy;
    const expected = ref.greedy.tokens.slice(0, c.steps);
    const blob = await openAsBlob(c.model);
    const file = await readGguf(blob);
    const gpuModel = await LlamaModel.load(blob, file, await WebGpuBackend.create({ device }), 64);
    const cpuModel = await LlamaModel.load(blob, file, await WasmBackend.create(), 64);

    // Teacher forcing in one pass: the prompt and the golden tokens but the last; row p holds the logits after position p.
    const nVocab = gpuModel.hparams.nVocab;
    const all = await gpuModel.forward([...prompt, ...expected.slice(0, -1)], 0, gpuModel.createCache(512), 'all');
    const stepLogits = (step: number) => all.subarray((prompt.length - 1 + step) * nVocab, (prompt.length + step) * nVocab);

    const cpuLogits = await cpuModel.forward(prompt, 0, cpuModel.createCache(512), 'last');
    let errSq = 0;
    let refSq = 0;
    stepLogits(0).forEach((v, i) => {
      errSq += (v - cpuLogits[i]!) ** 2;
      refSq += cpuLogits[i]! ** 2;
    });
    expect(Math.sqrt(errSq / refSq)).toBeLessThan(c.maxRelL2);

    const mismatches: { step: number; gap: number }[] = [];
    expected.forEach((token, step) => {
      const [first, second] = top[step]!;
      if (argmax(stepLogits(step)) !== token) mismatches.push({ step, gap: second ? first![1] - second[1] : Infinity });
    });
    expect(mismatches.filter((m) => m.gap >= c.tieGap)).toEqual([]);
    expect(uncapturedErrors).toEqual([]);
  });
});
