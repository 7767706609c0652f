// Pieces shared by the per-family block decoders (dequant-*.ts).
//
// Exactness: ggml's reference decoders compute in f32, and every f32 operation rounds. JavaScript computes in f64,
// so each intermediate result that C would round goes through Math.fround; the last rounding happens when the value
// is stored into the Float32Array.

import { f16ToF32 } from './fp16';

/**
 * Decodes `blocks` whole blocks: reads src from byte 0 (src may be an unaligned view) and writes dst from element 0.
 * The caller has checked that src and dst are long enough.
 */
export type RowDecoder = (src: Uint8Array, dst: Float32Array, blocks: number) => void;

let f16Table: Float32Array | undefined;

/** Every f16 bit pattern's f32 value (256 KiB, built on first use): decoding an f16 becomes one lookup. */
export function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

/** Little-endian u16 at byte `o`. */
export function u16At(src: Uint8Array, o: number): number {
  return src[o]! | (src[o + 1]! << 8);
}

/** Little-endian u32 at byte `o`. */
export function u32At(src: Uint8Array, o: number): number {
  return (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
}

/** Byte `o` as a signed int8. */
export function i8At(src: Uint8Array, o: number): number {
  return (src[o]! << 24) >> 24;
}

export const fround = Math.fround;
