// Vector constants of the kernels' loops, as exported mutable globals.
//
// Binaryen folds a constant global or local into each of its uses as a v128.const,
// and V8's optimizing wasm compiler then builds every v128.const where it is used,
// inside loops too: 3 instructions for a splat, 5 for other patterns. An exported
// mutable global is folded by neither (the host may change it), so each use is
// one load that x86 folds into the instruction. Q6_K decoding ran 1.4× faster for
// that alone. Nothing writes them: they are variables only to stay in memory.

/** Each byte's low 4 bits. */
export let LOW_NIBBLES: v128 = i8x16.splat(0x0f);
/** Each byte's bit 4 (16). */
export let BIT_4: v128 = i8x16.splat(0x10);
/** Each byte's bits 4 and 5. */
export let BITS_4_5: v128 = i8x16.splat(0x30);
/** Each byte's low 6 bits. */
export let LOW_6_BITS: v128 = i8x16.splat(0x3f);
/** Each byte's low 2 bits. */
export let LOW_2_BITS: v128 = i8x16.splat(3);
/** Each byte's bit 2 (4). */
export let BIT_2: v128 = i8x16.splat(4);
/** 1 in each byte: sums of 4 bytes by a byte dot product. */
export let ONES_I8: v128 = i8x16.splat(1);
/** 1 in each 16-bit lane: pairwise sums by a 16-bit multiply-add. */
export let ONES_I16: v128 = i16x8.splat(1);
/** Byte lanes of 8 consecutive bits of a 32-bit mask: lane i tests bit i of its byte. */
export let BIT_OF_LANE: v128 = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
/** Byte indices that spread bytes 0 and 1 of a word over 8 lanes each (bytes 2 and 3: SPREAD_BYTES_2_3). */
export let SPREAD_BYTES_0_1: v128 = i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
export let SPREAD_BYTES_2_3: v128 = i8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
/** An f16's bits, sign-extended to 32 and moved up 13, with the copies of its sign above bit 31's cleared (see f16x4ToF32x4). */
export let F16_BITS_IN_F32: v128 = i32x4.splat(0x8fffe000);
/** 2^112: re-biases an f16 exponent (15) to f32's (127). */
export let F16_REBIAS: v128 = f32x4.splat(reinterpret<f32>(0x77800000));
/**
 * Byte indices (for pickBytes; −1 gives 0) that gather a Q4_K/Q5_K block's packed 6-bit scales
 * and mins (see kScalesOrMins): bytes 0–3 (scales) or 4–7 (mins) into lanes 0–3, the same bytes
 * into lanes 4–7 for their top bits, and bytes 8–11 into lanes 4–7.
 */
export let K_SCALES_LOW: v128 = i8x16(0, 1, 2, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
export let K_MINS_LOW: v128 = i8x16(4, 5, 6, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
export let K_SCALES_TOP: v128 = i8x16(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, -1, -1, -1, -1);
export let K_MINS_TOP: v128 = i8x16(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, -1, -1, -1, -1);
export let K_NIBBLES: v128 = i8x16(-1, -1, -1, -1, 8, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1, -1);

/** 1.5·2²³: adding it rounds a float to an integer (ggml's nearest_int, and the exp below). */
export let ROUNDING_SHIFT: v128 = f32x4.splat(12582912);

// e^x as ggml's x86 SIMD code computes it (see expSimd in ops.ts).
export let EXP_LOG2_E: v128 = f32x4.splat(reinterpret<f32>(0x3fb8aa3b));
/** ln 2 in two parts: the high one exact in few bits, the low one the rest. */
export let EXP_LN2_HI: v128 = f32x4.splat(reinterpret<f32>(0x3f317200));
export let EXP_LN2_LO: v128 = f32x4.splat(reinterpret<f32>(0x35bfbe8e));
/** The degree-5 polynomial's coefficients (Arm's optimized-routines expf), P0 being 1. */
export let EXP_P1: v128 = f32x4.splat(reinterpret<f32>(0x3f7ffff6));
export let EXP_P2: v128 = f32x4.splat(reinterpret<f32>(0x3efffedb));
export let EXP_P3: v128 = f32x4.splat(reinterpret<f32>(0x3e2aaf33));
export let EXP_P4: v128 = f32x4.splat(reinterpret<f32>(0x3d2b9f17));
export let EXP_P5: v128 = f32x4.splat(reinterpret<f32>(0x3c072010));
/** The largest |n| of 2^n that scaling handles directly. */
export let EXP_MAX_POWER: v128 = f32x4.splat(192);
/** n of 2^n from −125 to 126 is |n − 0.5| ≤ 125.5 (see expSimd). */
export let EXP_NORMAL_POWERS: v128 = f32x4.splat(125.5);
export let HALVES: v128 = f32x4.splat(0.5);
/** f64's exponent bias, in i32 lanes. */
export let F64_EXPONENT_BIAS: v128 = i32x4.splat(1023);
export let ONES_F32: v128 = f32x4.splat(1);
export let INFINITIES: v128 = f32x4.splat(Infinity);
/** The sign bit of lanes 0 and 2: negates them by an xor (RoPE's −x1·sin). */
export let EVEN_LANE_SIGNS: v128 = i32x4(0x80000000, 0, 0x80000000, 0);

// Rounding f32 lanes to f16 precision (see roundToF16x4).
export let F32_EXPONENT_BITS: v128 = i32x4.splat(0x7f800000);
export let F32_MAGNITUDE_BITS: v128 = i32x4.splat(0x7fffffff);
export let F32_SIGN_BITS: v128 = i32x4.splat(0x80000000);
/** f16's smallest normal exponent (−14) as f32 exponent bits. */
export let F16_MIN_EXPONENT: v128 = i32x4.splat(113 << 23);
/** 13 added to an f32 exponent: 2^(e+13) leaves 10 fraction bits below e. */
export let PLUS_13_EXPONENT: v128 = i32x4.splat(13 << 23);
/** The smallest magnitude that f16 rounds to ∞ (65504 + half a step). */
export let F16_OVERFLOW: v128 = f32x4.splat(65520);
