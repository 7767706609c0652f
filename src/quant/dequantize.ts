// Dequantization to f32 of every GGML tensor type that GGUF files use, value for value as llama.cpp's reference
// decoders (ggml's dequantize_row_*) compute it. The block formats live in dequant-legacy.ts (Q4_0 … Q8_1),
// dequant-k.ts (k-quants) and dequant-iq.ts (i-quants, ternary and FP4 formats); plain numbers are converted here.
// A type without a decoder throws UnsupportedTypeError: it is never decoded wrongly.

import { halfTable, type RowDecoder } from './dequant-common';
import { IQ_DECODERS } from './dequant-iq';
import { K_DECODERS } from './dequant-k';
import { LEGACY_DECODERS } from './dequant-legacy';
import { UnsupportedTypeError } from './errors';
import { GgmlType, type GgmlTypeTraits } from './types';

/** F32: the bytes are already the values (hosts, like GGUF, are little-endian); a byte copy keeps NaN payloads. */
const copyF32: RowDecoder = (src, dst, count) => {
  new Uint8Array(dst.buffer, dst.byteOffset, count * 4).set(src.subarray(0, count * 4));
};

const decodeF16: RowDecoder = (src, dst, count) => {
  const half = halfTable();
  for (let i = 0; i < count; i++) dst[i] = half[src[2 * i]! | (src[2 * i + 1]! << 8)]!;
};

/** BF16 is the top half of an f32: written as bits, so every value (NaNs included) converts exactly. */
const decodeBF16: RowDecoder = (src, dst, count) => {
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, count);
  for (let i = 0; i < count; i++) bits[i] = ((src[2 * i]! | (src[2 * i + 1]! << 8)) << 16) >>> 0;
};

/** I8, I16, I32, F64: read each value with a DataView and round it to the nearest f32. */
function viewDecoder(bytes: number, read: (view: DataView, offset: number) => number): RowDecoder {
  return (src, dst, count) => {
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let i = 0; i < count; i++) dst[i] = read(view, i * bytes);
  };
}

const DECODERS: ReadonlyMap<number, RowDecoder> = new Map([
  [GgmlType.F32, copyF32],
  [GgmlType.F16, decodeF16],
  [GgmlType.BF16, decodeBF16],
  [GgmlType.F64, viewDecoder(8, (v, o) => v.getFloat64(o, true))],
  [GgmlType.I8, viewDecoder(1, (v, o) => v.getInt8(o))],
  [GgmlType.I16, viewDecoder(2, (v, o) => v.getInt16(o, true))],
  [GgmlType.I32, viewDecoder(4, (v, o) => v.getInt32(o, true))],
  ...LEGACY_DECODERS,
  ...K_DECODERS,
  ...IQ_DECODERS,
]);

/** Whether dequantizeRow supports a type. */
export function canDequantize(type: GgmlTypeTraits): boolean {
  return DECODERS.has(type.id);
}

/** Decodes `dst.length` values (a whole number of blocks) of `type` from `src` (the packed bytes, starting at a block boundary). */
export function dequantizeRow(type: GgmlTypeTraits, src: Uint8Array, dst: Float32Array): void {
  const decode = DECODERS.get(type.id);
  if (!decode) throw new UnsupportedTypeError(type.name, 'dequantize');
  if (dst.length % type.blockSize !== 0) {
    throw new RangeError(`${dst.length} values is not a whole number of ${type.name} blocks of ${type.blockSize}`);
  }
  const blocks = dst.length / type.blockSize;
  const needed = blocks * type.bytesPerBlock;
  if (src.length < needed) {
    throw new RangeError(`${type.name}: ${dst.length} values need ${needed} bytes, got ${src.length}`);
  }
  decode(src, dst, blocks);
}

/** Convenience: whole tensor bytes -> Float32Array of `elements` values. */
export function dequantize(type: GgmlTypeTraits, src: Uint8Array, elements: number): Float32Array {
  const dst = new Float32Array(elements);
  dequantizeRow(type, src, dst);
  return dst;
}
