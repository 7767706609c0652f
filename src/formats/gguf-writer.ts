// GGUF writer. Builds the header in memory, then streams tensor data to the
// sink one tensor at a time, padding each to the alignment as llama.cpp does,
// so that output memory stays near the size of the largest tensor.

import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, alignUp, type GgufArray, type GgufKV, type GgufScalar } from './gguf';
import type { ByteSink } from './sink';
import { tensorBytes, type GgmlTypeTraits } from '../quant/types';

export interface GgufTensorToWrite {
  name: string;
  shape: number[];
  type: GgmlTypeTraits;
  /** Produces the tensor's bytes when the writer reaches it. */
  data: () => Promise<Uint8Array> | Uint8Array;
}

export interface GgufToWrite {
  version?: 2 | 3;
  kv: GgufKV[];
  tensors: GgufTensorToWrite[];
}

/** Little-endian byte builder that grows as needed. */
class ByteBuilder {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private static readonly utf8 = new TextEncoder();

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // reserve() may swap the buffer, so take the offset before touching the view.
  u8(v: number) { const at = this.reserve(1); this.view.setUint8(at, v); }
  i8(v: number) { const at = this.reserve(1); this.view.setInt8(at, v); }
  u16(v: number) { const at = this.reserve(2); this.view.setUint16(at, v, true); }
  i16(v: number) { const at = this.reserve(2); this.view.setInt16(at, v, true); }
  u32(v: number) { const at = this.reserve(4); this.view.setUint32(at, v, true); }
  i32(v: number) { const at = this.reserve(4); this.view.setInt32(at, v, true); }
  f32(v: number) { const at = this.reserve(4); this.view.setFloat32(at, v, true); }
  f64(v: number) { const at = this.reserve(8); this.view.setFloat64(at, v, true); }
  u64(v: bigint | number) { const at = this.reserve(8); this.view.setBigUint64(at, BigInt(v), true); }
  i64(v: bigint | number) { const at = this.reserve(8); this.view.setBigInt64(at, BigInt(v), true); }
  raw(bytes: Uint8Array) { const at = this.reserve(bytes.length); this.buf.set(bytes, at); }
  string(s: string) {
    const bytes = ByteBuilder.utf8.encode(s);
    this.u64(bytes.length);
    this.raw(bytes);
  }
  zeros(n: number) { const at = this.reserve(n); this.buf.fill(0, at, this.length); }
  bytes(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeScalar(b: ByteBuilder, type: GgufValueType, v: GgufScalar): void {
  switch (type) {
    case GgufValueType.U8: return b.u8(v as number);
    case GgufValueType.I8: return b.i8(v as number);
    case GgufValueType.U16: return b.u16(v as number);
    case GgufValueType.I16: return b.i16(v as number);
    case GgufValueType.U32: return b.u32(v as number);
    case GgufValueType.I32: return b.i32(v as number);
    case GgufValueType.F32: return b.f32(v as number);
    case GgufValueType.BOOL: return b.u8(v ? 1 : 0);
    case GgufValueType.STRING: return b.string(v as string);
    case GgufValueType.U64: return b.u64(v as bigint);
    case GgufValueType.I64: return b.i64(v as bigint);
    case GgufValueType.F64: return b.f64(v as number);
    default: throw new TypeError(`cannot write value type ${type} as a scalar`);
  }
}

function writeArray(b: ByteBuilder, arr: GgufArray): void {
  b.u32(arr.itemType);
  b.u64(arr.items.length);
  const items = arr.items;
  if (ArrayBuffer.isView(items)) {
    // Typed arrays are already little-endian on every platform this runs on.
    b.raw(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
    return;
  }
  for (const item of items as (GgufScalar | GgufArray)[]) {
    if (arr.itemType === GgufValueType.ARRAY) writeArray(b, item as GgufArray);
    else writeScalar(b, arr.itemType, item as GgufScalar);
  }
}

function alignmentOf(kv: GgufKV[]): number {
  const a = kv.find((e) => e.key === 'general.alignment')?.value;
  return typeof a === 'number' ? a : GGUF_DEFAULT_ALIGNMENT;
}

/** Streams a GGUF file to the sink. Returns the number of bytes written. */
export async function writeGguf(sink: ByteSink, file: GgufToWrite): Promise<number> {
  const alignment = alignmentOf(file.kv);
  const header = new ByteBuilder();
  header.u32(GGUF_MAGIC);
  header.u32(file.version ?? 3);
  header.u64(file.tensors.length);
  header.u64(file.kv.length);
  for (const { key, type, value } of file.kv) {
    header.string(key);
    header.u32(type);
    if (type === GgufValueType.ARRAY) writeArray(header, value as GgufArray);
    else writeScalar(header, type, value as GgufScalar);
  }

  const sizes = file.tensors.map((t) => tensorBytes(t.type, t.shape.reduce((a, b) => a * b, 1)));
  let offset = 0;
  file.tensors.forEach((t, i) => {
    header.string(t.name);
    header.u32(t.shape.length);
    for (const ne of t.shape) header.u64(ne);
    header.u32(t.type.id);
    header.u64(offset);
    offset += alignUp(sizes[i]!, alignment);
  });
  // A file without tensors has no data section, and its writers add no padding.
  if (file.tensors.length > 0) header.zeros(alignUp(header.length, alignment) - header.length);
  await sink.write(header.bytes());

  let written = header.length;
  for (let i = 0; i < file.tensors.length; i++) {
    const t = file.tensors[i]!;
    const data = await t.data();
    if (data.length !== sizes[i]) {
      throw new RangeError(`tensor "${t.name}": got ${data.length} bytes, expected ${sizes[i]} for ${t.type.name} ${t.shape.join('x')}`);
    }
    await sink.write(data);
    const pad = alignUp(data.length, alignment) - data.length;
    if (pad > 0) await sink.write(new Uint8Array(pad));
    written += data.length + pad;
  }
  return written;
}
