// GGUF reader. Reads only the header (metadata and tensor infos) from a Blob;
// tensor data is sliced from the Blob on demand, so a 10 GB file never sits
// in memory. Every inconsistency is a FormatError naming the field and offset.
//
// Layout (v2/v3, little-endian): magic "GGUF", u32 version, u64 tensor count,
// u64 metadata count, metadata key/values, tensor infos, padding to the
// alignment, then the data section that tensor offsets are relative to.

import { BlobCursor } from './blob-cursor';
import { FormatError } from './errors';
import { ggmlTypeById, tensorBytes, type GgmlTypeTraits } from '../quant/types';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml tensors have at most 4 dimensions. */
export const GGML_MAX_DIMS = 4;

export enum GgufValueType {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
}

export type GgufScalar = number | bigint | boolean | string;

/** An array value. Numeric arrays are typed arrays so vocabularies stay compact. */
export interface GgufArray {
  itemType: GgufValueType;
  items: GgufArrayItems;
}
export type GgufArrayItems =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigUint64Array | BigInt64Array
  | boolean[] | string[] | GgufArray[];

export interface GgufKV {
  key: string;
  type: GgufValueType;
  value: GgufScalar | GgufArray;
}

export interface GgufTensorInfo {
  name: string;
  /** GGML order: ne[0] (the fastest-varying, row length) first. */
  shape: number[];
  type: GgmlTypeTraits;
  /** Offset relative to the start of the data section, as stored in the file. */
  relativeOffset: number;
  /** Absolute byte offset in the file. */
  offset: number;
  elements: number;
  bytes: number;
}

export interface GgufFile {
  format: 'gguf';
  version: number;
  alignment: number;
  /** Metadata in file order. */
  kv: GgufKV[];
  tensors: GgufTensorInfo[];
  /** Absolute offset of the data section. */
  dataOffset: number;
  fileSize: number;
}

/** Fixed-size value types: bytes per item. */
const SCALAR_SIZE: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.U8]: 1, [GgufValueType.I8]: 1, [GgufValueType.BOOL]: 1,
  [GgufValueType.U16]: 2, [GgufValueType.I16]: 2,
  [GgufValueType.U32]: 4, [GgufValueType.I32]: 4, [GgufValueType.F32]: 4,
  [GgufValueType.U64]: 8, [GgufValueType.I64]: 8, [GgufValueType.F64]: 8,
};

/** The fewest bytes one item of a type can take: used to reject absurd counts before allocating. */
function minItemBytes(t: GgufValueType): number {
  if (t === GgufValueType.STRING) return 8;
  if (t === GgufValueType.ARRAY) return 12;
  return SCALAR_SIZE[t] ?? 1;
}

function isValueType(t: number): t is GgufValueType {
  return Number.isInteger(t) && t >= 0 && t <= 12;
}

async function readScalar(cur: BlobCursor, type: GgufValueType, field: string): Promise<GgufScalar> {
  switch (type) {
    case GgufValueType.U8: return cur.u8(field);
    case GgufValueType.I8: return cur.i8(field);
    case GgufValueType.U16: return cur.u16(field);
    case GgufValueType.I16: return cur.i16(field);
    case GgufValueType.U32: return cur.u32(field);
    case GgufValueType.I32: return cur.i32(field);
    case GgufValueType.F32: return cur.f32(field);
    case GgufValueType.BOOL: {
      const at = cur.pos;
      const b = await cur.u8(field);
      if (b > 1) throw new FormatError(field, at, `bool must be 0 or 1, found ${b}`);
      return b === 1;
    }
    case GgufValueType.STRING: return cur.string(field);
    case GgufValueType.U64: return cur.u64(field);
    case GgufValueType.I64: return cur.i64(field);
    case GgufValueType.F64: return cur.f64(field);
    default: throw new FormatError(field, cur.pos, `not a scalar type: ${type}`);
  }
}

function typedArrayFor(type: GgufValueType, bytes: Uint8Array, n: number): GgufArrayItems {
  // Copy to an aligned buffer: the bytes may sit at any offset of the read window.
  const buf = bytes.slice().buffer;
  switch (type) {
    case GgufValueType.U8: return new Uint8Array(buf, 0, n);
    case GgufValueType.I8: return new Int8Array(buf, 0, n);
    case GgufValueType.U16: return new Uint16Array(buf, 0, n);
    case GgufValueType.I16: return new Int16Array(buf, 0, n);
    case GgufValueType.U32: return new Uint32Array(buf, 0, n);
    case GgufValueType.I32: return new Int32Array(buf, 0, n);
    case GgufValueType.F32: return new Float32Array(buf, 0, n);
    case GgufValueType.F64: return new Float64Array(buf, 0, n);
    case GgufValueType.U64: return new BigUint64Array(buf, 0, n);
    case GgufValueType.I64: return new BigInt64Array(buf, 0, n);
    default: throw new Error(`no typed array for ${type}`);
  }
}

async function readArray(cur: BlobCursor, field: string): Promise<GgufArray> {
  const typeAt = cur.pos;
  const itemType = await cur.u32(`${field} item type`);
  if (!isValueType(itemType)) throw new FormatError(`${field} item type`, typeAt, `unknown value type ${itemType}`);
  const n = await cur.count(`${field} length`, Math.floor(cur.remaining / minItemBytes(itemType)));
  const size = SCALAR_SIZE[itemType];
  if (itemType === GgufValueType.BOOL) {
    const raw = await cur.bytes(n, field);
    const items: boolean[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (raw[i]! > 1) throw new FormatError(field, cur.pos - n + i, `bool must be 0 or 1, found ${raw[i]}`);
      items[i] = raw[i] === 1;
    }
    return { itemType, items };
  }
  if (size !== undefined) {
    return { itemType, items: typedArrayFor(itemType, await cur.bytes(n * size, field), n) };
  }
  if (itemType === GgufValueType.STRING) {
    const items: string[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = await cur.string(field);
    return { itemType, items };
  }
  const items: GgufArray[] = new Array(n);
  for (let i = 0; i < n; i++) items[i] = await readArray(cur, field);
  return { itemType, items };
}

/** Reads the header of a GGUF file. Throws FormatError for anything malformed. */
export async function readGguf(blob: Blob): Promise<GgufFile> {
  const cur = new BlobCursor(blob);
  const magic = await cur.u32('magic');
  if (magic !== GGUF_MAGIC) {
    throw new FormatError('magic', 0, `expected "GGUF", found 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const version = await cur.u32('version');
  if (version > 0xffff && [2, 3].includes(byteSwap32(version))) {
    throw new FormatError('version', 4, `big-endian GGUF (version ${byteSwap32(version)}) is not supported; convert it to little-endian`);
  }
  if (version === 1) throw new FormatError('version', 4, 'GGUF v1 is obsolete and not supported (v2 and v3 are)');
  if (version !== 2 && version !== 3) throw new FormatError('version', 4, `unsupported GGUF version ${version}`);

  // Each tensor info takes at least 32 bytes and each key/value at least 13, which bounds the counts.
  const tensorCount = await cur.count('tensor count', Math.floor(cur.remaining / 32));
  const kvCount = await cur.count('metadata count', Math.floor(cur.remaining / 13));

  const kv: GgufKV[] = [];
  const seenKeys = new Set<string>();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = cur.pos;
    const key = await cur.string(`metadata[${i}] key`);
    if (seenKeys.has(key)) throw new FormatError(`metadata key "${key}"`, keyAt, 'duplicate key');
    seenKeys.add(key);
    const typeAt = cur.pos;
    const type = await cur.u32(`metadata "${key}" type`);
    if (!isValueType(type)) throw new FormatError(`metadata "${key}" type`, typeAt, `unknown value type ${type}`);
    const value = type === GgufValueType.ARRAY ? await readArray(cur, `metadata "${key}"`) : await readScalar(cur, type, `metadata "${key}"`);
    kv.push({ key, type, value });
  }

  const alignment = alignmentOf(kv);

  const tensors: GgufTensorInfo[] = [];
  const seenNames = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const nameAt = cur.pos;
    const name = await cur.string(`tensor[${i}] name`);
    if (seenNames.has(name)) throw new FormatError(`tensor "${name}"`, nameAt, 'duplicate tensor name');
    seenNames.add(name);
    const dimsAt = cur.pos;
    const nDims = await cur.u32(`tensor "${name}" dimension count`);
    if (nDims < 1 || nDims > GGML_MAX_DIMS) {
      throw new FormatError(`tensor "${name}" dimension count`, dimsAt, `${nDims} dimensions (1 to ${GGML_MAX_DIMS} allowed)`);
    }
    const shape: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const dimAt = cur.pos;
      const ne = await cur.count(`tensor "${name}" ne[${d}]`, Number.MAX_SAFE_INTEGER);
      shape.push(ne);
      elements *= ne;
      if (elements > Number.MAX_SAFE_INTEGER) throw new FormatError(`tensor "${name}" shape`, dimAt, 'element count overflows');
    }
    const typeAt = cur.pos;
    const typeId = await cur.u32(`tensor "${name}" type`);
    const type = ggmlTypeById(typeId);
    if (!type) throw new FormatError(`tensor "${name}" type`, typeAt, `unknown GGML type id ${typeId}`);
    if (shape[0]! % type.blockSize !== 0) {
      throw new FormatError(`tensor "${name}" shape`, dimsAt, `row length ${shape[0]} is not a multiple of ${type.name}'s block size ${type.blockSize}`);
    }
    const offsetAt = cur.pos;
    const relativeOffset = await cur.count(`tensor "${name}" offset`, Number.MAX_SAFE_INTEGER);
    if (relativeOffset % alignment !== 0) {
      throw new FormatError(`tensor "${name}" offset`, offsetAt, `offset ${relativeOffset} is not a multiple of the alignment ${alignment}`);
    }
    tensors.push({ name, shape, type, relativeOffset, offset: 0, elements, bytes: tensorBytes(type, elements) });
  }

  const dataOffset = alignUp(cur.pos, alignment);
  const dataSize = blob.size - dataOffset;
  for (const t of tensors) t.offset = dataOffset + t.relativeOffset;
  checkTensorExtents(tensors, dataSize);

  return { format: 'gguf', version, alignment, kv, tensors, dataOffset, fileSize: blob.size };
}

function alignmentOf(kv: GgufKV[]): number {
  const entry = kv.find((e) => e.key === 'general.alignment');
  if (!entry) return GGUF_DEFAULT_ALIGNMENT;
  const a = entry.value;
  if (entry.type !== GgufValueType.U32 || typeof a !== 'number' || a === 0 || (a & (a - 1)) !== 0) {
    throw new FormatError('metadata "general.alignment"', 0, `must be a u32 power of two, found ${String(a)}`);
  }
  return a;
}

/** Every tensor must lie inside the data section and no two may overlap. */
function checkTensorExtents(tensors: GgufTensorInfo[], dataSize: number): void {
  const sorted = [...tensors].sort((a, b) => a.relativeOffset - b.relativeOffset);
  let prev: GgufTensorInfo | undefined;
  for (const t of sorted) {
    if (t.relativeOffset + t.bytes > dataSize) {
      throw new FormatError(`tensor "${t.name}" data`, t.offset, `needs ${t.bytes} bytes but the file ends ${Math.max(0, dataSize - t.relativeOffset)} bytes after its start`);
    }
    if (prev && prev.relativeOffset + prev.bytes > t.relativeOffset) {
      throw new FormatError(`tensor "${t.name}" data`, t.offset, `overlaps tensor "${prev.name}"`);
    }
    prev = t;
  }
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function byteSwap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** The raw bytes of one tensor, read from the Blob on demand. */
export async function readTensorBytes(blob: Blob, t: GgufTensorInfo): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(t.offset, t.offset + t.bytes).arrayBuffer());
}

// ---- metadata accessors -------------------------------------------------------

export function metaValue(file: { kv: GgufKV[] }, key: string): GgufScalar | GgufArray | undefined {
  return file.kv.find((e) => e.key === key)?.value;
}

/** A numeric metadata value as a JS number (u64 values converted), or undefined. */
export function metaNumber(file: { kv: GgufKV[] }, key: string): number | undefined {
  const v = metaValue(file, key);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

export function metaString(file: { kv: GgufKV[] }, key: string): string | undefined {
  const v = metaValue(file, key);
  return typeof v === 'string' ? v : undefined;
}

export function metaArray(file: { kv: GgufKV[] }, key: string): GgufArray | undefined {
  const v = metaValue(file, key);
  return typeof v === 'object' && v !== null && 'itemType' in v ? v : undefined;
}
