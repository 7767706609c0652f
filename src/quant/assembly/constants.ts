// Vector constants of the quantizers' loops that the kernels' constants
// (src/backend/wasm/assembly/constants.ts, which says why they are exported
// mutable globals) do not already hold.

/** A float's mantissa bits, and their middle (2²²): what nearest_int reads back. */
export let MANTISSA_BITS: v128 = i32x4.splat(0x7fffff);
export let MANTISSA_MIDDLE: v128 = i32x4.splat(0x400000);
/** 2³¹ as a float, the first value outside int32, and int32's minimum. */
export let TWO_POW_31: v128 = f32x4.splat(2147483648.0);
export let INT32_MINIMUMS: v128 = i32x4.splat(i32.MIN_VALUE);
/** The low byte of each i32 lane. */
export let LOW_BYTES: v128 = i32x4.splat(0xff);
/** The levels' biases (8.5, 16.5) and largest levels (15, 31) of Q4_0 and Q5_0. */
export let Q4_0_BIAS: v128 = f32x4.splat(8.5);
export let Q5_0_BIAS: v128 = f32x4.splat(16.5);
export let FIFTEENS: v128 = i8x16.splat(15);
export let THIRTY_ONES: v128 = i8x16.splat(31);
