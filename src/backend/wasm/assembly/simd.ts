// Small SIMD building blocks shared by the kernels. Where the relaxed-simd
// proposal is available (ASC_FEATURE_RELAXED_SIMD is a compile-time constant),
// multiply-add takes one instruction and byte dot products too: only with a
// second operand in 0..127, where every engine must give the exact sums. The
// loader checks that this engine's dot products are exact and its multiply-add
// is fused (relaxedSimdIsExact) before taking this build: Node 20's
// implementation, behind a flag, returns twice the true sum.

import {
  BIT_4, BIT_OF_LANE, F16_BITS_IN_F32, F16_MIN_EXPONENT, F16_OVERFLOW, F16_REBIAS, INFINITIES, F32_EXPONENT_BITS, F32_MAGNITUDE_BITS, F32_SIGN_BITS,
  LOW_NIBBLES, ONES_I16, PLUS_13_EXPONENT, SPREAD_BYTES_0_1, SPREAD_BYTES_2_3,
} from './constants';

/**
 * Σ a[i]·b[i] over each 4 consecutive bytes (both signed int8): lanes hold bytes 0–3, 4–7,
 * 8–11 and 12–15 — how x86's maddubs + madd (or VNNI dpbusd) group a block's products.
 */
@inline
export function dotQuads(a: v128, b: v128): v128 {
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), i16x8.extend_low_i8x16_s(b));
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), i16x8.extend_high_i8x16_s(b));
  return i32x4.add(v128.shuffle<i32>(lo, hi, 0, 2, 4, 6), v128.shuffle<i32>(lo, hi, 1, 3, 5, 7));
}

/**
 * dotQuads for activations in −127..127 and weights in −127..127: with relaxed SIMD, as x86's
 * sign + abs + maddubs, the weights' signs move onto the activations so that the one-instruction
 * dot product takes |w|.
 */
@inline
export function dotQuadsSigned(act: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const negative = i8x16.lt_s(w, i8x16.splat(0));
    return relaxedQuads(i8x16.sub(v128.xor(act, negative), negative), i8x16.abs(w));
  }
  return dotQuads(act, w);
}

/** dotQuads for w in 0..127. */
@inline
export function dotQuadsUnsigned(act: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return relaxedQuads(act, w);
  return dotQuads(act, w);
}

/**
 * dotQuads for w in 0..127 with relaxed SIMD, as x86's maddubs + madd. (The one-instruction
 * i32x4.relaxed_dot_i8x16_i7x16_add_s is the same two, but V8 builds their vector of ones anew
 * each time.)
 */
@inline
function relaxedQuads(act: v128, w: v128): v128 {
  return i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(act, w), ONES_I16);
}

/**
 * act[2i]·w[2i] + act[2i+1]·w[2i+1] in i16 lane i, for w in 0..127 (and sums that fit in 16 bits):
 * x86's maddubs, which relaxed SIMD's pair dot product is.
 */
@inline
export function pairSums(act: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(act, w);
  const low = i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_low_i8x16_s(act, w));
  const high = i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_high_i8x16_s(act, w));
  return i16x8.narrow_i32x4_s(low, high);
}

/**
 * dotQuadsUnsigned times `scale` (an i16x8 splat), for w in 0..127 with pair sums that fit in
 * 16 bits: the pair sums then a 16-bit multiply-add with the scale, as x86's maddubs + madd do
 * it, instead of a 32-bit multiply.
 */
@inline
export function dotQuadsScaled(act: v128, w: v128, scale: v128): v128 {
  return i32x4.dot_i16x8_s(pairSums(act, w), scale);
}

/**
 * (dotQuads(act0, w0) + dotQuads(act1, w1)) × `scale` (an i16x8 splat), for w in 0..31: the pair
 * sums of both products are added in 16 bits before the multiply-add with the scale.
 */
@inline
export function dotQuadsScaledPair(act0: v128, w0: v128, act1: v128, w1: v128, scale: v128): v128 {
  return i32x4.dot_i16x8_s(i16x8.add(pairSums(act0, w0), pairSums(act1, w1)), scale);
}

/**
 * Whether this engine's byte dot products are exact and its multiply-add fused, as the
 * kernels assume (always true for the plain-SIMD build).
 */
export function relaxedSimdIsExact(): bool {
  const act = i8x16(-128, 127, -1, 1, -128, -128, 127, 127, 5, -7, 0, 100, -100, 3, -3, 64);
  const w = i8x16(127, 127, 1, 0, 0, 1, 2, 127, 64, 33, 90, 17, 127, 126, 0, 1);
  // (1 + 2^-12)² − (1 + 2^-11) is 2^-24 when fused and 0 when the product is rounded first.
  const near = f32x4.splat(reinterpret<f32>(0x3f800800)); // 1 + 2^-12
  const fused = f32x4.extract_lane(fmaF32x4(near, near, f32x4.splat(-reinterpret<f32>(0x3f801000))), 0); // − (1 + 2^-11)
  const quads = dotQuads(act, w);
  const signedAct = i8x16(-127, 127, -1, 1, -100, -127, 127, 127, 5, -7, 0, 100, -100, 3, -3, 64);
  const signedW = i8x16(-127, 127, -1, 0, 0, -1, 2, -127, 64, -33, 90, -17, 127, -126, 0, 1);
  return i32x4.all_true(i32x4.eq(dotQuadsUnsigned(act, w), quads))
    && i32x4.all_true(i32x4.eq(dotQuadsSigned(signedAct, signedW), dotQuads(signedAct, signedW)))
    && i32x4.all_true(i32x4.eq(dotQuadsScaled(act, w, i16x8.splat(-3)), i32x4.mul(quads, i32x4.splat(-3))))
    && i32x4.all_true(i32x4.eq(dotQuadsScaledPair(act, v128.and(w, i8x16.splat(31)), act, v128.and(w, i8x16.splat(15)), i16x8.splat(5)),
      i32x4.mul(i32x4.add(dotQuads(act, v128.and(w, i8x16.splat(31))), dotQuads(act, v128.and(w, i8x16.splat(15)))), i32x4.splat(5))))
    && i8x16.all_true(i8x16.eq(pickBytes(w, i8x16(15, -1, 0, -128, 7, 1, -1, 14, 3, 3, -2, 9, 12, -100, 5, 0)), i8x16(1, 0, 127, 0, 127, 127, 0, 0, 0, 0, 0, 33, 127, 0, 1, 127)))
    && fused == reinterpret<f32>(0x33800000); // 2^-24
}

/**
 * a·b + c per f32 lane, rounded once (a fused multiply-add): relaxed SIMD's multiply-add where
 * the loader found it fused, otherwise computed in f64 (the product of two f32 is exact there).
 */
@inline
export function fmaF32x4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  const lo = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)), f64x2.promote_low_f32x4(c));
  const a2 = v128.shuffle<f32>(a, a, 2, 3, 2, 3);
  const b2 = v128.shuffle<f32>(b, b, 2, 3, 2, 3);
  const c2 = v128.shuffle<f32>(c, c, 2, 3, 2, 3);
  const hi = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(a2), f64x2.promote_low_f32x4(b2)), f64x2.promote_low_f32x4(c2));
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** a·b + c rounded once (scalar fused multiply-add, as compilers contract `c += a * b`). */
@inline
export function fmaF32(a: f32, b: f32, c: f32): f32 {
  return <f32>(<f64>a * <f64>b + <f64>c);
}

/** Sum of 8 f32 lanes held as lanes 0–3 (lo) and 4–7 (hi), in the order of ggml's x86 hsum_float_8. */
@inline
export function sumF32x8(lo: v128, hi: v128): f32 {
  return finishQuarter(f32x4.add(hi, lo));
}

/** Sum of 16 floats in 4 vectors (lanes 0–3, …, 12–15) in the order of x86's _mm512_reduce_add_ps. */
@inline
export function sumF32x16(c0: v128, c1: v128, c2: v128, c3: v128): f32 {
  return finishQuarter(f32x4.add(f32x4.add(c3, c1), f32x4.add(c2, c0)));
}

/** The last step of x86's horizontal sums (hsum_float_8, _mm512_reduce_add_ps): a quarter's pairs, (q0 + q2) + (q1 + q3). */
@inline
export function finishQuarter(quarter: v128): f32 {
  return (f32x4.extract_lane(quarter, 0) + f32x4.extract_lane(quarter, 2)) + (f32x4.extract_lane(quarter, 1) + f32x4.extract_lane(quarter, 3));
}

/** finishQuarter of four quarters at once: lane i for quarter i. */
@inline
export function finishQuarters(q0: v128, q1: v128, q2: v128, q3: v128): v128 {
  // Lanes (q[0] + q[2], q[1] + q[3]) of q0 and q1, then of q2 and q3.
  const pairs01 = f32x4.add(v128.shuffle<f32>(q0, q1, 0, 1, 4, 5), v128.shuffle<f32>(q0, q1, 2, 3, 6, 7));
  const pairs23 = f32x4.add(v128.shuffle<f32>(q2, q3, 0, 1, 4, 5), v128.shuffle<f32>(q2, q3, 2, 3, 6, 7));
  return f32x4.add(v128.shuffle<f32>(pairs01, pairs23, 0, 2, 4, 6), v128.shuffle<f32>(pairs01, pairs23, 1, 3, 5, 7));
}

/** a·b + c per f32 lane (fused where relaxed-simd allows). */
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline
export function sumI32x4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

@inline
export function sumF32x4(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** 16 bytes, each 16 where bit (first + i) of `bits` is set and 0 otherwise (first is 0 or 16). */
@inline
export function highBitsTimes16(bits: u32, first: i32): v128 {
  const spread = pickBytes(i32x4.splat(bits), first == 0 ? SPREAD_BYTES_0_1 : SPREAD_BYTES_2_3);
  return v128.and(i8x16.eq(v128.and(spread, BIT_OF_LANE), BIT_OF_LANE), BIT_4);
}

/** Each byte's high 4 bits, moved down (a 16-bit shift and a mask: wasm's 8-bit shift costs V8 a mask of its own). */
@inline
export function highNibbles(bytes: v128): v128 {
  return v128.and(i16x8.shr_u(bytes, 4), LOW_NIBBLES);
}

/**
 * The bytes of v at `indices` (0..15; a negative index gives 0): x86's pshufb itself where relaxed
 * SIMD allows (the loader checks). The plain swizzle must also zero indices 16..127, which takes V8
 * two more instructions where the indices are not a constant.
 */
@inline
export function pickBytes(v: v128, indices: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(v, indices);
  return i8x16.swizzle(v, indices);
}

// --- half precision ---

/**
 * f16 bits → f32 (exact, including subnormals, infinities and NaN), without arithmetic on f32
 * subnormals, which x86 cores run in slow microcode (tiny Q6_K scales, all f16 subnormals, made a
 * matmul 1.6× slower): normal values move their bits and re-bias the exponent (15 → 127) with an
 * integer add; an f16 subnormal m·2^-24 converts m exactly to float.
 */
@inline
export function f16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exponent = h & 0x7c00;
  let magnitude: u32;
  if (exponent == 0x7c00) magnitude = 0x7f800000 | ((h & 0x3ff) << 13);
  else if (exponent != 0) magnitude = ((h & 0x7fff) << 13) + 0x38000000;
  else magnitude = reinterpret<u32>(<f32>(h & 0x3ff) * reinterpret<f32>(0x33800000)); // × 2^-24
  return reinterpret<f32>(magnitude | sign);
}

/**
 * 4 f16 values (i32 lanes, sign-extended from 16 bits) → f32x4. Finite inputs only (infinities and
 * NaNs come out as large finite values). The f16's bits move up into f32 position, keeping one copy
 * of the sign, and scaling by 2^112 re-biases the exponent and normalizes subnormals: f16
 * subnormals make that multiply slow (see f16ToF32), but they are rare among weights, and
 * selecting another path per lane would cost F16 weights 1.7× in time.
 */
@inline
export function f16x4ToF32x4(h: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(h, 13), F16_BITS_IN_F32), F16_REBIAS);
}

/** f32 → f16 bits, rounding to nearest even (the float-arithmetic method: the FPU does the rounding). */
export function f32ToF16(f: f32): u32 {
  const bits = reinterpret<u32>(f);
  const doubled = bits << 1; // drops the sign
  const sign = (bits >>> 16) & 0x8000;
  if (doubled > 0xff000000) return sign | 0x7e00; // NaN
  // Scaling up then down pushes overflow to infinity and leaves the value otherwise unchanged.
  let base = (Mathf.abs(f) * reinterpret<f32>(0x77800000)) * reinterpret<f32>(0x08800000);
  let bias = doubled & 0xff000000;
  if (bias < 0x71000000) bias = 0x71000000;
  // Adding 2^(e+13) places the f16 mantissa in the low bits of the f32 result, rounded by the addition.
  base = reinterpret<f32>((bias >>> 1) + 0x07800000) + base;
  const r = reinterpret<u32>(base);
  return sign | (((r >>> 13) & 0x7c00) + (r & 0x0fff));
}

/** The value an f32 has after a round trip through f16. */
@inline
export function roundToF16(f: f32): f32 {
  return f16ToF32(f32ToF16(f));
}

/**
 * roundToF16 of every lane: adding 2^(e+13), e being |x|'s exponent or f16's smallest (−14), leaves
 * f16's fraction bits, rounded by the addition (ties to even); from 65520 up, f16 holds only ∞.
 * NaNs stay NaN.
 */
@inline
export function roundToF16x4(x: v128): v128 {
  const absolute = v128.and(x, F32_MAGNITUDE_BITS);
  const exponent = i32x4.max_s(v128.and(x, F32_EXPONENT_BITS), F16_MIN_EXPONENT);
  const shift = i32x4.add(exponent, PLUS_13_EXPONENT);
  const magnitude = f32x4.sub(f32x4.add(absolute, shift), shift);
  return v128.or(v128.bitselect(INFINITIES, magnitude, f32x4.ge(absolute, F16_OVERFLOW)), v128.and(x, F32_SIGN_BITS));
}

/** f32 → bf16 bits, rounding to nearest even, NaN kept quiet. */
@inline
export function f32ToBf16(f: f32): u32 {
  const x = reinterpret<u32>(f);
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 64) & 0xffff;
  return ((x + (0x7fff + ((x >>> 16) & 1))) >>> 16) & 0xffff;
}
