// The inverse of convert-hf for tests: rebuilds a Hugging Face folder (config.json, tokenizer.json,
// tokenizer_config.json, safetensors) from a GGUF that llama.cpp's converter made, so that
// converting it back must reproduce the GGUF. Q/K rows are un-permuted, names mapped back.

import { metaArray, metaNumber, metaString, readTensorBytes, type GgufFile, type GgufTensorInfo } from './gguf';
import { writeSafetensors } from './safetensors';
import { MemorySink } from './sink';
import { TokenType } from './hf-tokenizer';
import { writeSentencePieceModel } from './sentencepiece-model';

const GLOBAL_NAMES: Record<string, string> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};
const LAYER_NAMES: Record<string, string> = {
  attn_norm: 'input_layernorm', attn_q: 'self_attn.q_proj', attn_k: 'self_attn.k_proj', attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj', attn_q_norm: 'self_attn.q_norm', attn_k_norm: 'self_attn.k_norm',
  ffn_norm: 'post_attention_layernorm', ffn_gate: 'mlp.gate_proj', ffn_up: 'mlp.up_proj', ffn_down: 'mlp.down_proj',
};

/** GGUF tensor name → Hugging Face name. */
export function hfTensorName(name: string): string {
  const global = GLOBAL_NAMES[name];
  if (global) return global;
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  const part = m && LAYER_NAMES[m[2]!];
  if (!part) throw new Error(`no Hugging Face name for GGUF tensor ${name}`);
  return `model.layers.${m[1]}.${part}.${m[3]}`;
}

/** Undoes Llama's Q/K permutation: HF row (head, half, i) = GGUF row (head, i, half). */
export function unpermuteRows(data: Uint8Array, rows: number, rowBytes: number, heads: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const half = rows / heads / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (h * 2 * half + i * 2 + j) * rowBytes;
        const to = (h * 2 * half + j * half + i) * rowBytes;
        out.set(data.subarray(from, from + rowBytes), to);
      }
    }
  }
  return out;
}

function required(gguf: GgufFile, key: string): number {
  const value = metaNumber(gguf, key);
  if (value === undefined) throw new Error(`the GGUF has no ${key}`);
  return value;
}

/** config.json of a Llama GGUF. */
export function llamaConfig(gguf: GgufFile): Record<string, unknown> {
  const tokenEmbd = gguf.tensors.find((t) => t.name === 'token_embd.weight');
  if (!tokenEmbd) throw new Error('the GGUF has no token_embd.weight');
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: required(gguf, 'llama.embedding_length'),
    intermediate_size: required(gguf, 'llama.feed_forward_length'),
    num_hidden_layers: required(gguf, 'llama.block_count'),
    num_attention_heads: required(gguf, 'llama.attention.head_count'),
    num_key_value_heads: required(gguf, 'llama.attention.head_count_kv'),
    vocab_size: tokenEmbd.shape[1],
    max_position_embeddings: required(gguf, 'llama.context_length'),
    // An f32 in the GGUF: 7 significant digits give back the decimal that was written (1e-5).
    rms_norm_eps: Number(required(gguf, 'llama.attention.layer_norm_rms_epsilon').toPrecision(7)),
    rope_theta: metaNumber(gguf, 'llama.rope.freq_base') ?? 10000,
    hidden_act: 'silu',
    tie_word_embeddings: !gguf.tensors.some((t) => t.name === 'output.weight'),
    bos_token_id: metaNumber(gguf, 'tokenizer.ggml.bos_token_id'),
    eos_token_id: metaNumber(gguf, 'tokenizer.ggml.eos_token_id'),
    torch_dtype: 'float32',
  };
}

/**
 * tokenizer.json + tokenizer_config.json for a GGUF vocabulary: normal and byte tokens form the BPE
 * vocabulary, control and user-defined tokens become added tokens; `llama` vocabularies get
 * byte_fallback and Llama 2's normalizer and decoder (as transformers exports Llama 2), `gpt2`
 * ones keep their merges and get a byte-level decoder.
 */
export function hfTokenizerFiles(gguf: GgufFile, preTokenizer: unknown = null): { tokenizer: unknown; tokenizerConfig: Record<string, unknown> } {
  const tokens = metaArray(gguf, 'tokenizer.ggml.tokens')!.items as string[];
  const types = metaArray(gguf, 'tokenizer.ggml.token_type')!.items as Int32Array;
  const merges = metaArray(gguf, 'tokenizer.ggml.merges')?.items as string[] | undefined;
  const isLlama = metaString(gguf, 'tokenizer.ggml.model') === 'llama';
  const vocab: Record<string, number> = {};
  const added: { id: number; content: string; special: boolean }[] = [];
  tokens.forEach((text, id) => {
    const type = types[id];
    if (type === TokenType.UNUSED) return;
    // SentencePiece keeps its special tokens in the base vocabulary too.
    if (isLlama || type === TokenType.NORMAL || type === TokenType.BYTE) vocab[text] = id;
    if (type === TokenType.CONTROL || type === TokenType.USER_DEFINED || type === TokenType.UNKNOWN) {
      added.push({ id, content: text, special: type !== TokenType.USER_DEFINED });
    }
  });
  const llamaNormalizer = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
  const llamaDecoder = {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  };
  const tokenizer = {
    version: '1.0',
    added_tokens: added.map((t) => ({ ...t, single_word: false, lstrip: false, rstrip: false, normalized: false })),
    normalizer: isLlama ? llamaNormalizer : null,
    pre_tokenizer: preTokenizer,
    decoder: isLlama ? llamaDecoder : { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', byte_fallback: isLlama, vocab, merges: merges ?? [] },
  };
  const tokenizerConfig: Record<string, unknown> = {};
  const name = (key: string) => {
    const id = metaNumber(gguf, `tokenizer.ggml.${key}`);
    return id === undefined ? null : tokens[id];
  };
  tokenizerConfig.bos_token = name('bos_token_id');
  tokenizerConfig.eos_token = name('eos_token_id');
  tokenizerConfig.unk_token = name('unknown_token_id');
  const template = metaString(gguf, 'tokenizer.chat_template');
  if (template !== undefined) tokenizerConfig.chat_template = template;
  return { tokenizer, tokenizerConfig };
}

/** The F32 tensors of a Llama GGUF as Hugging Face tensors (un-permuted), for writeSafetensors. */
export function hfTensors(blob: Blob, gguf: GgufFile, tensors: GgufTensorInfo[] = gguf.tensors) {
  const heads = required(gguf, 'llama.attention.head_count');
  const kvHeads = required(gguf, 'llama.attention.head_count_kv');
  return tensors.map((t) => ({
    name: hfTensorName(t.name),
    dtype: 'F32',
    shape: [...t.shape].reverse(),
    data: async () => {
      if (t.type.name !== 'F32') throw new Error(`expected F32 tensors, ${t.name} is ${t.type.name}`);
      const bytes = await readTensorBytes(blob, t);
      const rows = t.shape[1] ?? 1;
      const rowBytes = t.shape[0]! * 4;
      if (t.name.endsWith('attn_q.weight')) return unpermuteRows(bytes, rows, rowBytes, heads);
      if (t.name.endsWith('attn_k.weight')) return unpermuteRows(bytes, rows, rowBytes, kvHeads);
      return bytes;
    },
  }));
}

/** A SentencePiece tokenizer.model holding a `llama` GGUF vocabulary's tokens, scores and types. */
export function sentencePieceModelOf(gguf: GgufFile): Uint8Array<ArrayBuffer> {
  const tokens = metaArray(gguf, 'tokenizer.ggml.tokens')!.items as string[];
  const scores = metaArray(gguf, 'tokenizer.ggml.scores')!.items as Float32Array;
  const types = metaArray(gguf, 'tokenizer.ggml.token_type')!.items as Int32Array;
  return writeSentencePieceModel(tokens.map((piece, i) => ({ piece, score: scores[i]!, type: types[i]! })));
}

/**
 * A whole Hugging Face folder (file name → Blob) for a Llama GGUF with F32 tensors: `shards` > 1
 * splits the weights; `sentencePiece` adds the vocabulary as a tokenizer.model too.
 */
export async function hfFolderFromLlamaGguf(blob: Blob, gguf: GgufFile, options: { shards?: number; sentencePiece?: boolean } = {}): Promise<Map<string, Blob>> {
  const shards = options.shards ?? 1;
  const json = (v: unknown) => new Blob([JSON.stringify(v, null, 2)]);
  const { tokenizer, tokenizerConfig } = hfTokenizerFiles(gguf);
  const files = new Map<string, Blob>([
    ['config.json', json(llamaConfig(gguf))],
    ['tokenizer.json', json(tokenizer)],
    ['tokenizer_config.json', json(tokenizerConfig)],
  ]);
  if (options.sentencePiece) files.set('tokenizer.model', new Blob([sentencePieceModelOf(gguf)]));
  const perShard = Math.ceil(gguf.tensors.length / shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const part = shards === 1 ? 'model.safetensors' : `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const tensors = hfTensors(blob, gguf, gguf.tensors.slice(s * perShard, (s + 1) * perShard));
    const sink = new MemorySink();
    await writeSafetensors(sink, tensors, { format: 'pt' });
    files.set(part, new Blob([sink.bytes()]));
    for (const t of tensors) weightMap[t.name] = part;
  }
  if (shards > 1) files.set('model.safetensors.index.json', json({ metadata: {}, weight_map: weightMap }));
  return files;
}
