// Encoders of the 32-value block formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0, value for value as ggml's reference
// quantizers (quantize_row_*_ref, used by llama-quantize without an importance matrix) compute them. Every f32
// operation of the C code is rounded with fround in the same order. The layouts are described in dequant-legacy.ts.

import { f32ToF16 } from './fp16';
import type { RowEncoder } from './quantize';
import { GgmlType } from './types';

const fround = Math.fround;

/** Stores a value as little-endian f16 bits, rounded as ggml rounds. */
export function putF16(dst: Uint8Array, o: number, value: number): void {
  const h = f32ToF16(value);
  dst[o] = h & 0xff;
  dst[o + 1] = h >> 8;
}

/**
 * C's float → integer conversion as x86 does it (cvttss2si): truncation toward zero, and INT_MIN for NaN or values
 * beyond int32 (only reachable with subnormal block scales, whose reciprocal overflows).
 */
function truncToInt32(v: number): number {
  return v > -2147483649 && v < 2147483648 ? Math.trunc(v) : -2147483648;
}

/** (int8_t)(float) in C: the low byte of the int32 conversion, signed. */
function toInt8(v: number): number {
  return (truncToInt32(v) << 24) >> 24;
}

/** roundf: to nearest, halfway cases away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/** The value of largest magnitude in a block (the first one on ties), keeping its sign. */
function signedAbsMax(src: Float32Array, xo: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = src[xo + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/** Q4_0, 18 bytes: f16 d, then 16 bytes of nibbles (value j low, value j+16 high); value = d·(code − 8). */
const encodeQ4_0: RowEncoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const xo = b * 32;
    const o = b * 18;
    // The extreme value maps to code 0 exactly (−8·d), so the other side gets the full +7.
    const d = fround(signedAbsMax(src, xo) / -8);
    const id = d ? fround(1 / d) : 0;
    putF16(dst, o, d);
    for (let j = 0; j < 16; j++) {
      const c0 = Math.min(15, toInt8(fround(fround(src[xo + j]! * id) + 8.5)));
      const c1 = Math.min(15, toInt8(fround(fround(src[xo + j + 16]! * id) + 8.5)));
      dst[o + 2 + j] = c0 | (c1 << 4);
    }
  }
};

/** Min and max of a block. */
function blockRange(src: Float32Array, xo: number): [min: number, max: number] {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < 32; j++) {
    const v = src[xo + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Q4_1, 20 bytes: f16 d, f16 m (the block min), 16 bytes of nibbles; value = d·code + m. */
const encodeQ4_1: RowEncoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const xo = b * 32;
    const o = b * 20;
    const [min, max] = blockRange(src, xo);
    const d = fround(fround(max - min) / 15);
    const id = d ? fround(1 / d) : 0;
    putF16(dst, o, d);
    putF16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const c0 = Math.min(15, toInt8(fround(fround(fround(src[xo + j]! - min) * id) + 0.5)));
      const c1 = Math.min(15, toInt8(fround(fround(fround(src[xo + j + 16]! - min) * id) + 0.5)));
      dst[o + 4 + j] = c0 | (c1 << 4);
    }
  }
};

/**
 * Stores 32 five-bit codes as Q5_0/Q5_1 do: low nibbles like Q4_0 at `qsAt`, and the fifth bits as a little-endian
 * u32 at `qhAt` (bit j for value j).
 */
function putFiveBitCodes(fiveBit: Uint8Array, dst: Uint8Array, qhAt: number, qsAt: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const c0 = fiveBit[j]!;
    const c1 = fiveBit[j + 16]!;
    dst[qsAt + j] = (c0 & 0xf) | ((c1 & 0xf) << 4);
    qh |= ((c0 & 0x10) >> 4) << j;
    qh |= ((c1 & 0x10) >> 4) << (j + 16);
  }
  dst[qhAt] = qh & 0xff;
  dst[qhAt + 1] = (qh >>> 8) & 0xff;
  dst[qhAt + 2] = (qh >>> 16) & 0xff;
  dst[qhAt + 3] = qh >>> 24;
}

const fiveBitCodes = new Uint8Array(32);

/** Q5_0, 22 bytes: f16 d, u32 of fifth bits, 16 bytes of nibbles; value = d·(code − 16). */
const encodeQ5_0: RowEncoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const xo = b * 32;
    const o = b * 22;
    const d = fround(signedAbsMax(src, xo) / -16);
    const id = d ? fround(1 / d) : 0;
    putF16(dst, o, d);
    for (let j = 0; j < 32; j++) fiveBitCodes[j] = Math.min(31, toInt8(fround(fround(src[xo + j]! * id) + 16.5)));
    putFiveBitCodes(fiveBitCodes, dst, o + 2, o + 6);
  }
};

/** Q5_1, 24 bytes: f16 d, f16 m, u32 of fifth bits, 16 bytes of nibbles; value = d·code + m. */
const encodeQ5_1: RowEncoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const xo = b * 32;
    const o = b * 24;
    const [min, max] = blockRange(src, xo);
    const d = fround(fround(max - min) / 31);
    const id = d ? fround(1 / d) : 0;
    putF16(dst, o, d);
    putF16(dst, o + 2, min);
    // (uint8_t) in C: the low byte of the truncated value, no clamp (the codes cannot exceed 31).
    for (let j = 0; j < 32; j++) fiveBitCodes[j] = truncToInt32(fround(fround(fround(src[xo + j]! - min) * id) + 0.5)) & 0xff;
    putFiveBitCodes(fiveBitCodes, dst, o + 4, o + 8);
  }
};

/** Q8_0, 34 bytes: f16 d, 32 int8 codes; value = d·code. */
const encodeQ8_0: RowEncoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const xo = b * 32;
    const o = b * 34;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[xo + j]!));
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    putF16(dst, o, d);
    for (let j = 0; j < 32; j++) dst[o + 2 + j] = toInt8(roundHalfAway(fround(src[xo + j]! * id))) & 0xff;
  }
};

export const LEGACY_ENCODERS: ReadonlyMap<number, RowEncoder> = new Map([
  [GgmlType.Q4_0, encodeQ4_0],
  [GgmlType.Q4_1, encodeQ4_1],
  [GgmlType.Q5_0, encodeQ5_0],
  [GgmlType.Q5_1, encodeQ5_1],
  [GgmlType.Q8_0, encodeQ8_0],
]);
