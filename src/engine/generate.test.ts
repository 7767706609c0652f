// Generation reading back only the sampling candidates: on WebGPU (Dawn on SwiftShader, top-k on the GPU) it draws
// the same tokens as on WASM (the row read back, selected on the host), and on WASM its log-probabilities are those of
// the whole row.

import { openAsBlob } from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { WasmBackend } from '../backend/wasm/wasm-backend';
import { createTestDevice, uncapturedErrors } from '../backend/webgpu/test-gpu';
import { WebGpuBackend } from '../backend/webgpu/webgpu-backend';
import { loadModel, type CausalLM } from '../model/model';
import { logProbOf } from './evaluate';
import { generateAll, type GenerateOptions } from './generate';
import { Sampler } from './sampling';

const MODEL = '../shared/fixtures/models/stories260K.gguf';
const OPTIONS: GenerateOptions = { maxTokens: 16, temperature: 0.8, topK: 40, seed: 7, repeatPenalty: 1.1 };
const PROMPT = [1, 400, 30];

let wasm: CausalLM;
beforeAll(async () => {
  wasm = await loadModel(await openAsBlob(MODEL), await WasmBackend.create());
});

describe('generate on candidates', () => {
  it('draws on WebGPU, with top-k on the GPU, the tokens it draws on WASM', { timeout: 60_000 }, async () => {
    const backend = await WebGpuBackend.create({ device: await createTestDevice() });
    const gpu = await loadModel(await openAsBlob(MODEL), backend);
    const topK = vi.spyOn(backend, 'topK');
    const read = vi.spyOn(backend, 'read');
    const onGpu = (await generateAll(gpu, PROMPT, OPTIONS)).tokens;
    // One selection per token, and no row read back.
    expect(topK).toHaveBeenCalledTimes(16);
    expect(read.mock.calls.every(([buffer]) => buffer.length < gpu.hparams.nVocab)).toBe(true);
    topK.mockRestore();
    read.mockRestore();
    const onWasm = (await generateAll(wasm, PROMPT, OPTIONS)).tokens;
    expect(onGpu.map((t) => t.token)).toEqual(onWasm.map((t) => t.token));
    // Against the GPU's own rows: the normalizer summed in f32 on the GPU, in f64 on the host.
    const sequence = [...PROMPT, ...onGpu.map((t) => t.token)];
    for (const [i, t] of onGpu.entries()) {
      const row = await gpu.forward(sequence.slice(0, PROMPT.length + i), 0, gpu.createCache(64), 'last');
      expect(Math.abs(t.logProb - logProbOf(row, t.token))).toBeLessThan(1e-5);
    }
    expect(uncapturedErrors).toEqual([]);
  });

  it.each<GenerateOptions>([
    OPTIONS,
    { maxTokens: 12, temperature: 0, repeatPenalty: 1.3 },
    { maxTokens: 12, temperature: 1, topK: 0, topP: 0.9, seed: 3, repeatPenalty: 1.2 },
    { maxTokens: 12, temperature: 1.2, topK: 5, minP: 0, seed: 11 },
  ])('on WASM yields the tokens of sampling whole rows, and their log-probabilities (%o)', async (options) => {
    const { tokens } = await generateAll(wasm, PROMPT, options);
    const wholeRows = await sampleWholeRows(wasm, PROMPT, options);
    expect(tokens.map((t) => t.token)).toEqual(wholeRows.map(([token]) => token));
    // The backend's normalizer sums f32 SIMD exponentials (Backend.topK); the host's, Math.exp in f64.
    for (const [i, t] of tokens.entries()) expect(Math.abs(t.logProb - wholeRows[i]![1])).toBeLessThan(1e-6);
  });
});

/** The generation loop on whole rows of logits: each step reads the row back and samples all of it. */
async function sampleWholeRows(model: CausalLM, prompt: number[], options: GenerateOptions): Promise<[number, number][]> {
  const sampler = new Sampler(options);
  const cache = model.createCache(prompt.length + options.maxTokens);
  const history = [...prompt];
  let logits = await model.forward(prompt, 0, cache, 'last');
  const out: [number, number][] = [];
  while (out.length < options.maxTokens) {
    const token = sampler.sample(logits, history);
    out.push([token, logProbOf(logits, token)]);
    history.push(token);
    logits = await model.forward([token], history.length - 1, cache, 'last');
  }
  return out;
}
