import { describe, expect, it } from 'vitest';
import { openModels, layerOf, type NamedBlob } from './model';
import { writeSafetensors, type SafetensorsTensorToWrite } from './safetensors';
import { MemorySink } from './sink';
import { fixtureBlob, fixtureBytes } from './test-files';

async function named(relative: string): Promise<NamedBlob> {
  return { name: relative.split('/').pop()!, blob: await fixtureBlob(relative) };
}

async function safetensorsBlob(tensors: SafetensorsTensorToWrite[]): Promise<Blob> {
  const sink = new MemorySink();
  await writeSafetensors(sink, tensors);
  return new Blob([sink.bytes()]);
}

const json = (name: string, value: unknown): NamedBlob => ({ name, blob: new Blob([JSON.stringify(value)]) });
const zeros = (name: string, dtype: string, shape: number[], size: number): SafetensorsTensorToWrite => ({
  name, dtype, shape, data: new Uint8Array(shape.reduce((a, b) => a * b, 1) * size),
});

describe('openModels', () => {
  it('summarizes stories260K', async () => {
    const { models, errors } = await openModels([await named('models/stories260K.gguf')]);
    expect(errors).toEqual([]);
    const [m] = models;
    expect(m!.format).toBe('gguf');
    expect(m!.tensors).toHaveLength(48);
    expect(m!.summary).toMatchObject({
      architecture: 'llama', layers: 5, heads: 8, kvHeads: 4, embeddingSize: 64, contextLength: 2048, vocabSize: 512,
      rope: { dimensions: 8, freqBase: null, scaling: null }, hasChatTemplate: false, fileSize: 1185376, quantizedLayout: null,
    });
    // 2 x 64x512 (embedding, output) + 64 + 5 layers x (4 x 64x64 attention... q 64x64, k/v 64x32, o 64x64, 3 FFN 64x172, 2 norms)
    const perLayer = 64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 172 + 2 * 64;
    expect(m!.summary.parameterCount).toBe(2 * 64 * 512 + 64 + 5 * perLayer);
    expect(m!.summary.bitsPerWeight).toBe(32);
    expect(m!.summary.quantMix).toEqual([{ type: 'F32', tensors: 48, bytes: m!.summary.parameterCount * 4, elements: m!.summary.parameterCount }]);
    expect(m!.summary.bytesByLayer.map((l) => l.layer)).toEqual(['embeddings', '0', '1', '2', '3', '4', 'output']);
    const tokens = m!.metadata.find((e) => e.key === 'tokenizer.ggml.tokens')!;
    expect(tokens).toMatchObject({ type: 'array<string>', arrayLength: 512, value: null });
    expect(tokens.preview!.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(m!.metadata.find((e) => e.key === 'tokenizer.ggml.seperator_token_id')).toMatchObject({ type: 'u32', value: 4294967295 });
  });

  it('reports the quantization mix of a Q4_K_M file', async () => {
    const { models } = await openModels([await named('quant/random-llama-256x4/recipe/random-llama-256x4-Q4_K_M.gguf')]);
    const mix = Object.fromEntries(models[0]!.summary.quantMix.map((e) => [e.type, e.tensors]));
    expect(mix).toEqual({ Q4_K: 25, Q6_K: 5, F32: 9 });
    expect(models[0]!.summary.bitsPerWeight).toBeGreaterThan(4.5);
    expect(models[0]!.summary.bitsPerWeight).toBeLessThan(6);
  });

  it('computes tensor statistics and pages through metadata arrays', async () => {
    const { handles } = await openModels([await named('models/stories260K.gguf')]);
    const stats = await handles[0]!.tensorStats('output_norm.weight');
    const values = new Float32Array(fixtureBytes('models/stories260K.gguf').slice(145248, 145248 + 256).buffer);
    expect(stats.count).toBe(64);
    expect(stats.min).toBe(Math.min(...values));
    expect(stats.max).toBe(Math.max(...values));
    expect(await handles[0]!.metadataArray('tokenizer.ggml.tokens', 510, 10)).toHaveLength(2);
  });

  it('keeps loading good files when one is bad', async () => {
    const truncated = { name: 'broken.gguf', blob: (await fixtureBlob('models/stories260K.gguf')).slice(0, 3000) };
    const { models, errors } = await openModels([truncated, await named('models/llama-2-tiny-random.gguf'), { name: 'notes.txt', blob: new Blob(['x']) }]);
    expect(models.map((m) => m.name)).toEqual(['llama-2-tiny-random.gguf']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ file: 'broken.gguf', field: expect.stringContaining('tokenizer.ggml.tokens') });
    expect(errors[0]!.message).toMatch(/truncated/);
    expect(errors[1]!.file).toBe('notes.txt');
  });

  it('groups safetensors shards with their index and config', async () => {
    const config = { architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 4, max_position_embeddings: 2048, vocab_size: 512, rope_theta: 10000 };
    const shard1 = await safetensorsBlob([zeros('model.embed_tokens.weight', 'BF16', [512, 64], 2), zeros('model.layers.0.self_attn.q_proj.weight', 'BF16', [64, 64], 2)]);
    const shard2 = await safetensorsBlob([zeros('model.layers.1.self_attn.q_proj.weight', 'BF16', [64, 64], 2), zeros('model.norm.weight', 'F32', [64], 4)]);
    const index = { metadata: { total_size: 0 }, weight_map: { 'model.embed_tokens.weight': 'model-00001-of-00002.safetensors', 'model.norm.weight': 'model-00002-of-00002.safetensors' } };
    const { models, errors } = await openModels([
      { name: 'model-00002-of-00002.safetensors', blob: shard2, path: 'tiny/model-00002-of-00002.safetensors' },
      { name: 'model-00001-of-00002.safetensors', blob: shard1, path: 'tiny/model-00001-of-00002.safetensors' },
      { ...json('config.json', config), path: 'tiny/config.json' },
      { ...json('model.safetensors.index.json', index), path: 'tiny/model.safetensors.index.json' },
      { ...json('tokenizer_config.json', { chat_template: '{{ messages }}' }), path: 'tiny/tokenizer_config.json' },
    ]);
    expect(errors).toEqual([]);
    expect(models).toHaveLength(1);
    const m = models[0]!;
    expect(m.format).toBe('safetensors');
    expect(m.tensors.map((t) => t.name)).toEqual(['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.1.self_attn.q_proj.weight', 'model.norm.weight']);
    expect(m.summary).toMatchObject({ architecture: 'LlamaForCausalLM', layers: 2, heads: 8, kvHeads: 4, embeddingSize: 64, vocabSize: 512, hasChatTemplate: true, parameterCount: 512 * 64 + 2 * 64 * 64 + 64 });
    expect(m.summary.rope).toEqual({ dimensions: 8, freqBase: 10000, scaling: null });
  });

  it('names missing shards', async () => {
    const shard = await safetensorsBlob([zeros('a', 'F32', [1], 4)]);
    const index = { weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
    const { errors } = await openModels([{ name: 'model-00001-of-00002.safetensors', blob: shard }, json('model.safetensors.index.json', index)]);
    expect(errors[0]!.message).toMatch(/model-00002-of-00002\.safetensors/);
  });

  it('groups a chat template and a SentencePiece model with the safetensors files', async () => {
    const blob = await safetensorsBlob([zeros('a', 'F32', [1], 4)]);
    const { models, errors, handles } = await openModels([
      { name: 'model.safetensors', blob },
      { name: 'chat_template.jinja', blob: new Blob(['{{ messages[0].content }}']) },
      { name: 'tokenizer.model', blob: new Blob([new Uint8Array([10, 2, 8, 1])]) },
    ]);
    expect(errors).toEqual([]);
    expect(models[0]!.summary.hasChatTemplate).toBe(true);
    expect(handles[0]!.blobs.map((b) => b.name).sort()).toEqual(['chat_template.jinja', 'model.safetensors', 'tokenizer.model']);
  });

  it('recognizes GPTQ, AWQ, MLX and bitsandbytes layouts', async () => {
    const open = async (tensors: SafetensorsTensorToWrite[], config: unknown = {}) =>
      (await openModels([{ name: 'model.safetensors', blob: await safetensorsBlob(tensors) }, json('config.json', config)])).models[0]!.summary;
    const p = 'model.layers.0.mlp.down_proj';
    const gptq = await open([zeros(`${p}.qweight`, 'I32', [32, 256], 4), zeros(`${p}.qzeros`, 'I32', [2, 32], 4), zeros(`${p}.scales`, 'F16', [2, 256], 2), zeros(`${p}.g_idx`, 'I32', [256], 4)]);
    expect(gptq.quantizedLayout).toEqual({ scheme: 'GPTQ', bits: 4, groupSize: 128 });
    expect(gptq.parameterCount).toBe(256 * 256);
    const awq = await open([zeros(`${p}.qweight`, 'I32', [256, 32], 4), zeros(`${p}.qzeros`, 'I32', [4, 32], 4), zeros(`${p}.scales`, 'F16', [4, 256], 2)], { quantization_config: { quant_method: 'awq', bits: 4, group_size: 64 } });
    expect(awq.quantizedLayout).toEqual({ scheme: 'AWQ', bits: 4, groupSize: 64 });
    const mlx = await open([zeros(`${p}.weight`, 'U32', [256, 32], 4), zeros(`${p}.scales`, 'F16', [256, 4], 2), zeros(`${p}.biases`, 'F16', [256, 4], 2)], { quantization: { group_size: 64, bits: 4 } });
    expect(mlx.quantizedLayout).toEqual({ scheme: 'MLX', bits: 4, groupSize: 64 });
    expect(mlx.parameterCount).toBe(256 * 256);
    const bnb = await open([zeros(`${p}.weight`, 'U8', [32768, 1], 1), zeros(`${p}.weight.absmax`, 'F32', [1024], 4), zeros(`${p}.weight.quant_map`, 'F32', [16], 4), zeros(`${p}.weight.quant_state.bitsandbytes__nf4`, 'U8', [100], 1)]);
    expect(bnb.quantizedLayout).toEqual({ scheme: 'bitsandbytes-4bit', bits: 4, groupSize: 64 });
    expect(bnb.parameterCount).toBe(65536);
    const bnb8 = await open([zeros(`${p}.weight`, 'I8', [256, 256], 1), zeros(`${p}.SCB`, 'F32', [256], 4)]);
    expect(bnb8.quantizedLayout).toEqual({ scheme: 'bitsandbytes-8bit', bits: 8, groupSize: null });
    expect((await open([zeros('x.weight', 'F32', [4], 4)])).quantizedLayout).toBeNull();
  });

  it('finds layer numbers in both naming schemes', () => {
    expect(layerOf('blk.12.attn_q.weight')).toBe(12);
    expect(layerOf('model.layers.3.mlp.up_proj.weight')).toBe(3);
    expect(layerOf('transformer.h.7.attn.c_attn.weight')).toBe(7);
    expect(layerOf('token_embd.weight')).toBeNull();
  });
});

describe('safetensors metadata arrays', () => {
  it('pages through long config.json arrays', async () => {
    const blob = await safetensorsBlob([zeros('w', 'F32', [1], 4)]);
    const layerTypes = Array.from({ length: 100 }, (_, i) => (i % 4 === 3 ? 'full_attention' : 'sliding_attention'));
    const { handles } = await openModels([{ name: 'model.safetensors', blob }, json('config.json', { layer_types: layerTypes })]);
    const entry = handles[0]!.view.metadata.find((m) => m.key === 'config.json: layer_types')!;
    expect(entry.arrayLength).toBe(100);
    expect(entry.preview).toHaveLength(64);
    expect(await handles[0]!.metadataArray(entry.key, 96, 10)).toEqual(['sliding_attention', 'sliding_attention', 'sliding_attention', 'full_attention']);
  });
});
