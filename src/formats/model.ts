// Opens a set of dropped files as models: groups files that belong together
// (a GGUF alone; safetensors shards with their index and the config/tokenizer
// companions), parses their headers, and describes each model in plain data
// (ModelView) that the UI, the CLI and tests share.

import { FormatError } from './errors';
import { GgufValueType, metaArray, metaNumber, metaString, readGguf, type GgufArray, type GgufFile, type GgufKV } from './gguf';
import { readSafetensors, type SafetensorsFile } from './safetensors';
import { detectQuantizedLayout, packedElementFactor, type QuantizedLayout } from './quantized-layouts';
import { ggmlTypeByName, type GgmlTypeTraits } from '../quant/types';
import { tensorStats, type TensorStats } from '../quant/tensor-stats';

export interface NamedBlob {
  name: string;
  blob: Blob;
  /** Relative path when a folder was dropped. */
  path?: string;
}

export interface MetadataEntry {
  key: string;
  /** e.g. 'u32', 'string', 'array<string>'. */
  type: string;
  /** Scalars; u64/i64 as strings so that nothing is rounded. Arrays: null (see preview). */
  value: string | number | boolean | null;
  arrayLength?: number;
  /** The first items of an array. */
  preview?: (string | number | boolean)[];
}

export interface TensorEntry {
  name: string;
  /** GGML type name, or safetensors dtype. */
  type: string;
  shape: number[];
  elements: number;
  bytes: number;
  offset: number;
  file: string;
  layer: number | null;
}

export interface QuantMixEntry {
  type: string;
  tensors: number;
  bytes: number;
  elements: number;
}

export interface ModelSummary {
  architecture: string | null;
  name: string | null;
  parameterCount: number;
  layers: number | null;
  heads: number | null;
  kvHeads: number | null;
  embeddingSize: number | null;
  contextLength: number | null;
  vocabSize: number | null;
  rope: { dimensions: number | null; freqBase: number | null; scaling: string | null };
  fileSize: number;
  bitsPerWeight: number;
  quantMix: QuantMixEntry[];
  bytesByLayer: { layer: string; bytes: number }[];
  hasChatTemplate: boolean;
  quantizedLayout: QuantizedLayout | null;
}

export interface ModelView {
  id: string;
  name: string;
  format: 'gguf' | 'safetensors';
  version: number | null;
  files: { name: string; size: number }[];
  summary: ModelSummary;
  metadata: MetadataEntry[];
  tensors: TensorEntry[];
}

export interface OpenError {
  file: string;
  message: string;
  field: string | null;
  offset: number | null;
}

export const ARRAY_PREVIEW_LENGTH = 64;

/** Files that belong with a safetensors model: its configuration, tokenizer and chat template (the converter reads them all). */
const COMPANION_FILES = new Set([
  'config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors.index.json',
  'chat_template.jinja', 'chat_template.json', 'tokenizer.model',
]);

export function isCompanionFile(name: string): boolean {
  return COMPANION_FILES.has(name.toLowerCase());
}

/** A loaded model: its description plus what is needed to read tensors back from the files. */
export class ModelHandle {
  constructor(
    readonly view: ModelView,
    /** Tensor name → where its bytes are and how to decode them. */
    private readonly tensorSources: Map<string, { blob: Blob; offset: number; bytes: number; elements: number; type: GgmlTypeTraits | null }>,
    /** Metadata arrays by key: GGUF arrays, or JSON arrays from config.json. */
    private readonly arrays: Map<string, GgufArray | unknown[]>,
    /** The parsed GGUF header, for engines that run or quantize the model. */
    readonly gguf: GgufFile | null,
    readonly blobs: NamedBlob[],
    readonly companions: Record<string, unknown>,
  ) {}

  /** Reads a tensor's raw bytes from its file. */
  async tensorBytes(name: string): Promise<Uint8Array> {
    const src = this.source(name);
    return new Uint8Array(await src.blob.slice(src.offset, src.offset + src.bytes).arrayBuffer());
  }

  /** Dequantizes a tensor and computes its statistics. */
  async tensorStats(name: string): Promise<TensorStats> {
    const src = this.source(name);
    if (!src.type) {
      const entry = this.view.tensors.find((t) => t.name === name)!;
      throw new TypeError(`statistics are not available for ${entry.type} tensors (packed or non-float data)`);
    }
    return tensorStats(src.type, await this.tensorBytes(name), src.elements);
  }

  /** Items start..start+count of a metadata array (for expanding long arrays such as vocabularies). */
  async metadataArray(key: string, start: number, count: number): Promise<(string | number | boolean)[]> {
    const arr = this.arrays.get(key);
    if (!arr) throw new RangeError(`no metadata array "${key}"`);
    return arrayItems(arr, start, start + count);
  }

  private source(name: string) {
    const src = this.tensorSources.get(name);
    if (!src) throw new RangeError(`no tensor "${name}" in ${this.view.name}`);
    return src;
  }
}

/** Groups the files into models and parses their headers. Bad files become OpenError entries; the others still load. */
export async function openModels(files: NamedBlob[]): Promise<{ models: ModelView[]; handles: ModelHandle[]; errors: OpenError[] }> {
  const handles: ModelHandle[] = [];
  const errors: OpenError[] = [];
  const fail = (file: string, e: unknown) => errors.push(toOpenError(file, e));

  const byFolder = new Map<string, NamedBlob[]>();
  for (const f of files) {
    const lower = f.name.toLowerCase();
    if (lower.endsWith('.gguf')) {
      try {
        handles.push(await openGguf(f));
      } catch (e) {
        fail(f.name, e);
      }
    } else if (lower.endsWith('.safetensors') || isCompanionFile(lower)) {
      const folder = folderOf(f);
      byFolder.set(folder, [...(byFolder.get(folder) ?? []), f]);
    } else {
      fail(f.name, new Error('not a model file: expected .gguf, .safetensors, or a config/tokenizer JSON beside them'));
    }
  }
  for (const group of byFolder.values()) {
    const shards = group.filter((f) => f.name.toLowerCase().endsWith('.safetensors'));
    if (shards.length === 0) {
      for (const f of group) fail(f.name, new Error('a companion file needs a .safetensors model dropped with it'));
      continue;
    }
    try {
      handles.push(await openSafetensors(shards, group.filter((f) => !shards.includes(f)), fail));
    } catch (e) {
      fail(shards.map((s) => s.name).join(', '), e);
    }
  }
  return { models: handles.map((h) => h.view), handles, errors };
}

function folderOf(f: NamedBlob): string {
  const path = f.path ?? f.name;
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function toOpenError(file: string, e: unknown): OpenError {
  if (e instanceof FormatError) return { file, message: e.message, field: e.field, offset: e.offset };
  return { file, message: e instanceof Error ? e.message : String(e), field: null, offset: null };
}

let nextId = 1;
function newId(): string {
  return `m${nextId++}`;
}

// ---- GGUF ---------------------------------------------------------------------

async function openGguf(f: NamedBlob): Promise<ModelHandle> {
  const file = await readGguf(f.blob);
  const tensors: TensorEntry[] = file.tensors.map((t) => ({
    name: t.name, type: t.type.name, shape: t.shape, elements: t.elements, bytes: t.bytes, offset: t.offset, file: f.name, layer: layerOf(t.name),
  }));
  const arch = metaString(file, 'general.architecture') ?? null;
  const m = (suffix: string) => (arch ? metaNumber(file, `${arch}.${suffix}`) ?? null : null);
  const tokens = metaArray(file, 'tokenizer.ggml.tokens');
  const summary = summarize(tensors, f.blob.size, {
    architecture: arch,
    name: metaString(file, 'general.name') ?? null,
    layers: m('block_count'),
    heads: m('attention.head_count'),
    kvHeads: m('attention.head_count_kv'),
    embeddingSize: m('embedding_length'),
    contextLength: m('context_length'),
    vocabSize: tokens ? tokens.items.length : m('vocab_size'),
    rope: {
      dimensions: m('rope.dimension_count'),
      freqBase: m('rope.freq_base'),
      scaling: arch ? metaString(file, `${arch}.rope.scaling.type`) ?? null : null,
    },
    hasChatTemplate: metaString(file, 'tokenizer.chat_template') !== undefined,
    quantizedLayout: null,
  });
  const arrays = new Map<string, GgufArray | unknown[]>();
  for (const kv of file.kv) if (kv.type === GgufValueType.ARRAY) arrays.set(kv.key, kv.value as GgufArray);
  const view: ModelView = {
    id: newId(), name: f.name, format: 'gguf', version: file.version, files: [{ name: f.name, size: f.blob.size }],
    summary, metadata: file.kv.map(metadataEntry), tensors,
  };
  const sources = new Map(file.tensors.map((t) => [t.name, { blob: f.blob, offset: t.offset, bytes: t.bytes, elements: t.elements, type: t.type }]));
  return new ModelHandle(view, sources, arrays, file, [f], {});
}

const VALUE_TYPE_NAMES: Record<GgufValueType, string> = {
  [GgufValueType.U8]: 'u8', [GgufValueType.I8]: 'i8', [GgufValueType.U16]: 'u16', [GgufValueType.I16]: 'i16',
  [GgufValueType.U32]: 'u32', [GgufValueType.I32]: 'i32', [GgufValueType.F32]: 'f32', [GgufValueType.BOOL]: 'bool',
  [GgufValueType.STRING]: 'string', [GgufValueType.ARRAY]: 'array', [GgufValueType.U64]: 'u64', [GgufValueType.I64]: 'i64',
  [GgufValueType.F64]: 'f64',
};

function metadataEntry(kv: GgufKV): MetadataEntry {
  if (kv.type !== GgufValueType.ARRAY) {
    const v = kv.value;
    return { key: kv.key, type: VALUE_TYPE_NAMES[kv.type], value: typeof v === 'bigint' ? v.toString() : (v as string | number | boolean) };
  }
  const arr = kv.value as GgufArray;
  return {
    key: kv.key, type: `array<${VALUE_TYPE_NAMES[arr.itemType]}>`, value: null,
    arrayLength: arr.items.length, preview: arrayItems(arr, 0, ARRAY_PREVIEW_LENGTH),
  };
}

function arrayItems(arr: GgufArray | unknown[], start: number, end: number): (string | number | boolean)[] {
  const items: ArrayLike<unknown> = Array.isArray(arr) ? arr : arr.items;
  const out: (string | number | boolean)[] = [];
  for (let i = Math.max(0, start); i < Math.min(end, items.length); i++) out.push(displayItem(items[i]));
  return out;
}

/** One array item as the UI shows it: bigints as text, nested arrays and objects summarized or as JSON. */
function displayItem(v: unknown): string | number | boolean {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v !== null && typeof v === 'object' && 'itemType' in v) return `[array of ${(v as GgufArray).items.length}]`;
  return JSON.stringify(v);
}

// ---- safetensors ----------------------------------------------------------------

/** safetensors dtypes that have a GGML twin, so their statistics can be computed. */
const DTYPE_TO_GGML: Record<string, string> = { F32: 'F32', F16: 'F16', BF16: 'BF16', I8: 'I8', I16: 'I16', I32: 'I32', I64: 'I64', F64: 'F64' };

async function openSafetensors(shards: NamedBlob[], companionFiles: NamedBlob[], fail: (file: string, e: unknown) => void): Promise<ModelHandle> {
  const companions: Record<string, unknown> = {};
  for (const c of companionFiles) {
    if (!c.name.toLowerCase().endsWith('.json')) continue; // chat_template.jinja, tokenizer.model: only the converter reads them
    try {
      companions[c.name.toLowerCase()] = JSON.parse(await c.blob.text());
    } catch (e) {
      fail(c.name, new FormatError('JSON', 0, `not valid JSON (${(e as Error).message})`));
    }
  }
  checkShardsAgainstIndex(shards, companions['model.safetensors.index.json']);

  const sorted = [...shards].sort((a, b) => a.name.localeCompare(b.name));
  const tensors: TensorEntry[] = [];
  const sources = new Map<string, { blob: Blob; offset: number; bytes: number; elements: number; type: GgmlTypeTraits | null }>();
  const metadata: MetadataEntry[] = [];
  let fileSize = 0;
  const parsed: SafetensorsFile[] = [];
  for (const shard of sorted) {
    const file = await readSafetensors(shard.blob);
    parsed.push(file);
    fileSize += shard.blob.size;
    for (const [key, value] of Object.entries(file.metadata)) metadata.push({ key: `${shard.name}: __metadata__.${key}`, type: 'string', value });
    for (const t of file.tensors) {
      tensors.push({ name: t.name, type: t.dtype, shape: t.shape, elements: t.elements, bytes: t.bytes, offset: t.offset, file: shard.name, layer: layerOf(t.name) });
      const ggml = DTYPE_TO_GGML[t.dtype];
      sources.set(t.name, { blob: shard.blob, offset: t.offset, bytes: t.bytes, elements: t.elements, type: ggml ? ggmlTypeByName(ggml)! : null });
    }
  }
  const config = (companions['config.json'] ?? {}) as Record<string, unknown>;
  const textConfig = (config.text_config ?? config) as Record<string, unknown>;
  const num = (k: string) => (typeof textConfig[k] === 'number' ? (textConfig[k] as number) : null);
  const tokenizerConfig = (companions['tokenizer_config.json'] ?? {}) as Record<string, unknown>;
  const ropeScaling = textConfig.rope_scaling as Record<string, unknown> | null | undefined;
  const quantizedLayout = detectQuantizedLayout(tensors, config);
  const heads = num('num_attention_heads');
  const hidden = num('hidden_size');
  const arrays = new Map<string, unknown[]>();
  for (const [key, value] of Object.entries(config)) {
    const entry = jsonMetadataEntry(`config.json: ${key}`, value);
    metadata.push(entry);
    if (Array.isArray(value)) arrays.set(entry.key, value);
  }

  const architectures = config.architectures;
  const summary = summarize(tensors, fileSize, {
    architecture: Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : typeof config.model_type === 'string' ? config.model_type : null,
    name: shards.length === 1 ? shards[0]!.name : `${sorted[0]!.name} (+${shards.length - 1} shards)`,
    layers: num('num_hidden_layers'),
    heads,
    kvHeads: num('num_key_value_heads') ?? heads,
    embeddingSize: hidden,
    contextLength: num('max_position_embeddings'),
    vocabSize: num('vocab_size'),
    rope: {
      dimensions: num('head_dim') ?? (heads && hidden ? hidden / heads : null),
      freqBase: num('rope_theta'),
      scaling: ropeScaling && typeof ropeScaling === 'object' ? String(ropeScaling.rope_type ?? ropeScaling.type ?? 'custom') : null,
    },
    hasChatTemplate:
      typeof tokenizerConfig.chat_template === 'string' ||
      Array.isArray(tokenizerConfig.chat_template) ||
      companionFiles.some((c) => /^chat_template\.(jinja|json)$/i.test(c.name)),
    quantizedLayout,
  });
  const view: ModelView = {
    id: newId(), name: summary.name ?? sorted[0]!.name, format: 'safetensors', version: null,
    files: [...sorted, ...companionFiles].map((f) => ({ name: f.name, size: f.blob.size })), summary, metadata, tensors,
  };
  return new ModelHandle(view, sources, arrays, null, [...sorted, ...companionFiles], companions);
}

/** With an index file, every shard it names must be present, and every tensor it maps must be found. */
function checkShardsAgainstIndex(shards: NamedBlob[], index: unknown): void {
  if (!index) return;
  const weightMap = (index as { weight_map?: Record<string, string> }).weight_map;
  if (!weightMap || typeof weightMap !== 'object') throw new FormatError('model.safetensors.index.json weight_map', 0, 'missing or not an object');
  const present = new Set(shards.map((s) => s.name));
  const missing = [...new Set(Object.values(weightMap))].filter((name) => !present.has(name));
  if (missing.length > 0) throw new FormatError('model.safetensors.index.json weight_map', 0, `shards missing from the drop: ${missing.join(', ')}`);
}

function jsonMetadataEntry(key: string, value: unknown): MetadataEntry {
  if (Array.isArray(value)) {
    return { key, type: 'array', value: null, arrayLength: value.length, preview: arrayItems(value, 0, ARRAY_PREVIEW_LENGTH) };
  }
  if (value === null || typeof value === 'object') return { key, type: value === null ? 'null' : 'object', value: JSON.stringify(value) };
  return { key, type: typeof value, value: value as string | number | boolean };
}

// ---- shared summary -------------------------------------------------------------

/** Layer index from GGUF ("blk.N.") or Hugging Face ("layers.N.", "h.N.") tensor names. */
export function layerOf(name: string): number | null {
  const m = /(?:^|\.)(?:blk|layers|h|block|blocks)\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}

const EMBEDDING_NAME = /(token_embd|embed_tokens|wte|word_embeddings|tok_embeddings)/;

function layerGroup(t: TensorEntry): string {
  if (t.layer !== null) return String(t.layer);
  if (EMBEDDING_NAME.test(t.name)) return 'embeddings';
  return 'output';
}

type SummaryFields = Omit<ModelSummary, 'parameterCount' | 'fileSize' | 'bitsPerWeight' | 'quantMix' | 'bytesByLayer'>;

function summarize(tensors: TensorEntry[], fileSize: number, fields: SummaryFields): ModelSummary {
  const mix = new Map<string, QuantMixEntry>();
  const layers = new Map<string, number>();
  let parameterCount = 0;
  let weightBytes = 0;
  for (const t of tensors) {
    const factor = packedElementFactor(t, fields.quantizedLayout);
    parameterCount += t.elements * factor;
    weightBytes += t.bytes;
    const e = mix.get(t.type) ?? { type: t.type, tensors: 0, bytes: 0, elements: 0 };
    e.tensors++;
    e.bytes += t.bytes;
    e.elements += t.elements;
    mix.set(t.type, e);
    const group = layerGroup(t);
    layers.set(group, (layers.get(group) ?? 0) + t.bytes);
  }
  const order = (g: string) => (g === 'embeddings' ? -1 : g === 'output' ? Number.MAX_SAFE_INTEGER : Number(g));
  return {
    ...fields,
    parameterCount,
    fileSize,
    bitsPerWeight: parameterCount > 0 ? (weightBytes * 8) / parameterCount : 0,
    quantMix: [...mix.values()].sort((a, b) => b.bytes - a.bytes),
    bytesByLayer: [...layers.entries()].sort((a, b) => order(a[0]) - order(b[0])).map(([layer, bytes]) => ({ layer, bytes })),
  };
}
