import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertedLayout, convertHfToGguf, ConvertError, llama3RopeFreqs, type OutType } from './convert-hf';
import { hfFolderFromLlamaGguf } from './convert-hf-inverse';
import { metaArray, metaNumber, metaString, readGguf, readTensorBytes, type GgufFile } from './gguf';
import { writeSafetensors } from './safetensors';
import { MemorySink } from './sink';
import { bf16ToF32, f32ToBf16, f32ToF16 } from '../quant/fp16';

const FIXTURES = '../shared/fixtures';

async function open(path: string) {
  const blob = await openAsBlob(path);
  return { blob, gguf: await readGguf(blob) };
}

async function convert(files: Map<string, Blob>, outtype: OutType = 'f16', name = 'test') {
  const sink = new MemorySink();
  await convertHfToGguf(files, sink, { outtype, name });
  const blob = new Blob([sink.bytes()]);
  return { blob, gguf: await readGguf(blob) };
}

const keysOf = (gguf: GgufFile, prefix = '') => gguf.kv.map((kv) => kv.key).filter((k) => k.startsWith(prefix));

/** Every tensor of `actual` has the name, shape, type and bytes of the same tensor in `expected`. */
async function expectSameTensors(actual: { blob: Blob; gguf: GgufFile }, expected: { blob: Blob; gguf: GgufFile }) {
  expect(actual.gguf.tensors.map((t) => t.name).sort()).toEqual(expected.gguf.tensors.map((t) => t.name).sort());
  for (const t of actual.gguf.tensors) {
    const e = expected.gguf.tensors.find((x) => x.name === t.name)!;
    expect([t.name, t.shape, t.type.name]).toEqual([e.name, e.shape, e.type.name]);
    expect(Buffer.from(await readTensorBytes(actual.blob, t)).equals(Buffer.from(await readTensorBytes(expected.blob, e))), t.name).toBe(true);
  }
}

const ARCH_KEYS = ['context_length', 'embedding_length', 'feed_forward_length', 'attention.head_count', 'attention.head_count_kv', 'block_count', 'rope.dimension_count', 'attention.layer_norm_rms_epsilon'];

describe('convertHfToGguf on models rebuilt from llama.cpp GGUFs', () => {
  it('stories260K: tensors equal the F32 model and llama-quantize F16 output, metadata as the converter writes it', async () => {
    const source = await open(`${FIXTURES}/models/stories260K.gguf`);
    const files = await hfFolderFromLlamaGguf(source.blob, source.gguf);
    const f32 = await convert(files, 'f32');
    await expectSameTensors(f32, source);
    const f16 = await convert(files, 'f16');
    await expectSameTensors(f16, await open(`${FIXTURES}/quant/stories260K/pure/stories260K-F16.gguf`));

    const g = f16.gguf;
    for (const key of ARCH_KEYS) expect(metaNumber(g, `llama.${key}`), key).toBe(metaNumber(source.gguf, `llama.${key}`));
    // transformers' LlamaConfig always has head_dim, so the converter writes key/value lengths.
    expect(keysOf(g)).toEqual([
      'general.architecture', 'general.type', 'general.name', 'general.size_label',
      'llama.block_count', 'llama.context_length', 'llama.embedding_length', 'llama.feed_forward_length',
      'llama.attention.head_count', 'llama.attention.head_count_kv', 'llama.rope.freq_base', 'llama.attention.layer_norm_rms_epsilon',
      'llama.attention.key_length', 'llama.attention.value_length',
      'general.file_type', 'llama.vocab_size', 'llama.rope.dimension_count', 'general.quantization_version',
      'tokenizer.ggml.model', 'tokenizer.ggml.pre', 'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type',
      'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id',
    ]);
    expect([metaString(g, 'general.name'), metaString(g, 'general.size_label')]).toEqual(['Test', '293K']);
    expect(metaNumber(g, 'llama.attention.key_length')).toBe(8);
    expect(metaNumber(g, 'general.file_type')).toBe(1);
    expect(metaString(g, 'tokenizer.ggml.model')).toBe('llama');
    expect(metaArray(g, 'tokenizer.ggml.tokens')!.items).toEqual(metaArray(source.gguf, 'tokenizer.ggml.tokens')!.items);
    for (const key of ['bos_token_id', 'eos_token_id', 'unknown_token_id']) {
      expect(metaNumber(g, `tokenizer.ggml.${key}`)).toBe(metaNumber(source.gguf, `tokenizer.ggml.${key}`));
    }
    // From tokenizer.json alone the converter (LlamaHfVocab) scores every token -1000 and marks
    // <unk> CONTROL like the other special tokens; the fixture came from a SentencePiece model file.
    expect([...(metaArray(g, 'tokenizer.ggml.scores')!.items as Float32Array)].every((s) => s === -1000)).toBe(true);
    const expectedTypes = [...(metaArray(source.gguf, 'tokenizer.ggml.token_type')!.items as Int32Array)];
    expectedTypes[0] = 3;
    expect([...(metaArray(g, 'tokenizer.ggml.token_type')!.items as Int32Array)]).toEqual(expectedTypes);
    // The layout used to plan quantizations before converting is the header of the converted file.
    const layout = await convertedLayout(files, { outtype: 'f16', name: 'test' });
    expect({ ...layout, kv: layout.kv.map((kv) => kv.key) }).toEqual({ ...g, kv: keysOf(g) });
  });

  it('stories260K with its SentencePiece tokenizer.model: the fixture’s tokens, scores and types', async () => {
    const source = await open(`${FIXTURES}/models/stories260K.gguf`);
    const { gguf } = await convert(await hfFolderFromLlamaGguf(source.blob, source.gguf, { sentencePiece: true }));
    for (const key of ['tokens', 'scores', 'token_type']) {
      expect(metaArray(gguf, `tokenizer.ggml.${key}`)!.items, key).toEqual(metaArray(source.gguf, `tokenizer.ggml.${key}`)!.items);
    }
    expect(keysOf(gguf, 'tokenizer.')).toEqual([
      'tokenizer.ggml.model', 'tokenizer.ggml.pre', 'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type',
      'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id',
    ]);
  });

  it('random-llama-256x4 from two shards to BF16 equals llama-quantize BF16 output', async () => {
    const source = await open(`${FIXTURES}/models/random-llama-256x4-f32.gguf`);
    const files = await hfFolderFromLlamaGguf(source.blob, source.gguf, { shards: 2 });
    expect(files.has('model.safetensors.index.json')).toBe(true);
    const bf16 = await convert(files, 'bf16');
    await expectSameTensors(bf16, await open(`${FIXTURES}/quant/random-llama-256x4/pure/random-llama-256x4-BF16.gguf`));
    expect(metaNumber(bf16.gguf, 'general.file_type')).toBe(32);
  });
});

// Small synthetic models: every source tensor is BF16 filled with distinct values, so conversions can be checked element by element.
const SMALL = { hidden: 16, heads: 4, kvHeads: 2, ff: 24, layers: 2, vocab: 8 };
type SmallArch = 'LlamaForCausalLM' | 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM';
const MODEL_TYPE: Record<SmallArch, string> = { LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3' };
const json = (v: unknown) => new Blob([JSON.stringify(v)]);

function smallTokenizer() {
  const vocab = Object.fromEntries(['a', 'b', 'c', 'd', 'ab', 'cd', 'abcd'].map((t, i) => [t, i]));
  return {
    model: { type: 'BPE', vocab, merges: [['a', 'b'], ['c', 'd'], ['ab', 'cd']] },
    added_tokens: [{ id: 7, content: '<|endoftext|>', special: true }],
    pre_tokenizer: { type: 'ByteLevel', use_regex: true },
  };
}

function bf16Data(elements: number, seed: number): Uint8Array {
  const out = new Uint16Array(elements);
  for (let i = 0; i < elements; i++) out[i] = f32ToBf16(Math.sin(seed * 1000 + i) * 3);
  return new Uint8Array(out.buffer);
}

async function safetensorsBlob(tensors: { name: string; dtype: string; shape: number[]; data: Uint8Array }[]): Promise<Blob> {
  const sink = new MemorySink();
  await writeSafetensors(sink, tensors);
  return new Blob([sink.bytes()]);
}

async function smallModel(arch: SmallArch, overrides: Record<string, unknown> = {}, drop: string[] = []) {
  const { hidden, heads, kvHeads, ff, layers, vocab } = SMALL;
  const headDim = arch === 'Qwen3ForCausalLM' ? 8 : hidden / heads;
  const q = heads * headDim;
  const kv = kvHeads * headDim;
  const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [vocab, hidden], 'model.norm.weight': [hidden], 'lm_head.weight': [vocab, hidden] };
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(shapes, {
      [`${p}.input_layernorm.weight`]: [hidden], [`${p}.post_attention_layernorm.weight`]: [hidden],
      [`${p}.self_attn.q_proj.weight`]: [q, hidden], [`${p}.self_attn.k_proj.weight`]: [kv, hidden],
      [`${p}.self_attn.v_proj.weight`]: [kv, hidden], [`${p}.self_attn.o_proj.weight`]: [hidden, q],
      [`${p}.mlp.gate_proj.weight`]: [ff, hidden], [`${p}.mlp.up_proj.weight`]: [ff, hidden], [`${p}.mlp.down_proj.weight`]: [hidden, ff],
    });
    if (arch === 'Qwen2ForCausalLM') Object.assign(shapes, { [`${p}.self_attn.q_proj.bias`]: [q], [`${p}.self_attn.k_proj.bias`]: [kv], [`${p}.self_attn.v_proj.bias`]: [kv] });
    if (arch === 'Qwen3ForCausalLM') Object.assign(shapes, { [`${p}.self_attn.q_norm.weight`]: [headDim], [`${p}.self_attn.k_norm.weight`]: [headDim] });
  }
  const tensors = Object.entries(shapes).filter(([name]) => !drop.includes(name))
    .map(([name, shape], i) => ({ name, dtype: 'BF16', shape, data: bf16Data(shape.reduce((a, b) => a * b, 1), i) }));
  const config = {
    architectures: [arch], model_type: MODEL_TYPE[arch], hidden_size: hidden, intermediate_size: ff, num_hidden_layers: layers,
    num_attention_heads: heads, num_key_value_heads: kvHeads, vocab_size: vocab, max_position_embeddings: 128, rope_theta: 1000000,
    rms_norm_eps: 1e-6, tie_word_embeddings: arch !== 'LlamaForCausalLM', ...(arch === 'Qwen3ForCausalLM' ? { head_dim: headDim } : {}), ...overrides,
  };
  const files = new Map<string, Blob>([
    ['config.json', json(config)],
    ['tokenizer.json', json(smallTokenizer())],
    ['tokenizer_config.json', json({ eos_token: '<|endoftext|>', bos_token: null, chat_template: '{{ messages }}' })],
    ['model.safetensors', await safetensorsBlob(tensors)],
  ]);
  return { files, tensors };
}

/** The source BF16 tensor converted as the converter does: 2-D to F16 via f32, 1-D kept F32. */
function expectedBytes(data: Uint8Array, dims: number): Uint8Array {
  const halves = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  if (dims === 1) return new Uint8Array(Float32Array.from(halves, bf16ToF32).buffer);
  return new Uint8Array(Uint16Array.from(halves, (h) => f32ToF16(bf16ToF32(h))).buffer);
}

describe('convertHfToGguf on synthetic Qwen models', () => {
  it('Qwen2: biases kept F32, no Q/K permutation, lm_head kept although tied (the converter writes what the checkpoint has)', async () => {
    const { files, tensors } = await smallModel('Qwen2ForCausalLM');
    const { blob, gguf } = await convert(files);
    expect(metaString(gguf, 'general.architecture')).toBe('qwen2');
    expect(gguf.tensors.map((t) => t.name)).toContain('output.weight');
    expect(gguf.tensors.map((t) => t.name)).toContain('blk.1.attn_k.bias');
    const byHf: Record<string, string> = { 'model.layers.0.self_attn.q_proj.weight': 'blk.0.attn_q.weight', 'model.layers.0.self_attn.k_proj.bias': 'blk.0.attn_k.bias', 'model.embed_tokens.weight': 'token_embd.weight' };
    for (const [hf, name] of Object.entries(byHf)) {
      const source = tensors.find((t) => t.name === hf)!;
      const t = gguf.tensors.find((x) => x.name === name)!;
      expect(t.type.name).toBe(source.shape.length === 1 ? 'F32' : 'F16');
      expect(Buffer.from(await readTensorBytes(blob, t)).equals(Buffer.from(expectedBytes(source.data, source.shape.length))), name).toBe(true);
    }
    // transformers' Qwen2Config has no head_dim: no key/value lengths.
    expect(keysOf(gguf, 'qwen2.')).toEqual([
      'qwen2.block_count', 'qwen2.context_length', 'qwen2.embedding_length', 'qwen2.feed_forward_length',
      'qwen2.attention.head_count', 'qwen2.attention.head_count_kv', 'qwen2.rope.freq_base', 'qwen2.attention.layer_norm_rms_epsilon',
    ]);
    expect(metaString(gguf, 'tokenizer.ggml.pre')).toBe('gpt-2');
    expect(metaArray(gguf, 'tokenizer.ggml.merges')!.items).toEqual(['a b', 'c d', 'ab cd']);
    expect(metaArray(gguf, 'tokenizer.ggml.token_type')!.items).toEqual(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 3]));
    expect(metaNumber(gguf, 'tokenizer.ggml.eos_token_id')).toBe(7);
    expect(metaString(gguf, 'tokenizer.chat_template')).toBe('{{ messages }}');
  });

  it('a tied model without lm_head has no output.weight', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM', {}, ['lm_head.weight']);
    const { gguf } = await convert(files);
    expect(gguf.tensors.some((t) => t.name === 'output.weight')).toBe(false);
  });

  it('Qwen3: q/k norms, head_dim written as key/value length, YaRN rope scaling keys before freq_base', async () => {
    const yarn = { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32, beta_fast: 32, attn_factor: 0.5 } };
    const { files } = await smallModel('Qwen3ForCausalLM', yarn);
    const { gguf } = await convert(files);
    const norm = gguf.tensors.find((t) => t.name === 'blk.1.attn_k_norm.weight')!;
    expect([norm.shape, norm.type.name]).toEqual([[8], 'F32']);
    expect(gguf.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.shape).toEqual([16, 32]);
    expect(keysOf(gguf, 'qwen3.')).toEqual([
      'qwen3.block_count', 'qwen3.context_length', 'qwen3.embedding_length', 'qwen3.feed_forward_length',
      'qwen3.attention.head_count', 'qwen3.attention.head_count_kv',
      'qwen3.rope.scaling.type', 'qwen3.rope.scaling.factor', 'qwen3.rope.scaling.original_context_length',
      'qwen3.rope.scaling.yarn_attn_factor', 'qwen3.rope.scaling.yarn_beta_fast',
      'qwen3.rope.freq_base', 'qwen3.attention.layer_norm_rms_epsilon', 'qwen3.attention.key_length', 'qwen3.attention.value_length',
    ]);
    expect(metaString(gguf, 'qwen3.rope.scaling.type')).toBe('yarn');
    expect(metaNumber(gguf, 'qwen3.rope.scaling.factor')).toBe(4);
    expect(metaNumber(gguf, 'qwen3.rope.scaling.original_context_length')).toBe(32);
    expect(metaNumber(gguf, 'qwen3.rope.scaling.yarn_attn_factor')).toBe(0.5);
  });
});

describe('convertHfToGguf on synthetic Llama models', () => {
  it('fills what config.json leaves out with transformers’ LlamaConfig defaults, as the converter reads it', async () => {
    const { files } = await smallModel('LlamaForCausalLM', { max_position_embeddings: undefined, rope_theta: undefined, rms_norm_eps: undefined });
    const { gguf } = await convert(files);
    expect(metaNumber(gguf, 'llama.context_length')).toBe(2048);
    expect(metaNumber(gguf, 'llama.rope.freq_base')).toBe(10000);
    expect(metaNumber(gguf, 'llama.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-6));
    expect(metaNumber(gguf, 'llama.attention.key_length')).toBe(4);
    // Without a model_type transformers knows, the converter reads config.json as written.
    const raw = await smallModel('LlamaForCausalLM', { model_type: undefined, max_position_embeddings: undefined, rope_theta: undefined });
    const rawKeys = keysOf((await convert(raw.files)).gguf, 'llama.');
    for (const key of ['llama.context_length', 'llama.rope.freq_base', 'llama.attention.key_length']) expect(rawKeys).not.toContain(key);
  });

  it('Llama 3 rope scaling: a rope_freqs.weight F32 tensor first, no scaling keys', async () => {
    const rope = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const { files } = await smallModel('LlamaForCausalLM', { rope_scaling: rope, rope_theta: 500000 });
    const { blob, gguf } = await convert(files);
    const freqs = gguf.tensors[0]!;
    expect([freqs.name, freqs.shape, freqs.type.name]).toEqual(['rope_freqs.weight', [2], 'F32']);
    const expected = llama3RopeFreqs({ base: 500000, dim: 4, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 });
    expect(new Float32Array((await readTensorBytes(blob, freqs)).slice().buffer)).toEqual(expected);
    expect(keysOf(gguf).filter((k) => k.includes('scaling'))).toEqual([]);
  });

  it('linear rope scaling: type and factor before freq_base', async () => {
    const { files } = await smallModel('LlamaForCausalLM', { rope_scaling: { type: 'linear', factor: 2 } });
    const keys = keysOf((await convert(files)).gguf, 'llama.');
    expect(keys.slice(keys.indexOf('llama.attention.head_count_kv') + 1, keys.indexOf('llama.rope.freq_base') + 1))
      .toEqual(['llama.rope.scaling.type', 'llama.rope.scaling.factor', 'llama.rope.freq_base']);
  });

  it('refuses rope scalings the converter would write without their factors', async () => {
    for (const [arch, scaling, message] of [
      ['LlamaForCausalLM', { rope_type: 'longrope', factor: 2, long_factor: [1], short_factor: [1] }, /"longrope" is not supported for llama/],
      ['Qwen2ForCausalLM', { rope_type: 'llama3', factor: 8 }, /"llama3" is not supported for qwen2/],
    ] as const) {
      const { files } = await smallModel(arch, { rope_scaling: scaling });
      await expect(convert(files)).rejects.toThrow(message);
    }
  });
});

describe('llama3RopeFreqs', () => {
  it('Llama 3.1 8B: 1 for short wavelengths, 8 for long ones, the float32 blend between', () => {
    const p = { base: 500000, dim: 128, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 };
    const ours = llama3RopeFreqs(p);
    expect(ours.length).toBe(64);
    // The same formula in float64: the converter's float32 steps land within a float32 ulp or two of it.
    for (let i = 0; i < 64; i++) {
      const wavelen = 2 * Math.PI * p.base ** ((2 * i) / p.dim);
      const smooth = (p.originalContext / wavelen - p.lowFreqFactor) / (p.highFreqFactor - p.lowFreqFactor);
      const exact = wavelen < p.originalContext / p.highFreqFactor ? 1 : wavelen > p.originalContext / p.lowFreqFactor ? p.factor : 1 / ((1 - smooth) / p.factor + smooth);
      expect(Math.abs(ours[i]! - exact), `factor ${i}`).toBeLessThanOrEqual(exact * 2 ** -22);
    }
    expect([...ours].filter((v) => v === 1).length + [...ours].filter((v) => v === 8).length).toBe(58);
    expect([...ours].every((v, i) => i === 0 || v >= ours[i - 1]!)).toBe(true);
  });
});

describe('model folder files', () => {
  it('chat_template.jinja and generation_config.json reach the GGUF', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM');
    files.set('tokenizer_config.json', json({ eos_token: '<|endoftext|>' }));
    files.set('chat_template.jinja', new Blob(['{% for m in messages %}{{ m.content }}{% endfor %}']));
    files.set('generation_config.json', json({ top_k: 20, temperature: 0.7 }));
    const { gguf } = await convert(files, 'f16', 'Qwen2.5-0.5B-Instruct');
    expect(metaString(gguf, 'tokenizer.chat_template')).toBe('{% for m in messages %}{{ m.content }}{% endfor %}');
    expect(keysOf(gguf, 'general.')).toEqual([
      'general.architecture', 'general.type', 'general.sampling.top_k', 'general.sampling.temp', 'general.name', 'general.finetune',
      'general.basename', 'general.size_label', 'general.file_type', 'general.quantization_version',
    ]);
    // "0.5B" is far from this tiny model's 4176 parameters: the converter takes it for a context length.
    expect(['name', 'finetune', 'size_label'].map((k) => metaString(gguf, `general.${k}`))).toEqual(['Qwen2.5 0.5B Instruct', '0.5b-Instruct', '4.2K']);
    // A broken generation_config.json is ignored, as the converter does.
    files.set('generation_config.json', new Blob(['{ not json']));
    expect(keysOf((await convert(files)).gguf, 'general.sampling')).toEqual([]);
  });

  it('reads model*.safetensors (not other safetensors files) when there is no index', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM');
    files.set('consolidated.safetensors', await safetensorsBlob([{ name: 'not.a.tensor', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]));
    expect((await convert(files)).gguf.tensors.length).toBeGreaterThan(0);
  });
});

describe('convertHfToGguf errors', () => {
  const failure = async (files: Map<string, Blob>, name = 'x') => {
    const e = await convertHfToGguf(files, new MemorySink(), { name }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConvertError);
    return (e as ConvertError).message;
  };

  it('names an unsupported architecture', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM', { architectures: ['GPTNeoXForCausalLM'] });
    expect(await failure(files)).toMatch(/GPTNeoXForCausalLM is not supported/);
  });
  it('names the tokenizer.json field it does not understand', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM');
    files.set('tokenizer.json', json({ model: { type: 'Unigram', vocab: [] } }));
    expect(await failure(files)).toMatch(/tokenizer\.json model\.type: "Unigram" is not supported/);
  });
  it('lists missing tensors', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM', {}, ['model.layers.1.mlp.up_proj.weight']);
    expect(await failure(files)).toMatch(/missing 1 tensor: blk\.1\.ffn_up\.weight/);
  });
  it('reports a shape that does not match config.json', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM', { intermediate_size: 20 });
    expect(await failure(files)).toMatch(/mlp\.(down|gate|up)_proj\.weight: shape \[\d+, \d+\] does not match config\.json/);
  });
  it('needs config.json', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM');
    files.delete('config.json');
    expect(await failure(files)).toMatch(/config\.json: missing/);
  });
  it('checks the index against the shards', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM');
    files.set('model.safetensors.index.json', json({ weight_map: { 'model.norm.weight': 'model.safetensors', 'model.extra.weight': 'model.safetensors' } }));
    expect(await failure(files)).toMatch(/index\.json: does not match the shards: missing model\.extra\.weight; not in the index lm_head\.weight, /);
  });
  it('refuses quantized checkpoints', async () => {
    const { files } = await smallModel('Qwen2ForCausalLM', { quantization_config: { quant_method: 'gptq', bits: 4 } });
    expect(await failure(files)).toMatch(/quantization_config: a quantized checkpoint \(gptq\)/);
  });
  it('refuses a Mistral tekken.json tokenizer without tokenizer.json, and Qwen3 rerankers', async () => {
    const mistral = await smallModel('LlamaForCausalLM');
    mistral.files.delete('tokenizer.json');
    mistral.files.set('tekken.json', json({}));
    expect(await failure(mistral.files)).toMatch(/tekken\.json: .*mistral-common/);
    const reranker = await smallModel('Qwen3ForCausalLM');
    expect(await failure(reranker.files, 'Qwen3-Reranker-0.6B')).toMatch(/a Qwen3 reranker/);
  });
});

describe('convert command', () => {
  it('writes the GGUF atomically, reads the folder’s additional chat templates, and leaves nothing behind on failure', async () => {
    const { mkdtemp, mkdir, writeFile, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { parseArgs } = await import('../cli/args');
    const { convertCommand } = await import('../cli/convert');
    const dir = await mkdtemp(`${tmpdir()}/convert-hf-`);
    try {
      const { files } = await smallModel('Qwen3ForCausalLM');
      files.set('tokenizer_config.json', json({ eos_token: '<|endoftext|>' }));
      files.set('chat_template.jinja', new Blob(['main']));
      await Promise.all([...files].map(async ([name, blob]) => writeFile(`${dir}/${name}`, new Uint8Array(await blob.arrayBuffer()))));
      await mkdir(`${dir}/additional_chat_templates`);
      await writeFile(`${dir}/additional_chat_templates/tool_use.jinja`, 'tools');
      const out: string[] = [];
      const run = (argv: string[]) => convertCommand(parseArgs(argv, ['json']), (s) => out.push(s), () => undefined);
      expect(await run([dir, `${dir}/out.gguf`, '--outtype', 'bf16', '--json'])).toBe(0);
      expect(JSON.parse(out[0]!)).toMatchObject({ output: `${dir}/out.gguf`, outtype: 'bf16' });
      const { gguf } = await open(`${dir}/out.gguf`);
      expect(gguf.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')!.type.name).toBe('BF16');
      expect(metaString(gguf, 'general.name')).toMatch(/^Convert Hf /);
      expect([metaString(gguf, 'tokenizer.chat_template'), metaString(gguf, 'tokenizer.chat_template.tool_use')]).toEqual(['main', 'tools']);

      await writeFile(`${dir}/config.json`, JSON.stringify({ architectures: ['BertModel'] }));
      await expect(run([dir, `${dir}/bad.gguf`])).rejects.toThrow(/BertModel is not supported/);
      expect((await readdir(dir)).filter((f) => f.startsWith('bad'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
