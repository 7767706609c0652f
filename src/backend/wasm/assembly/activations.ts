// Activation rows prepared for a matmul, once per matmul, in the form the
// weight type's dot product wants — the same rounding llama.cpp's CPU backend
// applies, so our integer dot products see the same integers:
//   32-element weight blocks: Q8 blocks (Q8_0 quantization, with Q8_1's sum);
//   256-element K-quant blocks: Q8_K blocks;
//   F16 / BF16 weights: the activations rounded to that precision (kept as f32).
// These are internal layouts, not GGUF's: scales are f32 and sums precomputed.

import { ONES_I8, ROUNDING_SHIFT } from './constants';
import { dotQuadsUnsigned, f32ToBf16, roundToF16, roundToF16x4, sumI32x4 } from './simd';

/**
 * Q8 block of 32: qs[32] at 0, d (f16-rounded) at 32, s = f16(d·Σqs) at 36, 8·Σqs (i32, what
 * Q4_0's offsets of −8 take off each row of a group of 4) at Q8_SUM_TIMES_8, 4 bytes unused, and 16 ×
 * the sum of each 4 qs (i32[8], for the codes stored with an offset: see addProducts) at Q8_QUAD_SUMS.
 */
export const Q8_BLOCK_BYTES: i32 = 80;
export const Q8_SUM_TIMES_8: i32 = 40;
export const Q8_QUAD_SUMS: i32 = 48;
/** Q8_K block of 256: qs[256] at 0, the sums of each 16 (i16[16], within ±16·127) at Q8K_SUMS, d at Q8K_SCALE. */
export const Q8K_BLOCK_BYTES: i32 = 304;
export const Q8K_SUMS: i32 = 256;
export const Q8K_SCALE: i32 = 288;

/** Quantizes one row of n floats (n a multiple of 32) to Q8 blocks, as ggml's x86 quantize_row_q8_0/q8_1 do. */
export function quantizeRowQ8(x: usize, out: usize, n: i32): void {
  for (let b = 0; b < n; b += 32) {
    // The largest magnitude, NaN if there is a NaN (as the scalar max): pmax and a NaN test take V8 3
    // instructions, where f32x4.max, which also orders −0 and +0, takes 7.
    let largest = f32x4.splat(0);
    let nans = f32x4.splat(0);
    for (let i: usize = 0; i < 128; i += 16) {
      const v = v128.load(x + i);
      largest = f32x4.pmax(largest, f32x4.abs(v));
      nans = v128.or(nans, f32x4.ne(v, v));
    }
    const amax: f32 = v128.any_true(nans) ? NaN : lanesMax(largest);
    const d: f32 = amax / 127;
    const id = f32x4.splat(amax != 0 ? <f32>127 / amax : 0);
    const sums = i32x4.add(quantizeBytes(x, out, id, false), quantizeBytes(x + 64, out + 16, id, false));
    const sum = sumI32x4(sums);
    // d and d·Σ through f16 together.
    const rounded = roundToF16x4(f32x4.replace_lane(f32x4.splat(d), 1, d * <f32>sum));
    v128.store64_lane(out + 32, rounded, 0);
    store<i32>(out + Q8_SUM_TIMES_8, sum << 3);
    v128.store(out + Q8_QUAD_SUMS, i32x4.shl(dotQuadsUnsigned(v128.load(out), ONES_I8), 4));
    v128.store(out + Q8_QUAD_SUMS, i32x4.shl(dotQuadsUnsigned(v128.load(out, 16), ONES_I8), 4), 16);
    x += 128;
    out += Q8_BLOCK_BYTES;
  }
}

/**
 * The 16 floats at x times `scale` (products within ±128), rounded to the nearest integer (ties
 * to even) as bytes at out, at most 127 where `capped`; returns their sum in 4 lanes.
 */
@inline
function quantizeBytes(x: usize, out: usize, scale: v128, capped: bool): v128 {
  let q0 = nearestSmallInts(f32x4.mul(v128.load(x), scale));
  let q1 = nearestSmallInts(f32x4.mul(v128.load(x, 16), scale));
  let q2 = nearestSmallInts(f32x4.mul(v128.load(x, 32), scale));
  let q3 = nearestSmallInts(f32x4.mul(v128.load(x, 48), scale));
  if (capped) {
    const most = i32x4.splat(127);
    q0 = i32x4.min_s(q0, most);
    q1 = i32x4.min_s(q1, most);
    q2 = i32x4.min_s(q2, most);
    q3 = i32x4.min_s(q3, most);
  }
  v128.store(out, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
  return i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3));
}

/** The largest of 4 lanes that hold no NaN. */
@inline
function lanesMax(v: v128): f32 {
  const pairs = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(pairs, v128.shuffle<f32>(pairs, pairs, 1, 0, 3, 2)), 0);
}

/**
 * Each lane rounded to the nearest integer (ties to even), as i32, for |x| < 2^22: adding
 * 1.5·2^23 rounds away the fraction and leaves the integer in the low bits (ggml's nearest_int;
 * wasm's float-to-int conversion costs V8 several instructions for its range checks).
 */
@inline
function nearestSmallInts(x: v128): v128 {
  return i32x4.sub(f32x4.add(x, ROUNDING_SHIFT), ROUNDING_SHIFT);
}

/** Quantizes one row of n floats (n a multiple of 256) to Q8_K blocks, as ggml's quantize_row_q8_K does. */
export function quantizeRowQ8K(x: usize, out: usize, n: i32): void {
  for (let b = 0; b < n; b += 256) {
    // The largest magnitude, NaNs passed over (pmax keeps its first operand unless the second is larger).
    let largest = f32x4.splat(0);
    for (let i: usize = 0; i < 1024; i += 16) largest = f32x4.pmax(largest, f32x4.abs(v128.load(x + i)));
    const amax = lanesMax(largest);
    if (amax == 0) {
      memory.fill(out, 0, Q8K_BLOCK_BYTES);
    } else {
      // Its sign from the first value of that magnitude.
      const target = f32x4.splat(amax);
      let at: usize = 0;
      while (!v128.any_true(f32x4.eq(f32x4.abs(v128.load(x + at)), target))) at += 16;
      const lane = ctz(i32x4.bitmask(f32x4.eq(f32x4.abs(v128.load(x + at)), target)));
      const iscale: f32 = <f32>-127 / load<f32>(x + at + (<usize>lane << 2));
      const scale = f32x4.splat(iscale);
      for (let g = 0; g < 16; g++) {
        const sums = quantizeBytes(x + (<usize>g << 6), out + (<usize>g << 4), scale, true);
        store<i16>(out + Q8K_SUMS + (<usize>g << 1), <i16>sumI32x4(sums));
      }
      store<f32>(out + Q8K_SCALE, <f32>1 / iscale);
    }
    x += 1024;
    out += Q8K_BLOCK_BYTES;
  }
}

/** out[i] = x[i] rounded through f16 (out may be x). */
export function roundRowF16(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), roundToF16x4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), roundToF16(load<f32>(x + (<usize>i << 2))));
}

/** out[i] = x[i] rounded through bf16. */
export function roundRowBf16(x: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<u32>(out + (<usize>i << 2), f32ToBf16(load<f32>(x + (<usize>i << 2))) << 16);
  }
}
