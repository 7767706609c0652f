// SIMD pieces shared by the quantizers: block ranges and C's float→integer
// conversions, reproduced exactly as llama.cpp's compiled reference code
// (x86-64) performs them, so the output bytes match its files.

import { F32_SIGN_BITS, HALVES, ONES_F32 } from '../../backend/wasm/assembly/constants';
import { INT32_MINIMUMS, LOW_BYTES, TWO_POW_31 } from './constants';

/** Two values per block, set by scanRange / firstRange and read right after (AssemblyScript has no tuples). */
export let blockMin: f32 = 0;
export let blockMax: f32 = 0;

/**
 * Smallest and largest of the 32 floats at x and of `low` / `high`, into blockMin / blockMax.
 * NaN never wins, as in the reference's `v < min` / `v > max` scans: pmin(acc, v) is v < acc ? v : acc.
 */
@inline
export function scanRange(x: usize, low: f32, high: f32): void {
  let lo = f32x4.splat(low);
  let hi = f32x4.splat(high);
  for (let k = 0; k < 8; k++) {
    const v = v128.load(x + (<usize>k << 4));
    lo = f32x4.pmin(lo, v);
    hi = f32x4.pmax(hi, v);
  }
  blockMin = min(min(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1)), min(f32x4.extract_lane(lo, 2), f32x4.extract_lane(lo, 3)));
  blockMax = max(max(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1)), max(f32x4.extract_lane(hi, 2), f32x4.extract_lane(hi, 3)));
}

/**
 * The range as the reference's min/max scan finds it (from ±FLT_MAX). A zero
 * result is the first zero of the block, which keeps its sign (the stored min's sign bit).
 */
@inline
export function firstRange(x: usize): void {
  scanRange(x, F32.MAX_VALUE, -F32.MAX_VALUE);
  if (blockMin == 0) blockMin = firstMatch(x, 0, 0x7fffffff);
  if (blockMax == 0) blockMax = firstMatch(x, 0, 0x7fffffff);
}

/** Largest |x| of the 32 floats at x, folded as the reference's MAX(amax, |v|) does (a NaN resets it). */
@inline
export function blockAbsMax(x: usize): f32 {
  let m = f32x4.max(f32x4.abs(v128.load(x)), f32x4.abs(v128.load(x, 16)));
  m = f32x4.max(m, f32x4.max(f32x4.abs(v128.load(x, 32)), f32x4.abs(v128.load(x, 48))));
  m = f32x4.max(m, f32x4.max(f32x4.abs(v128.load(x, 64)), f32x4.abs(v128.load(x, 80))));
  m = f32x4.max(m, f32x4.max(f32x4.abs(v128.load(x, 96)), f32x4.abs(v128.load(x, 112))));
  const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  return isNaN(amax) ? absMaxInOrder(x) : amax; // f32x4.max propagates NaN
}

/** The reference's sequential fold amax = amax > |v| ? amax : |v|, for blocks holding a NaN. */
function absMaxInOrder(x: usize): f32 {
  let amax: f32 = 0;
  for (let j = 0; j < 32; j++) {
    const v = Mathf.abs(load<f32>(x + (<usize>j << 2)));
    amax = amax > v ? amax : v;
  }
  return amax;
}

/** The first of the 32 floats at x whose bits equal `target`'s once masked by `mask` (a sign mask compares magnitudes). */
export function firstMatch(x: usize, target: f32, mask: u32): f32 {
  const wanted = i32x4.splat(reinterpret<i32>(target) & mask);
  const keep = i32x4.splat(mask);
  let hits: u32 = 0;
  for (let k = 0; k < 8; k++) {
    hits |= i32x4.bitmask(i32x4.eq(v128.and(v128.load(x + (<usize>k << 4)), keep), wanted)) << (k << 2);
  }
  return load<f32>(x + (<usize>ctz(hits) << 2));
}

/**
 * The value of largest magnitude among the 32 floats at x as the reference's
 * strict `amax < |v|` scan from 0 finds it: NaN skipped, the first one when
 * +a and −a tie, and +0 for an all-zero block.
 */
@inline
export function signedAbsMax(x: usize): f32 {
  scanRange(x, 0, 0);
  if (blockMax > -blockMin) return blockMax;
  if (-blockMin > blockMax) return blockMin;
  if (blockMax == 0) return 0;
  return firstMatch(x, blockMax, 0x7fffffff);
}

/**
 * C's float→int conversion as x86 does it: truncation, and 0x80000000 for NaN and
 * anything outside the int32 range (only the low byte is kept by the callers).
 */
@inline
export function truncLikeC(v: v128): v128 {
  const fits = f32x4.lt(v, TWO_POW_31); // false for NaN too; −∞ already saturates to 0x80000000
  return v128.bitselect(i32x4.trunc_sat_f32x4_s(v), INT32_MINIMUMS, fits);
}

/** C's roundf: to nearest, halfway cases away from zero. */
@inline
export function roundHalfAway(v: v128): v128 {
  const whole = f32x4.trunc(v);
  const isHalfOrMore = f32x4.ge(f32x4.abs(f32x4.sub(v, whole)), HALVES);
  const signedOne = v128.or(v128.and(v, F32_SIGN_BITS), ONES_F32);
  return f32x4.add(whole, v128.and(isHalfOrMore, signedOne));
}

/** The low bytes of the 16 int32 lanes of a, b, c, d (C's narrowing to a char wraps). */
@inline
export function lowBytes(a: v128, b: v128, c: v128, d: v128): v128 {
  return i8x16.narrow_i16x8_u(
    i16x8.narrow_i32x4_u(v128.and(a, LOW_BYTES), v128.and(b, LOW_BYTES)),
    i16x8.narrow_i32x4_u(v128.and(c, LOW_BYTES), v128.and(d, LOW_BYTES)),
  );
}

/**
 * 16 levels from the 16 floats at x: the low byte of (int)((x − offset)·scale + bias),
 * each step rounded to f32 as the reference computes it.
 */
@inline
export function levels16(x: usize, offset: v128, scale: v128, bias: v128): v128 {
  return lowBytes(
    truncLikeC(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x), offset), scale), bias)),
    truncLikeC(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 16), offset), scale), bias)),
    truncLikeC(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 32), offset), scale), bias)),
    truncLikeC(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 48), offset), scale), bias)),
  );
}

/** Bit 4 of each of the 16 bytes of v, as a 16-bit mask (the fifth bit of Q5 levels). */
@inline
export function bit4Mask(v: v128): u32 {
  return i8x16.bitmask(i8x16.shl(v, 3));
}
