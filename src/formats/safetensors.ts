// Safetensors reader and writer.
//
// Layout: u64 little-endian header length N, N bytes of JSON
// ({"__metadata__": {..strings..}, "name": {"dtype", "shape", "data_offsets": [begin, end]}, ...}),
// then the data section that data_offsets are relative to. The reader reads
// only the header; tensor bytes are sliced from the Blob on demand.

import { FormatError } from './errors';
import type { ByteSink } from './sink';

/** Largest header we accept: real ones are kilobytes; 100 MB means a broken or hostile file. */
export const SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024;

/** Bytes per element of each safetensors dtype. */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  /** Row-major, outermost dimension first (as safetensors and PyTorch order it). */
  shape: number[];
  elements: number;
  /** Absolute byte offset in the file. */
  offset: number;
  bytes: number;
}

export interface SafetensorsFile {
  format: 'safetensors';
  headerSize: number;
  metadata: Record<string, string>;
  /** Tensors in header order. */
  tensors: SafetensorsTensorInfo[];
  dataOffset: number;
  fileSize: number;
}

/** Reads and validates the header of a safetensors file. Throws FormatError for anything malformed. */
export async function readSafetensors(blob: Blob): Promise<SafetensorsFile> {
  if (blob.size < 8) throw new FormatError('header length', 0, `file is ${blob.size} bytes, shorter than the 8-byte header length`);
  const headerSize = new DataView(await blob.slice(0, 8).arrayBuffer()).getBigUint64(0, true);
  if (headerSize > BigInt(SAFETENSORS_MAX_HEADER)) {
    throw new FormatError('header length', 0, `header of ${headerSize} bytes is larger than the 100 MB limit`);
  }
  const n = Number(headerSize);
  if (8 + n > blob.size) throw new FormatError('header', 8, `header of ${n} bytes runs past the end of the ${blob.size}-byte file`);

  const text = new TextDecoder().decode(await blob.slice(8, 8 + n).arrayBuffer());
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new FormatError('header', 8, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new FormatError('header', 8, 'JSON header must be an object');
  }

  const dataOffset = 8 + n;
  const dataSize = blob.size - dataOffset;
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(entry);
      continue;
    }
    const info = parseTensorEntry(name, entry, dataOffset);
    tensors.push(info);
    ranges.push({ name, begin: info.offset - dataOffset, end: info.offset - dataOffset + info.bytes });
  }
  checkCoverage(ranges, dataSize, dataOffset);
  return { format: 'safetensors', headerSize: n, metadata, tensors, dataOffset, fileSize: blob.size };
}

function parseMetadata(entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new FormatError('__metadata__', 8, 'must be an object of strings');
  }
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') throw new FormatError(`__metadata__.${k}`, 8, 'metadata values must be strings');
  }
  return entry as Record<string, string>;
}

function parseTensorEntry(name: string, entry: unknown, dataOffset: number): SafetensorsTensorInfo {
  const field = `tensor "${name}"`;
  if (typeof entry !== 'object' || entry === null) throw new FormatError(field, 8, 'entry must be an object');
  const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPE_SIZE)) {
    throw new FormatError(`${field} dtype`, 8, `unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(`${field} shape`, 8, `shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw new FormatError(`${field} data_offsets`, 8, `must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`);
  }
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  const bytes = elements * SAFETENSORS_DTYPE_SIZE[dtype]!;
  const [begin, end] = offsets as [number, number];
  if (end - begin !== bytes) {
    throw new FormatError(`${field} data_offsets`, dataOffset + begin, `spans ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${bytes}`);
  }
  return { name, dtype, shape: shape as number[], elements, offset: dataOffset + begin, bytes };
}

/** The tensors must tile the data section exactly: no gap, no overlap, nothing past the end. */
function checkCoverage(ranges: { name: string; begin: number; end: number }[], dataSize: number, dataOffset: number): void {
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const r of ranges) {
    if (r.begin < expected) throw new FormatError(`tensor "${r.name}" data_offsets`, dataOffset + r.begin, 'overlaps the previous tensor');
    if (r.begin > expected) throw new FormatError(`tensor "${r.name}" data_offsets`, dataOffset + r.begin, `leaves a gap of ${r.begin - expected} bytes before it`);
    expected = r.end;
  }
  if (expected !== dataSize) {
    throw new FormatError('data section', dataOffset + expected, expected > dataSize
      ? `tensors need ${expected} bytes but the data section has ${dataSize}`
      : `${dataSize - expected} bytes after the last tensor are not covered by any tensor`);
  }
}

export interface SafetensorsTensorToWrite {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array | (() => Promise<Uint8Array> | Uint8Array);
}

/**
 * Streams a safetensors file: the JSON header (tensors in the given order, field order
 * dtype/shape/data_offsets, padded with spaces to 8 bytes as the reference writer does),
 * then each tensor's bytes.
 */
export async function writeSafetensors(sink: ByteSink, tensors: SafetensorsTensorToWrite[], metadata?: Record<string, string>): Promise<number> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const size = SAFETENSORS_DTYPE_SIZE[t.dtype];
    if (size === undefined) throw new TypeError(`unknown safetensors dtype ${t.dtype}`);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * size;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    sizes.push(bytes);
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  await sink.write(prefix);
  await sink.write(jsonBytes);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    const data = typeof t.data === 'function' ? await t.data() : t.data;
    if (data.length !== sizes[i]) throw new RangeError(`tensor "${t.name}": got ${data.length} bytes, expected ${sizes[i]}`);
    await sink.write(data);
  }
  return 8 + jsonBytes.length + offset;
}
