import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readGguf, GgufValueType, type GgufKV } from '../formats/gguf';
import { ModelError } from './errors';
import { readLlamaHparams } from './hparams';

const kv = (key: string, value: GgufKV['value'], type = GgufValueType.U32): GgufKV => ({ key, type, value });

describe('readLlamaHparams', () => {
  it('reads stories260K with llama.cpp defaults for absent keys', async () => {
    const file = await readGguf(await openAsBlob('../shared/fixtures/models/stories260K.gguf'));
    expect(readLlamaHparams(file, 512)).toEqual({
      architecture: 'llama',
      nVocab: 512,
      nCtxTrain: 2048,
      nEmbd: 64,
      nLayers: 5,
      nFf: 172,
      nHeads: 8,
      nKvHeads: 4,
      headDim: 8,
      ropeDims: 8,
      ropeFreqBase: 10000,
      ropeFreqScale: 1,
      ropeNeox: false,
      rmsEps: Math.fround(1e-5),
      bosToken: 1,
      eosToken: 2,
    });
  });

  const qwen3 = [
    kv('general.architecture', 'qwen3', GgufValueType.STRING),
    kv('qwen3.embedding_length', 1024),
    kv('qwen3.block_count', 28),
    kv('qwen3.feed_forward_length', 3072),
    kv('qwen3.attention.head_count', 16),
    kv('qwen3.attention.head_count_kv', 8),
    kv('qwen3.attention.key_length', 128),
    kv('qwen3.attention.value_length', 128),
    kv('qwen3.rope.freq_base', 1000000, GgufValueType.F32),
  ];

  it('takes head size from key_length and uses NeoX RoPE for Qwen', () => {
    const hp = readLlamaHparams({ kv: qwen3 }, 151936);
    expect(hp).toMatchObject({ headDim: 128, ropeDims: 128, nHeads: 16, nKvHeads: 8, ropeNeox: true, ropeFreqBase: 1000000, rmsEps: 1e-5 });
  });

  it('applies linear RoPE scaling', () => {
    const hp = readLlamaHparams({ kv: [...qwen3, kv('qwen3.rope.scaling.type', 'linear', GgufValueType.STRING), kv('qwen3.rope.scaling.factor', 4, GgufValueType.F32)] }, 10);
    expect(hp.ropeFreqScale).toBe(0.25);
  });

  it('rejects unsupported or inconsistent metadata with ModelError', () => {
    expect(() => readLlamaHparams({ kv: [kv('general.architecture', 'gpt2', GgufValueType.STRING)] }, 10)).toThrow(/"gpt2" is not supported/);
    expect(() => readLlamaHparams({ kv: qwen3.filter((e) => e.key !== 'qwen3.block_count') }, 10)).toThrow(ModelError);
    expect(() => readLlamaHparams({ kv: [...qwen3.slice(0, 5), kv('qwen3.attention.head_count_kv', 5)] }, 10)).toThrow(/multiple of 5 KV heads/);
    expect(() => readLlamaHparams({ kv: [...qwen3, kv('qwen3.rope.scaling.type', 'yarn', GgufValueType.STRING)] }, 10)).toThrow(/yarn/);
  });
});
