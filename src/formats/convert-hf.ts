// Hugging Face safetensors checkpoint → GGUF, as llama.cpp's convert_hf_to_gguf.py writes it for
// Llama, Mistral, Qwen2 and Qwen3: the same metadata keys in the same order, the same tensor names,
// order and types, Llama's Q/K row permutation and Llama 3's rope_freqs tensor. Tensors are
// streamed one at a time: each is sliced from its Blob, converted and handed to the GGUF writer
// before the next is read.

import { alignUp, GGUF_DEFAULT_ALIGNMENT, GgufValueType, type GgufFile, type GgufKV, type GgufTensorInfo } from './gguf';
import { writeGguf, type GgufTensorToWrite, type GgufToWrite } from './gguf-writer';
import { readSafetensors, type SafetensorsTensorInfo } from './safetensors';
import type { ByteSink } from './sink';
import { ConvertError } from './convert-hf-errors';
import { generalMetadataKv } from './convert-hf-metadata';
import { hfTokenizerKv, type ChatTemplateChoice } from './hf-tokenizer';
import { ggmlTypeByName, tensorBytes, type GgmlTypeTraits } from '../quant/types';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../quant/fp16';

export { ConvertError } from './convert-hf-errors';

export type OutType = 'f16' | 'bf16' | 'f32';

/** general.file_type values (llama_ftype) of the three output types. */
const FILE_TYPE: Record<OutType, number> = { f32: 0, f16: 1, bf16: 32 };

type Arch = 'llama' | 'qwen2' | 'qwen3';
type Json = Record<string, unknown>;

/** The converter's model classes: HF architecture → GGUF architecture and its particulars. */
const ARCHITECTURES: Record<string, { arch: Arch; permuteQK: boolean }> = {
  LlamaForCausalLM: { arch: 'llama', permuteQK: true },
  MistralForCausalLM: { arch: 'llama', permuteQK: true },
  Qwen2ForCausalLM: { arch: 'qwen2', permuteQK: false },
  Qwen3ForCausalLM: { arch: 'qwen3', permuteQK: false },
};

/**
 * The converter reads config.json through transformers' AutoConfig (4.x), so every attribute
 * of the model_type's config class is there, defaulted when config.json leaves it out. These are
 * the defaults of the attributes the conversion reads. (num_key_value_heads left null becomes
 * num_attention_heads; Llama's head_dim left null becomes hidden_size / num_attention_heads.)
 */
const CONFIG_DEFAULTS: Record<string, Json> = {
  llama: {
    vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: null, max_position_embeddings: 2048, rms_norm_eps: 1e-6, tie_word_embeddings: false,
    rope_theta: 10000, rope_scaling: null, head_dim: null,
  },
  mistral: {
    vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 8, head_dim: null, max_position_embeddings: 4096 * 32, rms_norm_eps: 1e-6, tie_word_embeddings: false,
    rope_theta: 10000,
  },
  qwen2: {
    vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 32, max_position_embeddings: 32768, rms_norm_eps: 1e-6, tie_word_embeddings: false,
    rope_theta: 10000, rope_scaling: null,
  },
  qwen3: {
    vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 32, head_dim: 128, max_position_embeddings: 32768, rms_norm_eps: 1e-6, tie_word_embeddings: false,
    rope_theta: 10000, rope_scaling: null,
  },
};

/** config.json as AutoConfig gives it; a model_type transformers would not load means config.json as written, as the converter falls back to. */
function withConfigDefaults(config: Json): Json {
  const defaults = typeof config.model_type === 'string' ? CONFIG_DEFAULTS[config.model_type] : undefined;
  if (!defaults) return config;
  const hp: Json = { ...defaults, ...config };
  hp.num_key_value_heads ??= hp.num_attention_heads;
  if (config.model_type === 'llama' && hp.head_dim === null && typeof hp.hidden_size === 'number' && typeof hp.num_attention_heads === 'number') {
    hp.head_dim = Math.floor(hp.hidden_size / hp.num_attention_heads);
  }
  return hp;
}

export interface ConvertProgress {
  tensorsDone: number;
  tensorsTotal: number;
  /** Source (safetensors) bytes converted so far and in all. */
  bytesDone: number;
  bytesTotal: number;
  elapsedMs: number;
  currentTensor: string;
}

export interface ConvertOptions {
  outtype?: OutType;
  /** The model folder's name, from which the converter derives general.name and the other naming keys. */
  name: string;
  onProgress?: (p: ConvertProgress) => void;
  signal?: AbortSignal;
}

/**
 * A model folder's files by file name (config.json, tokenizer.json, *.safetensors, ...);
 * files of its additional_chat_templates folder as "additional_chat_templates/NAME.jinja".
 */
export type HfFiles = ReadonlyMap<string, Blob>;

async function readJson(files: HfFiles, name: string, required: true): Promise<Json>;
async function readJson(files: HfFiles, name: string, required: false): Promise<Json | undefined>;
async function readJson(files: HfFiles, name: string, required: boolean): Promise<Json | undefined> {
  const blob = files.get(name);
  if (!blob) {
    if (required) throw new ConvertError(name, 'missing from the model folder');
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(await blob.text());
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Json;
  } catch (e) {
    throw new ConvertError(name, `cannot be read as JSON (${(e as Error).message})`);
  }
}

function positiveInt(hp: Json, key: string): number {
  const v = hp[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConvertError(`config.json ${key}`, `must be a positive integer, found ${JSON.stringify(v)}`);
  return v;
}

const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
const f32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.F32, value });
const str = (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value });

/** The value of the first of `keys` that the config has (null included), as the converter's find_hparam. */
function firstPresent(hp: Json, keys: readonly string[]): unknown {
  const key = keys.find((k) => k in hp);
  return key === undefined ? undefined : hp[key];
}

function configU32(name: string, value: unknown, key: string): GgufKV {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ConvertError(`config.json ${name}`, `must be a non-negative integer, found ${JSON.stringify(value)}`);
  return u32(key, value);
}

function configF32(name: string, value: unknown, key: string): GgufKV {
  if (typeof value !== 'number') throw new ConvertError(`config.json ${name}`, `must be a number, found ${JSON.stringify(value)}`);
  return f32(key, value);
}

interface Hparams {
  arch: Arch;
  permuteQK: boolean;
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nVocab: number;
  tied: boolean;
}

function readHparams(config: Json, hp: Json): Hparams {
  const names = config.architectures;
  const hfArch = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : undefined;
  if (!hfArch) throw new ConvertError('config.json architectures', 'missing: cannot tell which model this is');
  const known = ARCHITECTURES[hfArch];
  if (!known) throw new ConvertError('config.json architectures', `${hfArch} is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  const nHead = positiveInt(hp, 'num_attention_heads');
  const nEmbd = positiveInt(hp, 'hidden_size');
  const headDim = hp.head_dim === undefined || hp.head_dim === null ? nEmbd / nHead : positiveInt(hp, 'head_dim');
  if (!Number.isInteger(headDim)) throw new ConvertError('config.json hidden_size', `${nEmbd} is not a multiple of num_attention_heads ${nHead}`);
  return {
    ...known,
    nEmbd,
    nFf: positiveInt(hp, 'intermediate_size'),
    nLayer: positiveInt(hp, 'num_hidden_layers'),
    nHead,
    nHeadKv: hp.num_key_value_heads === undefined || hp.num_key_value_heads === null ? nHead : positiveInt(hp, 'num_key_value_heads'),
    headDim,
    nVocab: positiveInt(hp, 'vocab_size'),
    tied: hp.tie_word_embeddings === true,
  };
}

/** The converter's rope parameters: rope_scaling, with rope_theta and rope_type (from the legacy "type") mirrored in. */
function ropeParameters(hp: Json): Json {
  const source = 'rope_parameters' in hp ? hp.rope_parameters : hp.rope_scaling;
  const rope: Json = typeof source === 'object' && source !== null ? { ...(source as Json) } : {};
  const theta = firstPresent(hp, ['global_rope_theta', 'rope_global_theta', 'rope_theta_global', 'rope_theta', 'rotary_emb_base']);
  if (!('rope_theta' in rope) && theta !== undefined && theta !== null) rope.rope_theta = theta;
  if (!('rope_type' in rope) && rope.type !== undefined && rope.type !== null) rope.rope_type = rope.type;
  return rope;
}

function ropeType(rope: Json): string | undefined {
  return typeof rope.rope_type === 'string' ? rope.rope_type : undefined;
}

/**
 * The rope scaling keys TextModel.set_gguf_parameters writes: linear and YaRN scaling as keys,
 * Llama 3 scaling (Llama only) as the rope_freqs tensor instead, "dynamic" and "default" as
 * nothing. Other types (longrope, llama3 for Qwen, ...) are refused: the converter would write
 * a model without their factors.
 */
function ropeScalingKv(rope: Json, arch: Arch): GgufKV[] {
  const type = ropeType(rope);
  if (rope.rope_type !== undefined && rope.rope_type !== null && type === undefined) {
    throw new ConvertError('config.json rope_scaling.rope_type', `must be a string, found ${JSON.stringify(rope.rope_type)}`);
  }
  if (type === undefined || type === 'dynamic' || type === 'default') return [];
  const factor = rope.factor;
  if ((type === 'linear' || type === 'yarn') && (factor === undefined || factor === null)) return [];
  const key = (name: string) => `${arch}.rope.scaling.${name}`;
  if (type === 'linear') return [str(key('type'), 'linear'), configF32('rope_scaling.factor', factor, key('factor'))];
  if (type === 'yarn') {
    if (!('original_max_position_embeddings' in rope)) throw new ConvertError('config.json rope_scaling.original_max_position_embeddings', 'YaRN scaling needs it');
    const kv = [
      str(key('type'), 'yarn'),
      configF32('rope_scaling.factor', factor, key('factor')),
      configU32('rope_scaling.original_max_position_embeddings', rope.original_max_position_embeddings, key('original_context_length')),
    ];
    const optional: [string, unknown, string][] = [
      ['extrapolation_factor', rope.extrapolation_factor, 'yarn_ext_factor'],
      ['attention_factor', rope.attention_factor ?? rope.attn_factor, 'yarn_attn_factor'],
      ['beta_fast', rope.beta_fast, 'yarn_beta_fast'],
      ['beta_slow', rope.beta_slow, 'yarn_beta_slow'],
    ];
    for (const [name, value, gguf] of optional) if (value !== undefined && value !== null) kv.push(configF32(`rope_scaling.${name}`, value, key(gguf)));
    return kv;
  }
  if (type.toLowerCase() === 'llama3' && arch === 'llama') return [];
  throw new ConvertError('config.json rope_scaling', `type ${JSON.stringify(type)} is not supported for ${arch}`);
}

/** The architecture keys TextModel/LlamaModel.set_gguf_parameters write, in their order. */
function architectureKv(hp: Json, h: Hparams, rope: Json, outtype: OutType): GgufKV[] {
  const a = h.arch;
  const kv: GgufKV[] = [u32(`${a}.block_count`, h.nLayer)];
  const nCtx = firstPresent(hp, ['max_position_embeddings', 'n_ctx', 'n_positions', 'max_length', 'max_sequence_length', 'model_max_length']);
  if (nCtx !== undefined && nCtx !== null) kv.push(configU32('max_position_embeddings', nCtx, `${a}.context_length`));
  kv.push(u32(`${a}.embedding_length`, h.nEmbd), u32(`${a}.feed_forward_length`, h.nFf), u32(`${a}.attention.head_count`, h.nHead));
  if (hp.num_key_value_heads !== undefined && hp.num_key_value_heads !== null) kv.push(u32(`${a}.attention.head_count_kv`, h.nHeadKv));
  kv.push(...ropeScalingKv(rope, a));
  if (rope.rope_theta !== undefined && rope.rope_theta !== null) kv.push(configF32('rope_theta', rope.rope_theta, `${a}.rope.freq_base`));
  const rmsEps = firstPresent(hp, ['rms_norm_eps', 'norm_eps']);
  if (rmsEps !== undefined && rmsEps !== null) kv.push(configF32('rms_norm_eps', rmsEps, `${a}.attention.layer_norm_rms_epsilon`));
  if (hp.head_dim !== undefined && hp.head_dim !== null) kv.push(u32(`${a}.attention.key_length`, h.headDim), u32(`${a}.attention.value_length`, h.headDim));
  kv.push(u32('general.file_type', FILE_TYPE[outtype]));
  if (a === 'llama') kv.push(u32(`${a}.vocab_size`, h.nVocab), u32(`${a}.rope.dimension_count`, h.headDim));
  return kv;
}

/**
 * Llama 3.1's RoPE frequency factors (LlamaModel.generate_extra_tensors): 1 for wavelengths
 * shorter than original_context / high_freq_factor, `factor` for those longer than
 * original_context / low_freq_factor, a smooth blend between. The converter computes them with
 * float32 torch tensors, each operation rounded to float32; so is every step here.
 */
export function llama3RopeFreqs(p: { base: number; dim: number; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number }): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(p.dim / 2);
  const highFreqWavelen = f(p.originalContext / p.highFreqFactor);
  const lowFreqWavelen = f(p.originalContext / p.lowFreqFactor);
  for (let i = 0; i < out.length; i++) {
    const freq = f(1 / f(Math.pow(f(p.base), f((2 * i) / p.dim))));
    // torch evaluates `scalar / tensor` as reciprocal(tensor) * scalar.
    const wavelen = f(f(1 / freq) * f(2 * Math.PI));
    if (wavelen < highFreqWavelen) out[i] = 1;
    else if (wavelen > lowFreqWavelen) out[i] = p.factor;
    else {
      const smooth = f(f(f(f(1 / wavelen) * f(p.originalContext)) - f(p.lowFreqFactor)) / f(p.highFreqFactor - p.lowFreqFactor));
      out[i] = f(1 / f(f(f(1 - smooth) / f(p.factor)) + smooth));
    }
  }
  return out;
}

/** The rope_freqs.weight tensor a Llama with rope_type "llama3" gets, or undefined. */
function ropeFreqsTensor(hp: Json, h: Hparams, rope: Json): Float32Array | undefined {
  if (h.arch !== 'llama' || ropeType(rope)?.toLowerCase() !== 'llama3') return undefined;
  const num = (value: unknown, name: string, fallback: number) => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number') throw new ConvertError(`config.json ${name}`, `must be a number, found ${JSON.stringify(value)}`);
    return value;
  };
  return llama3RopeFreqs({
    base: num(rope.rope_theta, 'rope_theta', 10000),
    dim: h.headDim,
    factor: num(rope.factor, 'rope_scaling.factor', 8),
    lowFreqFactor: num(rope.low_freq_factor, 'rope_scaling.low_freq_factor', 1),
    highFreqFactor: num(rope.high_freq_factor, 'rope_scaling.high_freq_factor', 4),
    // The converter reads it from the top level of config.json, not from rope_scaling.
    originalContext: num(hp.original_max_position_embeddings, 'original_max_position_embeddings', 8192),
  });
}

/** HF tensor name → GGUF name (tensor_mapping.py's entries for these models); undefined: not converted. */
const LAYER_PARTS: Record<string, string> = {
  input_layernorm: 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'self_attn.q_norm': 'attn_q_norm',
  'self_attn.k_norm': 'attn_k_norm',
  post_attention_layernorm: 'ffn_norm',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
};

function ggufName(hfName: string): string | undefined {
  if (hfName === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hfName === 'model.norm.weight') return 'output_norm.weight';
  if (hfName === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hfName);
  const part = m && LAYER_PARTS[m[2]!];
  return part ? `blk.${m[1]}.${part}.${m[3]}` : undefined;
}

/** Every GGUF tensor the model may have, with its expected shape in GGUF order (ne[0] first), and whether it must be there. */
function expectedTensors(h: Hparams): Map<string, { shape: number[]; required: boolean }> {
  const q = h.nHead * h.headDim;
  const kvDim = h.nHeadKv * h.headDim;
  const t = new Map<string, { shape: number[]; required: boolean }>();
  const add = (name: string, shape: number[], required = true) => t.set(name, { shape, required });
  add('token_embd.weight', [h.nEmbd, h.nVocab]);
  add('output_norm.weight', [h.nEmbd]);
  // Written when the checkpoint has it, tied or not; without it llama.cpp reuses token_embd.
  add('output.weight', [h.nEmbd, h.nVocab], false);
  for (let i = 0; i < h.nLayer; i++) {
    const b = `blk.${i}`;
    add(`${b}.attn_norm.weight`, [h.nEmbd]);
    add(`${b}.attn_q.weight`, [h.nEmbd, q]);
    add(`${b}.attn_k.weight`, [h.nEmbd, kvDim]);
    add(`${b}.attn_v.weight`, [h.nEmbd, kvDim]);
    add(`${b}.attn_output.weight`, [q, h.nEmbd]);
    if (h.arch === 'qwen2') {
      add(`${b}.attn_q.bias`, [q]);
      add(`${b}.attn_k.bias`, [kvDim]);
      add(`${b}.attn_v.bias`, [kvDim]);
    }
    if (h.arch === 'qwen3') {
      add(`${b}.attn_q_norm.weight`, [h.headDim]);
      add(`${b}.attn_k_norm.weight`, [h.headDim]);
    }
    add(`${b}.ffn_norm.weight`, [h.nEmbd]);
    add(`${b}.ffn_gate.weight`, [h.nEmbd, h.nFf]);
    add(`${b}.ffn_up.weight`, [h.nEmbd, h.nFf]);
    add(`${b}.ffn_down.weight`, [h.nFf, h.nEmbd]);
  }
  return t;
}

interface SourceTensor { blob: Blob; info: SafetensorsTensorInfo }

const list = (names: string[]) => `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}`;

/**
 * The checkpoint's tensors in the order the converter visits them: the shards the index names
 * (or the folder's model*.safetensors files) in sorted order, and within each file the names
 * sorted, as safetensors lists them. With an index, its names must be exactly the shards' names.
 */
async function sourceTensors(files: HfFiles): Promise<SourceTensor[]> {
  const index = await readJson(files, 'model.safetensors.index.json', false);
  let weightMap: Record<string, unknown> | undefined;
  let parts: string[];
  if (index) {
    if (typeof index.weight_map !== 'object' || index.weight_map === null) throw new ConvertError('model.safetensors.index.json weight_map', 'missing or not an object');
    weightMap = index.weight_map as Record<string, unknown>;
    parts = [...new Set(Object.values(weightMap).map(String))].sort();
  } else {
    const safetensors = [...files.keys()].filter((n) => n.endsWith('.safetensors')).sort();
    // The converter reads model*.safetensors; a folder with other names only is read whole.
    const modelParts = safetensors.filter((n) => n.startsWith('model'));
    parts = modelParts.length > 0 ? modelParts : safetensors;
    if (parts.length === 0) throw new ConvertError('model.safetensors', 'no .safetensors file in the model folder');
  }
  const tensors: SourceTensor[] = [];
  for (const part of parts) {
    const blob = files.get(part);
    if (!blob) throw new ConvertError(part, 'listed in model.safetensors.index.json but missing from the model folder');
    const file = await readSafetensors(blob);
    const sorted = [...file.tensors].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    for (const info of sorted) tensors.push({ blob, info });
  }
  if (weightMap) {
    const inParts = new Set(tensors.map((t) => t.info.name));
    const missing = Object.keys(weightMap).filter((n) => !inParts.has(n)).sort();
    const extra = [...inParts].filter((n) => !(n in weightMap!)).sort();
    if (missing.length > 0 || extra.length > 0) {
      throw new ConvertError('model.safetensors.index.json', `does not match the shards: ${missing.length > 0 ? `missing ${list(missing)}` : ''}${missing.length > 0 && extra.length > 0 ? '; ' : ''}${extra.length > 0 ? `not in the index ${list(extra)}` : ''}`);
    }
  }
  return tensors;
}

/** Reads a tensor as f32 values, whatever its source dtype. */
async function readAsF32({ blob, info }: SourceTensor): Promise<Float32Array> {
  const bytes = await blob.slice(info.offset, info.offset + info.bytes).arrayBuffer();
  if (info.dtype === 'F32') return new Float32Array(bytes);
  const halves = new Uint16Array(bytes);
  const widen = info.dtype === 'F16' ? f16ToF32 : bf16ToF32;
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = widen(halves[i]!);
  return out;
}

/** Llama's permute(): within each head, rows (half, i) go to (i, half), interleaving the two rotary halves. */
function permuteRows(data: Float32Array, heads: number, rowLength: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = data.length / rowLength / heads / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (h * 2 * half + j * half + i) * rowLength;
        const to = (h * 2 * half + i * 2 + j) * rowLength;
        out.set(data.subarray(from, from + rowLength), to);
      }
    }
  }
  return out;
}

/** f32 values → bytes of the output type. F16 rounds to nearest even, as numpy's astype(float16) does. */
function encode(values: Float32Array, type: GgmlTypeTraits): Uint8Array {
  if (type.name === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const narrow = type.name === 'F16' ? f32ToF16 : f32ToBf16;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = narrow(values[i]!);
  return new Uint8Array(out.buffer);
}

function outputType(ggufName: string, dims: number, outtype: OutType): GgmlTypeTraits {
  const name = dims <= 1 || ggufName.endsWith('_norm.weight') ? 'F32' : outtype.toUpperCase();
  return ggmlTypeByName(name)!;
}

/** Checkpoints the converter would dequantize or turn into something else, or that need a tokenizer we cannot read. */
function checkSupported(files: HfFiles, config: Json, h: Hparams, folderName: string): void {
  const quantization = config.quantization_config as { quant_method?: unknown } | null | undefined;
  if (quantization) {
    throw new ConvertError('config.json quantization_config', `a quantized checkpoint (${String(quantization.quant_method ?? 'unknown method')}): only F32, F16 and BF16 weights can be converted`);
  }
  const hints = [folderName, config._name_or_path].filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase());
  if (h.arch === 'qwen3' && hints.some((x) => x.includes('qwen3-reranker'))) {
    throw new ConvertError('config.json', 'a Qwen3 reranker: llama.cpp converts it into a ranking model (cls_out, rank pooling), which is not supported');
  }
  if (h.arch === 'llama' && files.has('tekken.json') && !files.has('tokenizer.json')) {
    throw new ConvertError('tekken.json', "Mistral's tekken tokenizer needs mistral-common to convert; a folder with tokenizer.json is needed");
  }
}

/** The tokenizer files of the folder, read for hf-tokenizer. */
async function tokenizerInput(files: HfFiles, config: Json, h: Hparams) {
  const text = async (name: string) => files.get(name)?.text();
  const additionalChatTemplates: ChatTemplateChoice[] = [];
  for (const [name, blob] of files) {
    const m = /^additional_chat_templates\/([^/]+)\.jinja$/.exec(name);
    if (m) additionalChatTemplates.push({ name: m[1]!, template: await blob.text() });
  }
  const sentencePiece = files.get('tokenizer.model');
  return hfTokenizerKv({
    arch: h.arch,
    config,
    vocabSize: h.nVocab,
    tokenizerJson: await readJson(files, 'tokenizer.json', false),
    tokenizerConfig: await readJson(files, 'tokenizer_config.json', false),
    sentencePieceModel: sentencePiece && new Uint8Array(await sentencePiece.arrayBuffer()),
    addedTokensJson: await readJson(files, 'added_tokens.json', false),
    chatTemplateJinja: await text('chat_template.jinja'),
    additionalChatTemplates: additionalChatTemplates.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    chatTemplateJson: await readJson(files, 'chat_template.json', false),
  });
}

/** generation_config.json, or undefined when absent or unreadable (the converter ignores a broken one). */
async function generationConfig(files: HfFiles): Promise<Json | undefined> {
  try {
    return await readJson(files, 'generation_config.json', false);
  } catch {
    return undefined;
  }
}

/**
 * Reads the model folder's configuration and safetensors headers and lays out the GGUF: metadata,
 * tensor names, shapes and types, with each tensor's data produced only when the writer asks for it.
 */
export async function prepareHfConversion(files: HfFiles, options: ConvertOptions): Promise<GgufToWrite & { done: () => void }> {
  const outtype = options.outtype ?? 'f16';
  const config = await readJson(files, 'config.json', true);
  const hp = withConfigDefaults(config);
  const h = readHparams(config, hp);
  checkSupported(files, config, h, options.name);
  const rope = ropeParameters(hp);
  const archKv = architectureKv(hp, h, rope, outtype);
  const tokenizerKv = await tokenizerInput(files, config, h);

  const expected = expectedTensors(h);
  const tensors: GgufTensorToWrite[] = [];
  const ropeFreqs = ropeFreqsTensor(hp, h, rope);
  if (ropeFreqs) tensors.push({ name: 'rope_freqs.weight', shape: [ropeFreqs.length], type: ggmlTypeByName('F32')!, data: async () => encode(ropeFreqs, ggmlTypeByName('F32')!) });
  const sources = await sourceTensors(files);
  const bytesTotal = sources.reduce((sum, t) => sum + t.info.bytes, 0);
  let bytesDone = 0;
  const started = performance.now();
  const report = (tensorsDone: number, currentTensor: string) => options.onProgress?.({
    tensorsDone, tensorsTotal: tensors.length, bytesDone, bytesTotal, elapsedMs: performance.now() - started, currentTensor,
  });
  for (const source of sources) {
    const hfName = source.info.name;
    // Buffers the converter drops: llama.cpp recomputes them.
    if (['.attention.masked_bias', '.attention.bias', '.rotary_emb.inv_freq'].some((s) => hfName.endsWith(s))) continue;
    const name = ggufName(hfName);
    if (name === undefined) throw new ConvertError(`tensor ${hfName}`, `has no GGUF name for ${h.arch}`);
    const shape = [...source.info.shape].reverse();
    const want = expected.get(name);
    if (!want) throw new ConvertError(`tensor ${hfName}`, `is not part of a ${h.arch} model with this config.json`);
    if (want.shape.join('x') !== shape.join('x')) {
      throw new ConvertError(`tensor ${hfName}`, `shape [${source.info.shape.join(', ')}] does not match config.json, which implies [${[...want.shape].reverse().join(', ')}]`);
    }
    if (!['F32', 'F16', 'BF16'].includes(source.info.dtype)) throw new ConvertError(`tensor ${hfName}`, `dtype ${source.info.dtype} is not supported (F32, F16 or BF16)`);
    expected.delete(name);
    const type = outputType(name, shape.length, outtype);
    const heads = name.endsWith('attn_q.weight') ? h.nHead : name.endsWith('attn_k.weight') ? h.nHeadKv : 0;
    const index = tensors.length;
    tensors.push({
      name,
      shape,
      type,
      data: async () => {
        options.signal?.throwIfAborted();
        report(index, name);
        let values = await readAsF32(source);
        bytesDone += source.info.bytes;
        if (h.permuteQK && heads > 0) values = permuteRows(values, heads, shape[0]!);
        return encode(values, type);
      },
    });
  }
  const missing = [...expected].filter(([, e]) => e.required).map(([name]) => name);
  if (missing.length > 0) throw new ConvertError('model tensors', `missing ${missing.length} tensor${missing.length > 1 ? 's' : ''}: ${list(missing)}`);

  const totalParams = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
  const kv: GgufKV[] = [
    str('general.architecture', h.arch),
    str('general.type', 'model'),
    ...generalMetadataKv({ folderName: options.name, config, generationConfig: await generationConfig(files), totalParams }),
    ...archKv,
    u32('general.quantization_version', 2),
    ...tokenizerKv,
  ];
  return { version: 3, kv, tensors, done: () => report(tensors.length, '') };
}

/** Thrown by the sink of convertedLayout() to stop the writer once it has produced the header. */
class HeaderWritten extends Error {}

/**
 * The GGUF the conversion will produce, as readGguf would describe it, without converting any
 * tensor: for planning a quantization of a model that is still in safetensors form.
 */
export async function convertedLayout(files: HfFiles, options: ConvertOptions): Promise<GgufFile> {
  const gguf = await prepareHfConversion(files, options);
  let headerBytes = 0;
  const headerOnly: ByteSink = { write: (chunk) => { headerBytes = chunk.length; throw new HeaderWritten(); } };
  await writeGguf(headerOnly, gguf).catch((e: unknown) => { if (!(e instanceof HeaderWritten)) throw e; });
  let relativeOffset = 0;
  const tensors: GgufTensorInfo[] = gguf.tensors.map(({ name, shape, type }) => {
    const elements = shape.reduce((a, b) => a * b, 1);
    const bytes = tensorBytes(type, elements);
    const info = { name, shape, type, relativeOffset, offset: headerBytes + relativeOffset, elements, bytes };
    relativeOffset += alignUp(bytes, GGUF_DEFAULT_ALIGNMENT);
    return info;
  });
  return { format: 'gguf', version: 3, alignment: GGUF_DEFAULT_ALIGNMENT, kv: gguf.kv, tensors, dataOffset: headerBytes, fileSize: headerBytes + relativeOffset };
}

/** Converts a Hugging Face model folder to GGUF, streaming it to `sink`. Returns the bytes written. */
export async function convertHfToGguf(files: HfFiles, sink: ByteSink, options: ConvertOptions): Promise<number> {
  const gguf = await prepareHfConversion(files, options);
  const written = await writeGguf(sink, gguf);
  gguf.done();
  return written;
}
