// Generation loop, KV cache bookkeeping and scoring on the real stories260K model.

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../backend/wasm/wasm-backend';
import { loadModel, type CausalLM } from '../model/model';
import { EngineError } from './errors';
import { logProbOf, perplexity, tokenLogProbs } from './evaluate';
import { generateAll, type GenerateOptions } from './generate';
import { KvCache } from './kv-cache';

let model: CausalLM;
let story: number[];
beforeAll(async () => {
  model = await loadModel(await openAsBlob('../shared/fixtures/models/stories260K.gguf'), await WasmBackend.create(), { maxBatch: 32 });
  story = ((await readFile('../shared/fixtures/golden/stories260K-F32.tokens.txt', 'utf8')).match(/\d+/g) ?? []).map(Number);
});

describe('generate', () => {
  it('tells the TinyStories story from BOS', async () => {
    const { tokens } = await generateAll(model, [1], { maxTokens: 12, temperature: 0 });
    expect(tokens.map((t) => t.position)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(tokens.every((t) => t.logProb <= 0)).toBe(true);
    // Same as feeding the whole sequence at once.
    const ids = [1, ...tokens.map((t) => t.token)];
    const lp = await tokenLogProbs(model, ids);
    tokens.forEach((t, i) => expect(t.logProb).toBeCloseTo(lp[i]!, 3));
  });

  it('stops at a stop token (yielding it) or at maxTokens', async () => {
    const ids = async (options: GenerateOptions) => (await generateAll(model, [1], options)).tokens.map((t) => t.token);
    const free = await ids({ maxTokens: 6, temperature: 0 });
    expect(await ids({ maxTokens: 6, temperature: 0, stopTokens: [free[2]!] })).toEqual(free.slice(0, 3));
    expect(await ids({ maxTokens: 0 })).toEqual([]);
  });

  it('reuses a cache it is given, from its start', async () => {
    const cache = new KvCache(model, 32);
    const first = await generateAll(model, [1], { maxTokens: 10, temperature: 0, cache });
    const again = await generateAll(model, [1], { maxTokens: 10, temperature: 0, cache });
    expect(again.tokens).toEqual(first.tokens);
    expect(cache.length).toBe(10);
  });

  it('samples reproducibly with a seed and returns statistics', async () => {
    const run = () => generateAll(model, [1], { maxTokens: 8, temperature: 1, seed: 5 });
    const a = await run();
    expect((await run()).tokens).toEqual(a.tokens);
    expect(a.stats).toMatchObject({ promptTokens: 1, generatedTokens: 8 });
  });

  it('stops when the context is full and rejects bad input', async () => {
    // Positions 3 and 4 take two generated tokens; a third is sampled from the last logits.
    expect((await generateAll(model, [1, 2, 3], { maxTokens: 10, temperature: 0, stopTokens: [], nCtx: 5 })).tokens).toHaveLength(3);
    await expect(generateAll(model, [], { maxTokens: 1 })).rejects.toThrow(EngineError);
    await expect(generateAll(model, [1, 2], { maxTokens: 1, nCtx: 2 })).rejects.toThrow(/does not fit/);
    await expect(generateAll(model, [1, 9999], { maxTokens: 1 })).rejects.toThrow(/outside the vocabulary/);
  });
});

describe('KvCache', () => {
  it('tracks used positions', () => {
    const cache = new KvCache(model, 8);
    cache.advance(5);
    expect([cache.length, cache.free]).toEqual([5, 3]);
    cache.truncate(2);
    expect(cache.length).toBe(2);
    expect(() => cache.advance(7)).toThrow(/context full/);
    expect(() => cache.truncate(3)).toThrow(EngineError);
    cache.clear();
    expect(cache.length).toBe(0);
  });
});

describe('evaluation', () => {
  it('gives the same logits however a sequence is cut into batches, and nearly the same one token at a time', async () => {
    const ids = story.slice(0, 40);
    const nVocab = model.hparams.nVocab;
    const all = await model.forward(ids, 0, model.createCache(40), 'all'); // 2 batches of 32, 8
    const cache = model.createCache(40);
    await model.forward(ids.slice(0, 30), 0, cache, 'last');
    expect(Array.from(await model.forward(ids.slice(30, 35), 30, cache, 'all'))).toEqual(Array.from(all.subarray(30 * nVocab, 35 * nVocab)));
    // Like llama.cpp, a single token sums attention in another order than a batch does (and fused
    // multiply-adds, with relaxed SIMD, round those sums differently again).
    for (let i = 35; i < 40; i++) {
      const step = await model.forward([ids[i]!], i, cache, 'last');
      const expected = all.subarray(i * nVocab, (i + 1) * nVocab);
      step.forEach((v, j) => expect(Math.abs(v - expected[j]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(expected[j]!))));
    }
  });

  it('perplexity averages the second half of each chunk like llama-perplexity', async () => {
    const nCtx = 64;
    const chunks: number[] = [];
    const result = await perplexity(model, story.slice(0, 200), { nCtx, bosToken: 1, onChunk: (c) => chunks.push(c) });
    expect(result).toMatchObject({ chunks: 3, scored: 3 * 31 });
    expect(chunks).toEqual([0, 1, 2]);
    // The same number from per-token log-probabilities of each chunk.
    let nll = 0;
    for (let c = 0; c < 3; c++) {
      const chunk = [1, ...story.slice(c * nCtx + 1, (c + 1) * nCtx)];
      const lp = await tokenLogProbs(model, chunk);
      for (let pos = nCtx / 2; pos < nCtx - 1; pos++) nll -= lp[pos]!;
    }
    expect(result.perplexity).toBeCloseTo(Math.exp(nll / result.scored), 6);
    await expect(perplexity(model, story.slice(0, 10), { nCtx })).rejects.toThrow(EngineError);
  });

  it('logProbOf is a stable log-softmax', () => {
    expect(logProbOf(new Float32Array([1000, 1000]), 0)).toBeCloseTo(Math.log(0.5), 12);
  });
});
