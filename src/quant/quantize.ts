// Quantization from f32 to GGML tensor types, byte for byte as llama-quantize writes them without an importance
// matrix (ggml's reference quantizers). The block formats live in quantize-legacy.ts (Q4_0 … Q8_0) and
// quantize-k.ts (k-quants); plain float conversions are here. A type without an encoder throws UnsupportedTypeError.

import { UnsupportedTypeError } from './errors';
import { f32ToBf16, f32ToF16 } from './fp16';
import { K_ENCODERS } from './quantize-k';
import { LEGACY_ENCODERS } from './quantize-legacy';
import { GgmlType, tensorBytes, type GgmlTypeTraits } from './types';

/** Encodes `blocks` whole blocks from src (from element 0) into dst (from byte 0); the caller has checked the sizes. */
export type RowEncoder = (src: Float32Array, dst: Uint8Array, blocks: number) => void;

/** Values that cannot be quantized as asked: NaN/Inf, or a row length the type's blocks do not divide. */
export class QuantizeInputError extends Error {
  override readonly name = 'QuantizeInputError';
  constructor(readonly tensorName: string | undefined, readonly reason: string) {
    super(`cannot quantize ${tensorName === undefined ? 'tensor' : `tensor ${tensorName}`}: ${reason}`);
  }
}

/** F32: the values' own bytes (hosts, like GGUF, are little-endian). */
const encodeF32: RowEncoder = (src, dst, count) => {
  dst.set(new Uint8Array(src.buffer, src.byteOffset, count * 4));
};

function halfEncoder(toBits: (value: number) => number): RowEncoder {
  return (src, dst, count) => {
    for (let i = 0; i < count; i++) {
      const h = toBits(src[i]!);
      dst[2 * i] = h & 0xff;
      dst[2 * i + 1] = h >> 8;
    }
  };
}

const ENCODERS: ReadonlyMap<number, RowEncoder> = new Map([
  [GgmlType.F32, encodeF32],
  [GgmlType.F16, halfEncoder(f32ToF16)],
  [GgmlType.BF16, halfEncoder(f32ToBf16)],
  ...LEGACY_ENCODERS,
  ...K_ENCODERS,
]);

/** Whether quantizeRow can encode a type. */
export function canQuantize(type: GgmlTypeTraits): boolean {
  return ENCODERS.has(type.id);
}

/** Encodes src (a whole number of blocks) as `type` into dst (exactly tensorBytes(type, src.length) bytes). */
export function quantizeRow(type: GgmlTypeTraits, src: Float32Array, dst: Uint8Array): void {
  const encode = ENCODERS.get(type.id);
  if (!encode) throw new UnsupportedTypeError(type.name, 'quantize');
  const bytes = tensorBytes(type, src.length); // throws RangeError for a partial block
  if (dst.length !== bytes) {
    throw new RangeError(`${src.length} values of ${type.name} take ${bytes} bytes, got a buffer of ${dst.length}`);
  }
  encode(src, dst, src.length / type.blockSize);
}

/**
 * Whole tensor: rows of `rowLength` values → packed bytes. Throws QuantizeInputError naming the tensor for NaN/Inf
 * input or a row length that is not a multiple of the block size.
 */
export function quantizeTensor(type: GgmlTypeTraits, src: Float32Array, rowLength: number, tensorName?: string): Uint8Array {
  if (!canQuantize(type)) throw new UnsupportedTypeError(type.name, 'quantize');
  if (!Number.isInteger(rowLength) || rowLength <= 0) {
    throw new QuantizeInputError(tensorName, `row length ${rowLength} is not a positive integer`);
  }
  if (rowLength % type.blockSize !== 0) {
    throw new QuantizeInputError(tensorName, `row length ${rowLength} is not a multiple of ${type.name}'s block size ${type.blockSize}`);
  }
  if (src.length % rowLength !== 0) {
    throw new QuantizeInputError(tensorName, `${src.length} values do not make whole rows of ${rowLength}`);
  }
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    // v - v is 0 for every finite number and NaN for NaN and ±Infinity: one cheap test per value.
    if (v - v !== 0) {
      const row = Math.floor(i / rowLength);
      throw new QuantizeInputError(tensorName, `value ${v} at row ${row}, column ${i - row * rowLength} is not finite`);
    }
  }
  const out = new Uint8Array(tensorBytes(type, src.length));
  quantizeRow(type, src, out);
  return out;
}
