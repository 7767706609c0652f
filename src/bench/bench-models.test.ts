import { openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WasmBackend } from '../backend/wasm/wasm-backend';
import { metaNumber, readGguf } from '../formats/gguf';
import { loadModel } from '../model/model';
import { tokenizerFromGguf } from '../tokenizer';
import { RANDOM_LLAMA_60M, llamaMetadata, llamaTensors, parameterCount, writeRandomLlama, type LlamaShape } from './bench-models';

describe('the benchmark Llama', () => {
  it('has about 60M parameters in 8 layers of width 512', () => {
    const tensors = llamaTensors(RANDOM_LLAMA_60M);
    expect(tensors).toHaveLength(2 + 8 * 9 + 1);
    expect(parameterCount(RANDOM_LLAMA_60M)).toBe(2 * 512 * 32000 + 8 * (4 * 512 * 512 + 3 * 512 * 1376 + 2 * 512) + 512);
    expect(parameterCount(RANDOM_LLAMA_60M) / 1e6).toBeCloseTo(58.1, 1);
    expect(tensors.find((t) => t.name === 'blk.7.ffn_down.weight')?.shape).toEqual([1376, 512]);
  });

  it('refuses a shape whose vocabulary differs from the borrowed one', () => {
    const vocab = [{ key: 'tokenizer.ggml.tokens', type: 9, value: { itemType: 8, items: ['<unk>', '<s>'] } }];
    expect(() => llamaMetadata(RANDOM_LLAMA_60M, 'x', vocab)).toThrow(/2 tokens, the model shape asks for 32000/);
  });

  it('writes a GGUF that reads back with its shape and vocabulary and that our runtime runs', async () => {
    const small: LlamaShape = { nEmbd: 32, nLayers: 2, nHeads: 4, nFf: 64, nVocab: 32000, nCtx: 64 };
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-models-'));
    try {
      const file = path.join(dir, 'small.gguf');
      await writeRandomLlama(file, small, 'small');
      const blob = await openAsBlob(file);
      const gguf = await readGguf(blob);
      expect(gguf.tensors.map((t) => [t.name, t.shape, t.type.name])).toEqual(llamaTensors(small).map((t) => [t.name, t.shape, 'F32']));
      expect(metaNumber(gguf, 'llama.block_count')).toBe(2);
      expect(metaNumber(gguf, 'llama.rope.dimension_count')).toBe(8);
      expect(tokenizerFromGguf(gguf).encode('Hello world')).toEqual([1, 15043, 3186]);
      const model = await loadModel(blob, await WasmBackend.create());
      const logits = await model.forward([1, 15043, 3186], 0, model.createCache(8), 'last');
      expect(logits).toHaveLength(32000);
      expect(logits.every(Number.isFinite)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
