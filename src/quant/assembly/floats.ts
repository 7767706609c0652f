// f32 rows to F16 and BF16 with ggml's rounding (round to nearest even; NaN
// kept a quiet NaN), eight values per step; a tail of fewer than eight goes
// through the scalar conversions the vector ones mirror.

import { f32ToBf16, f32ToF16 } from '../../backend/wasm/assembly/simd';

/** f32ToF16 on 4 lanes: the f16 bits in the low half of each i32 lane. */
@inline
function f32x4ToF16(v: v128): v128 {
  const doubled = i32x4.shl(v, 1); // drops the sign
  const sign = v128.and(i32x4.shr_u(v, 16), i32x4.splat(0x8000));
  // Scaling up then down pushes overflow to infinity and leaves the value otherwise unchanged.
  const scaled = f32x4.mul(f32x4.mul(f32x4.abs(v), f32x4.splat(reinterpret<f32>(0x77800000))), f32x4.splat(reinterpret<f32>(0x08800000)));
  const bias = i32x4.max_u(v128.and(doubled, i32x4.splat(0xff000000)), i32x4.splat(0x71000000));
  // Adding 2^(e+13) places the f16 mantissa in the low bits, rounded by the addition.
  const rounded = f32x4.add(i32x4.add(i32x4.shr_u(bias, 1), i32x4.splat(0x07800000)), scaled);
  const bits = v128.or(sign, i32x4.add(v128.and(i32x4.shr_u(rounded, 13), i32x4.splat(0x7c00)), v128.and(rounded, i32x4.splat(0x0fff))));
  const isNan = i32x4.gt_u(doubled, i32x4.splat(0xff000000));
  return v128.bitselect(v128.or(sign, i32x4.splat(0x7e00)), bits, isNan);
}

/** f32ToBf16 on 4 lanes: the bf16 bits in the low half of each i32 lane. */
@inline
function f32x4ToBf16(v: v128): v128 {
  const high = i32x4.shr_u(v, 16);
  const rounded = i32x4.shr_u(i32x4.add(v, i32x4.add(i32x4.splat(0x7fff), v128.and(high, i32x4.splat(1)))), 16);
  const isNan = i32x4.gt_u(v128.and(v, i32x4.splat(0x7fffffff)), i32x4.splat(0x7f800000));
  return v128.bitselect(v128.or(high, i32x4.splat(64)), rounded, isNan);
}

/** n floats at x → n f16 values at y. */
export function convertF16(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    v128.store(y + (<usize>i << 1), i16x8.narrow_i32x4_u(f32x4ToF16(v128.load(p)), f32x4ToF16(v128.load(p, 16))));
  }
  for (; i < n; i++) store<u16>(y + (<usize>i << 1), <u16>f32ToF16(load<f32>(x + (<usize>i << 2))));
}

/** n floats at x → n bf16 values at y. */
export function convertBf16(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    v128.store(y + (<usize>i << 1), i16x8.narrow_i32x4_u(f32x4ToBf16(v128.load(p)), f32x4ToBf16(v128.load(p, 16))));
  }
  for (; i < n; i++) store<u16>(y + (<usize>i << 1), <u16>f32ToBf16(load<f32>(x + (<usize>i << 2))));
}
