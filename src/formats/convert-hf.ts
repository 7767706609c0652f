// Hugging Face safetensors checkpoint → GGUF, as llama.cpp's convert_hf_to_gguf.py writes it for
// Llama, Mistral, Qwen2 and Qwen3: the same metadata keys in the same order, the same tensor names,
// order and types, and Llama's Q/K row permutation. Tensors are streamed one at a time: each is
// sliced from its Blob, converted and handed to the GGUF writer before the next is read.

import { alignUp, GGUF_DEFAULT_ALIGNMENT, GgufValueType, type GgufFile, type GgufKV, type GgufTensorInfo } from './gguf';
import { writeGguf, type GgufTensorToWrite, type GgufToWrite } from './gguf-writer';
import { readSafetensors, type SafetensorsTensorInfo } from './safetensors';
import type { ByteSink } from './sink';
import { ConvertError } from './convert-hf-errors';
import { hfTokenizerKv } from './hf-tokenizer';
import { ggmlTypeByName, tensorBytes, type GgmlTypeTraits } from '../quant/types';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../quant/fp16';

export { ConvertError } from './convert-hf-errors';

export type OutType = 'f16' | 'bf16' | 'f32';

/** general.file_type values (llama_ftype) of the three output types. */
const FILE_TYPE: Record<OutType, number> = { f32: 0, f16: 1, bf16: 32 };

/** The converter's model classes: HF architecture → GGUF architecture and its particulars. */
const ARCHITECTURES: Record<string, { arch: 'llama' | 'qwen2' | 'qwen3'; permuteQK: boolean }> = {
  LlamaForCausalLM: { arch: 'llama', permuteQK: true },
  MistralForCausalLM: { arch: 'llama', permuteQK: true },
  Qwen2ForCausalLM: { arch: 'qwen2', permuteQK: false },
  Qwen3ForCausalLM: { arch: 'qwen3', permuteQK: false },
};

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
  /** general.name; the converter derives it from the model folder's name. */
  name: string;
  onProgress?: (p: ConvertProgress) => void;
  signal?: AbortSignal;
}

/** A model folder's files by file name (config.json, tokenizer.json, *.safetensors, ...). */
export type HfFiles = ReadonlyMap<string, Blob>;

async function readJson(files: HfFiles, name: string, required: true): Promise<Record<string, unknown>>;
async function readJson(files: HfFiles, name: string, required: false): Promise<Record<string, unknown> | undefined>;
async function readJson(files: HfFiles, name: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  const blob = files.get(name);
  if (!blob) {
    if (required) throw new ConvertError(name, 'missing from the model folder');
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(await blob.text());
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (e) {
    throw new ConvertError(name, `cannot be read as JSON (${(e as Error).message})`);
  }
}

function positiveInt(config: Record<string, unknown>, key: string): number {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConvertError(`config.json ${key}`, `must be a positive integer, found ${JSON.stringify(v)}`);
  return v;
}

const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
const f32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.F32, value });
const str = (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value });

interface Hparams {
  arch: 'llama' | 'qwen2' | 'qwen3';
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

function readHparams(config: Record<string, unknown>): Hparams {
  const names = config.architectures;
  const hfArch = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : undefined;
  if (!hfArch) throw new ConvertError('config.json architectures', 'missing: cannot tell which model this is');
  const known = ARCHITECTURES[hfArch];
  if (!known) throw new ConvertError('config.json architectures', `${hfArch} is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  const nHead = positiveInt(config, 'num_attention_heads');
  const nEmbd = positiveInt(config, 'hidden_size');
  const headDim = config.head_dim === undefined ? nEmbd / nHead : positiveInt(config, 'head_dim');
  if (!Number.isInteger(headDim)) throw new ConvertError('config.json hidden_size', `${nEmbd} is not a multiple of num_attention_heads ${nHead}`);
  return {
    ...known,
    nEmbd,
    nFf: positiveInt(config, 'intermediate_size'),
    nLayer: positiveInt(config, 'num_hidden_layers'),
    nHead,
    nHeadKv: config.num_key_value_heads === undefined ? nHead : positiveInt(config, 'num_key_value_heads'),
    headDim,
    nVocab: positiveInt(config, 'vocab_size'),
    // Llama and Mistral default to separate output weights, Qwen2/3 configs say so explicitly.
    tied: config.tie_word_embeddings === true,
  };
}

/** The architecture keys TextModel/LlamaModel/Qwen2Model.set_gguf_parameters write, in their order. */
function architectureKv(config: Record<string, unknown>, hp: Hparams, outtype: OutType): GgufKV[] {
  const a = hp.arch;
  const kv: GgufKV[] = [u32(`${a}.block_count`, hp.nLayer)];
  const nCtx = ['max_position_embeddings', 'n_ctx', 'n_positions', 'max_length', 'max_sequence_length', 'model_max_length']
    .map((k) => config[k]).find((v) => typeof v === 'number');
  if (nCtx !== undefined) kv.push(u32(`${a}.context_length`, nCtx as number));
  kv.push(u32(`${a}.embedding_length`, hp.nEmbd), u32(`${a}.feed_forward_length`, hp.nFf), u32(`${a}.attention.head_count`, hp.nHead));
  if (config.num_key_value_heads !== undefined) kv.push(u32(`${a}.attention.head_count_kv`, hp.nHeadKv));
  if (typeof config.rope_theta === 'number') kv.push(f32(`${a}.rope.freq_base`, config.rope_theta));
  if (typeof config.rms_norm_eps === 'number') kv.push(f32(`${a}.attention.layer_norm_rms_epsilon`, config.rms_norm_eps));
  if (config.head_dim !== undefined) kv.push(u32(`${a}.attention.key_length`, hp.headDim), u32(`${a}.attention.value_length`, hp.headDim));
  kv.push(u32('general.file_type', FILE_TYPE[outtype]));
  if (a === 'llama') kv.push(u32(`${a}.vocab_size`, hp.nVocab), u32(`${a}.rope.dimension_count`, hp.headDim));
  kv.push(...ropeScalingKv(config, hp));
  return kv;
}

/** Rope scaling the converter supports for these models: linear (Llama) and YaRN (Qwen2/3). */
function ropeScalingKv(config: Record<string, unknown>, hp: Hparams): GgufKV[] {
  const scaling = config.rope_scaling as Record<string, unknown> | null | undefined;
  if (!scaling) return [];
  const type = scaling.rope_type ?? scaling.type;
  const factor = scaling.factor;
  if (typeof factor !== 'number') throw new ConvertError('config.json rope_scaling.factor', `must be a number, found ${JSON.stringify(factor)}`);
  const a = hp.arch;
  if (type === 'linear' && a === 'llama') return [str(`${a}.rope.scaling.type`, 'linear'), f32(`${a}.rope.scaling.factor`, factor)];
  if (type === 'yarn' && a !== 'llama') {
    const original = scaling.original_max_position_embeddings;
    if (typeof original !== 'number') throw new ConvertError('config.json rope_scaling.original_max_position_embeddings', 'YaRN scaling needs it');
    return [str(`${a}.rope.scaling.type`, 'yarn'), f32(`${a}.rope.scaling.factor`, factor), u32(`${a}.rope.scaling.original_context_length`, original)];
  }
  throw new ConvertError('config.json rope_scaling', `type ${JSON.stringify(type)} is not supported for ${a}`);
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

/** Every GGUF tensor the model must have, with its expected shape in GGUF order (ne[0] first). */
function expectedTensors(hp: Hparams): Map<string, number[]> {
  const q = hp.nHead * hp.headDim;
  const kvDim = hp.nHeadKv * hp.headDim;
  const t = new Map<string, number[]>([['token_embd.weight', [hp.nEmbd, hp.nVocab]], ['output_norm.weight', [hp.nEmbd]]]);
  if (!hp.tied) t.set('output.weight', [hp.nEmbd, hp.nVocab]);
  for (let i = 0; i < hp.nLayer; i++) {
    const b = `blk.${i}`;
    t.set(`${b}.attn_norm.weight`, [hp.nEmbd]);
    t.set(`${b}.attn_q.weight`, [hp.nEmbd, q]);
    t.set(`${b}.attn_k.weight`, [hp.nEmbd, kvDim]);
    t.set(`${b}.attn_v.weight`, [hp.nEmbd, kvDim]);
    t.set(`${b}.attn_output.weight`, [q, hp.nEmbd]);
    if (hp.arch === 'qwen2') {
      t.set(`${b}.attn_q.bias`, [q]);
      t.set(`${b}.attn_k.bias`, [kvDim]);
      t.set(`${b}.attn_v.bias`, [kvDim]);
    }
    if (hp.arch === 'qwen3') {
      t.set(`${b}.attn_q_norm.weight`, [hp.headDim]);
      t.set(`${b}.attn_k_norm.weight`, [hp.headDim]);
    }
    t.set(`${b}.ffn_norm.weight`, [hp.nEmbd]);
    t.set(`${b}.ffn_gate.weight`, [hp.nEmbd, hp.nFf]);
    t.set(`${b}.ffn_up.weight`, [hp.nEmbd, hp.nFf]);
    t.set(`${b}.ffn_down.weight`, [hp.nFf, hp.nEmbd]);
  }
  return t;
}

interface SourceTensor { blob: Blob; info: SafetensorsTensorInfo }

/**
 * The checkpoint's tensors in the order the converter visits them: shard files in sorted order
 * (or the single model.safetensors), and within each file the names sorted, as safetensors lists them.
 */
async function sourceTensors(files: HfFiles): Promise<SourceTensor[]> {
  const index = await readJson(files, 'model.safetensors.index.json', false);
  let parts: string[];
  if (index) {
    const weightMap = index.weight_map;
    if (typeof weightMap !== 'object' || weightMap === null) throw new ConvertError('model.safetensors.index.json weight_map', 'missing or not an object');
    parts = [...new Set(Object.values(weightMap as Record<string, string>))].sort();
  } else if (files.has('model.safetensors')) {
    parts = ['model.safetensors'];
  } else {
    parts = [...files.keys()].filter((n) => n.endsWith('.safetensors')).sort();
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

/**
 * Reads the model folder's configuration and safetensors headers and lays out the GGUF: metadata,
 * tensor names, shapes and types, with each tensor's data produced only when the writer asks for it.
 */
export async function prepareHfConversion(files: HfFiles, options: ConvertOptions): Promise<GgufToWrite & { done: () => void }> {
  const outtype = options.outtype ?? 'f16';
  const config = await readJson(files, 'config.json', true);
  const hp = readHparams(config);
  const tokenizerJson = await readJson(files, 'tokenizer.json', true);
  const tokenizerConfig = await readJson(files, 'tokenizer_config.json', false);
  const tokenizerKv = hfTokenizerKv({ tokenizerJson, tokenizerConfig, config });

  const expected = expectedTensors(hp);
  const tensors: GgufTensorToWrite[] = [];
  const sources = await sourceTensors(files);
  const bytesTotal = sources.reduce((sum, t) => sum + t.info.bytes, 0);
  let bytesDone = 0;
  const started = performance.now();
  const report = (tensorsDone: number, currentTensor: string) => options.onProgress?.({
    tensorsDone, tensorsTotal: tensors.length, bytesDone, bytesTotal, elapsedMs: performance.now() - started, currentTensor,
  });
  for (const source of sources) {
    const hfName = source.info.name;
    if (hfName.endsWith('.rotary_emb.inv_freq')) continue; // recomputed by llama.cpp
    const name = ggufName(hfName);
    if (name === undefined) throw new ConvertError(`tensor ${hfName}`, `has no GGUF name for ${hp.arch}`);
    if (name === 'output.weight' && hp.tied) continue; // tied: llama.cpp reuses token_embd
    const shape = [...source.info.shape].reverse();
    const want = expected.get(name);
    if (!want) throw new ConvertError(`tensor ${hfName}`, `is not part of a ${hp.arch} model with this config.json`);
    if (want.join('x') !== shape.join('x')) {
      throw new ConvertError(`tensor ${hfName}`, `shape [${source.info.shape.join(', ')}] does not match config.json, which implies [${[...want].reverse().join(', ')}]`);
    }
    if (!['F32', 'F16', 'BF16'].includes(source.info.dtype)) throw new ConvertError(`tensor ${hfName}`, `dtype ${source.info.dtype} is not supported (F32, F16 or BF16)`);
    expected.delete(name);
    const type = outputType(name, shape.length, outtype);
    const heads = name.endsWith('attn_q.weight') ? hp.nHead : name.endsWith('attn_k.weight') ? hp.nHeadKv : 0;
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
        if (hp.permuteQK && heads > 0) values = permuteRows(values, heads, shape[0]!);
        return encode(values, type);
      },
    });
  }
  if (expected.size > 0) {
    const missing = [...expected.keys()];
    throw new ConvertError('model tensors', `missing ${missing.length} tensor${missing.length > 1 ? 's' : ''}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  }

  const kv: GgufKV[] = [
    str('general.architecture', hp.arch),
    str('general.type', 'model'),
    str('general.name', options.name),
    ...architectureKv(config, hp, outtype),
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
