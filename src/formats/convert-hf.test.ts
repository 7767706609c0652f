import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertedLayout, convertHfToGguf, ConvertError, type OutType } from './convert-hf';
import { hfFolderFromLlamaGguf, hfTokenizerFiles } from './convert-hf-inverse';
import { detectPreTokenizer, hfTokenizerKv } from './hf-tokenizer';
import { metaArray, metaNumber, metaString, metaValue, readGguf, readTensorBytes, type GgufFile } from './gguf';
import { writeSafetensors } from './safetensors';
import { MemorySink } from './sink';
import { bf16ToF32, f32ToBf16, f32ToF16 } from '../quant/fp16';

const FIXTURES = '../shared/fixtures';

async function open(path: string) {
  const blob = await openAsBlob(path);
  return { blob, gguf: await readGguf(blob) };
}

async function convert(files: Map<string, Blob>, outtype: OutType = 'f16') {
  const sink = new MemorySink();
  await convertHfToGguf(files, sink, { outtype, name: 'test' });
  const blob = new Blob([sink.bytes()]);
  return { blob, gguf: await readGguf(blob) };
}

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
    expect(g.kv.map((kv) => kv.key)).toEqual([
      'general.architecture', 'general.type', 'general.name',
      'llama.block_count', 'llama.context_length', 'llama.embedding_length', 'llama.feed_forward_length',
      'llama.attention.head_count', 'llama.attention.head_count_kv', 'llama.rope.freq_base', 'llama.attention.layer_norm_rms_epsilon',
      'general.file_type', 'llama.vocab_size', 'llama.rope.dimension_count', 'general.quantization_version',
      'tokenizer.ggml.model', 'tokenizer.ggml.pre', 'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type',
      'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id',
    ]);
    expect(metaNumber(g, 'general.file_type')).toBe(1);
    expect(metaString(g, 'tokenizer.ggml.model')).toBe('llama');
    expect(metaArray(g, 'tokenizer.ggml.tokens')!.items).toEqual(metaArray(source.gguf, 'tokenizer.ggml.tokens')!.items);
    for (const key of ['bos_token_id', 'eos_token_id', 'unknown_token_id']) {
      expect(metaNumber(g, `tokenizer.ggml.${key}`)).toBe(metaNumber(source.gguf, `tokenizer.ggml.${key}`));
    }
    // From tokenizer.json alone the converter (LlamaHfVocab) scores every token -1000 and marks
    // <unk> CONTROL like the other special tokens; the fixture came from a SentencePiece model file.
    expect([...(metaArray(g, 'tokenizer.ggml.scores')!.items as Float32Array)].every((s) => s === -1000)).toBe(true);
    // The layout used to plan quantizations before converting is the header of the converted file.
    const layout = await convertedLayout(files, { outtype: 'f16', name: 'test' });
    expect({ ...layout, kv: layout.kv.map((kv) => kv.key) }).toEqual({ ...g, kv: g.kv.map((kv) => kv.key) });
    const expectedTypes = [...(metaArray(source.gguf, 'tokenizer.ggml.token_type')!.items as Int32Array)];
    expectedTypes[0] = 3;
    expect([...(metaArray(g, 'tokenizer.ggml.token_type')!.items as Int32Array)]).toEqual(expectedTypes);
  });

  it('random-llama-256x4 from two shards to BF16 equals llama-quantize BF16 output', async () => {
    const source = await open(`${FIXTURES}/models/random-llama-256x4-f32.gguf`);
    const files = await hfFolderFromLlamaGguf(source.blob, source.gguf, 2);
    expect(files.has('model.safetensors.index.json')).toBe(true);
    const bf16 = await convert(files, 'bf16');
    await expectSameTensors(bf16, await open(`${FIXTURES}/quant/random-llama-256x4/pure/random-llama-256x4-BF16.gguf`));
    expect(metaNumber(bf16.gguf, 'general.file_type')).toBe(32);
  });
});

describe('tokenizer metadata from tokenizer.json', () => {
  const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const splitThenBytes = (regex: string) => ({
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  });

  it.each([
    ['llama-bpe', LLAMA3_REGEX, { bos_token_id: 128000, eos_token_id: 128001 }],
    ['qwen2', QWEN2_REGEX, { bos_token_id: 151643 }],
  ])('%s: tokens, types, merges, special ids and template equal the converter’s vocab GGUF', async (family, regex, configIds) => {
    const { gguf } = await open(`${FIXTURES}/tokenizer/ggml-vocab-${family}.gguf`);
    const { tokenizer, tokenizerConfig } = hfTokenizerFiles(gguf, splitThenBytes(regex));
    if (family === 'qwen2') Object.assign(tokenizerConfig, { bos_token: null, pad_token: '<|endoftext|>' });
    const config = { vocab_size: metaArray(gguf, 'tokenizer.ggml.tokens')!.items.length, ...configIds };
    const kv = hfTokenizerKv({ tokenizerJson: tokenizer, tokenizerConfig, config });
    const expected = gguf.kv.filter((e) => e.key.startsWith('tokenizer.'));
    expect(kv.map((e) => e.key)).toEqual(expected.map((e) => e.key));
    for (const e of expected) expect(metaValue({ kv }, e.key), e.key).toEqual(e.value);
  });

  it('detects the pre-tokenizer from its configuration', () => {
    expect(detectPreTokenizer(splitThenBytes(LLAMA3_REGEX))).toBe('llama-bpe');
    expect(detectPreTokenizer(splitThenBytes(QWEN2_REGEX))).toBe('qwen2');
    expect(detectPreTokenizer({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, use_regex: true }] })).toBe('smollm');
    expect(detectPreTokenizer({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true })).toBe('gpt-2');
    expect(detectPreTokenizer({ type: 'Metaspace', replacement: '▁' })).toBe('default');
    expect(detectPreTokenizer(null)).toBe('default');
  });
});

// A small synthetic model: every source tensor is BF16 filled with distinct values, so conversions can be checked element by element.
const SMALL = { hidden: 16, heads: 4, kvHeads: 2, ff: 24, layers: 2, vocab: 8 };

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

async function smallQwen(arch: 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM', overrides: Record<string, unknown> = {}, drop: string[] = []) {
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
    else Object.assign(shapes, { [`${p}.self_attn.q_norm.weight`]: [headDim], [`${p}.self_attn.k_norm.weight`]: [headDim] });
  }
  const tensors = Object.entries(shapes).filter(([name]) => !drop.includes(name))
    .map(([name, shape], i) => ({ name, dtype: 'BF16', shape, data: bf16Data(shape.reduce((a, b) => a * b, 1), i) }));
  const sink = new MemorySink();
  await writeSafetensors(sink, tensors);
  const config = {
    architectures: [arch], hidden_size: hidden, intermediate_size: ff, num_hidden_layers: layers, num_attention_heads: heads,
    num_key_value_heads: kvHeads, vocab_size: vocab, max_position_embeddings: 128, rope_theta: 1000000, rms_norm_eps: 1e-6,
    tie_word_embeddings: true, ...(arch === 'Qwen3ForCausalLM' ? { head_dim: headDim } : {}), ...overrides,
  };
  const json = (v: unknown) => new Blob([JSON.stringify(v)]);
  const files = new Map<string, Blob>([
    ['config.json', json(config)],
    ['tokenizer.json', json(smallTokenizer())],
    ['tokenizer_config.json', json({ eos_token: '<|endoftext|>', bos_token: null, chat_template: '{{ messages }}' })],
    ['model.safetensors', new Blob([sink.bytes()])],
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
  it('Qwen2: biases kept F32, no Q/K permutation, tied embeddings drop lm_head', async () => {
    const { files, tensors } = await smallQwen('Qwen2ForCausalLM');
    const { blob, gguf } = await convert(files);
    expect(metaString(gguf, 'general.architecture')).toBe('qwen2');
    expect(gguf.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    expect(gguf.tensors.map((t) => t.name)).toContain('blk.1.attn_k.bias');
    const byHf: Record<string, string> = { 'model.layers.0.self_attn.q_proj.weight': 'blk.0.attn_q.weight', 'model.layers.0.self_attn.k_proj.bias': 'blk.0.attn_k.bias', 'model.embed_tokens.weight': 'token_embd.weight' };
    for (const [hf, name] of Object.entries(byHf)) {
      const source = tensors.find((t) => t.name === hf)!;
      const t = gguf.tensors.find((x) => x.name === name)!;
      expect(t.type.name).toBe(source.shape.length === 1 ? 'F32' : 'F16');
      expect(Buffer.from(await readTensorBytes(blob, t)).equals(Buffer.from(expectedBytes(source.data, source.shape.length))), name).toBe(true);
    }
    expect(gguf.kv.filter((kv) => kv.key.startsWith('qwen2.')).map((kv) => kv.key)).toEqual([
      'qwen2.block_count', 'qwen2.context_length', 'qwen2.embedding_length', 'qwen2.feed_forward_length',
      'qwen2.attention.head_count', 'qwen2.attention.head_count_kv', 'qwen2.rope.freq_base', 'qwen2.attention.layer_norm_rms_epsilon',
    ]);
    expect(metaString(gguf, 'tokenizer.ggml.pre')).toBe('gpt-2');
    expect(metaArray(gguf, 'tokenizer.ggml.merges')!.items).toEqual(['a b', 'c d', 'ab cd']);
    expect(metaArray(gguf, 'tokenizer.ggml.token_type')!.items).toEqual(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 3]));
    expect(metaNumber(gguf, 'tokenizer.ggml.eos_token_id')).toBe(7);
    expect(metaString(gguf, 'tokenizer.chat_template')).toBe('{{ messages }}');
  });

  it('Qwen3: q/k norms, head_dim written as key/value length, YaRN rope scaling', async () => {
    const yarn = { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32 } };
    const { files } = await smallQwen('Qwen3ForCausalLM', yarn);
    const { gguf } = await convert(files);
    const norm = gguf.tensors.find((t) => t.name === 'blk.1.attn_k_norm.weight')!;
    expect([norm.shape, norm.type.name]).toEqual([[8], 'F32']);
    expect(gguf.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.shape).toEqual([16, 32]);
    expect(metaNumber(gguf, 'qwen3.attention.key_length')).toBe(8);
    expect(metaNumber(gguf, 'qwen3.attention.value_length')).toBe(8);
    expect(metaString(gguf, 'qwen3.rope.scaling.type')).toBe('yarn');
    expect(metaNumber(gguf, 'qwen3.rope.scaling.factor')).toBe(4);
    expect(metaNumber(gguf, 'qwen3.rope.scaling.original_context_length')).toBe(32);
  });
});

describe('convertHfToGguf errors', () => {
  const failure = async (files: Map<string, Blob>) => {
    const e = await convertHfToGguf(files, new MemorySink(), { name: 'x' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConvertError);
    return (e as ConvertError).message;
  };
  const json = (v: unknown) => new Blob([JSON.stringify(v)]);

  it('names an unsupported architecture', async () => {
    const { files } = await smallQwen('Qwen2ForCausalLM', { architectures: ['GPTNeoXForCausalLM'] });
    expect(await failure(files)).toMatch(/GPTNeoXForCausalLM is not supported/);
  });
  it('names the tokenizer.json field it does not understand', async () => {
    const { files } = await smallQwen('Qwen2ForCausalLM');
    files.set('tokenizer.json', json({ model: { type: 'Unigram', vocab: [] } }));
    expect(await failure(files)).toMatch(/tokenizer\.json model\.type: "Unigram" is not supported/);
  });
  it('lists missing tensors', async () => {
    const { files } = await smallQwen('Qwen2ForCausalLM', {}, ['model.layers.1.mlp.up_proj.weight']);
    expect(await failure(files)).toMatch(/missing 1 tensor: blk\.1\.ffn_up\.weight/);
  });
  it('reports a shape that does not match config.json', async () => {
    const { files } = await smallQwen('Qwen2ForCausalLM', { intermediate_size: 20 });
    expect(await failure(files)).toMatch(/mlp\.(down|gate|up)_proj\.weight: shape \[\d+, \d+\] does not match config\.json/);
  });
  it('needs config.json', async () => {
    const { files } = await smallQwen('Qwen2ForCausalLM');
    files.delete('config.json');
    expect(await failure(files)).toMatch(/config\.json: missing/);
  });
});

describe('convert command', () => {
  it('writes the GGUF atomically and leaves nothing behind on failure', async () => {
    const { mkdtemp, writeFile, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { parseArgs } = await import('../cli/args');
    const { convertCommand } = await import('../cli/convert');
    const dir = await mkdtemp(`${tmpdir()}/convert-hf-`);
    try {
      const { files } = await smallQwen('Qwen3ForCausalLM');
      await Promise.all([...files].map(async ([name, blob]) => writeFile(`${dir}/${name}`, new Uint8Array(await blob.arrayBuffer()))));
      const out: string[] = [];
      const run = (argv: string[]) => convertCommand(parseArgs(argv, ['json']), (s) => out.push(s), () => undefined);
      expect(await run([dir, `${dir}/out.gguf`, '--outtype', 'bf16', '--json'])).toBe(0);
      expect(JSON.parse(out[0]!)).toMatchObject({ output: `${dir}/out.gguf`, outtype: 'bf16' });
      const { gguf } = await open(`${dir}/out.gguf`);
      expect(gguf.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')!.type.name).toBe('BF16');
      expect(metaString(gguf, 'general.name')).toMatch(/^convert-hf-/);

      await writeFile(`${dir}/config.json`, JSON.stringify({ architectures: ['BertModel'] }));
      await expect(run([dir, `${dir}/bad.gguf`])).rejects.toThrow(/BertModel is not supported/);
      expect((await readdir(dir)).filter((f) => f.startsWith('bad'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
