// The 32-element block quantizers Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1, giving the
// same bytes as llama.cpp's reference quantizers (quantize_row_*_ref, the code
// llama-quantize runs without an importance matrix). Each block's 32 floats are
// handled as 8 f32x4 vectors; only the per-block scale arithmetic is scalar.
// Levels of the 4- and 5-bit types: element j in the low nibble of byte j,
// element j + 16 in the high nibble; Q5's fifth bits go to a 32-bit mask.

import { f32ToF16 } from '../../backend/wasm/assembly/simd';
import { HALVES, LOW_NIBBLES } from '../../backend/wasm/assembly/constants';
import { FIFTEENS, Q4_0_BIAS, Q5_0_BIAS, THIRTY_ONES } from './constants';
import {
  blockAbsMax, blockMax, blockMin, bit4Mask, firstRange, levels16, lowBytes, roundHalfAway, signedAbsMax, truncLikeC,
} from './simd-ops';

/** 1/d, or 0 for d = 0 (a block of zeros). */
@inline
function inverse(d: f32): f32 {
  return d != 0 ? <f32>1 / d : 0;
}

/** Q8_0 block (34 bytes): f16 d = amax/127, then 32 × int8 round(x/d). */
export function quantizeQ8_0(x: usize, y: usize, n: i32): void {
  for (let b = 0; b < n; b += 32) {
    const d = blockAbsMax(x) / 127;
    const id = f32x4.splat(inverse(d));
    store<u16>(y, <u16>f32ToF16(d));
    for (let half = 0; half < 2; half++) {
      const xh = x + (<usize>half << 6);
      const q = lowBytes(
        truncLikeC(roundHalfAway(f32x4.mul(v128.load(xh), id))),
        truncLikeC(roundHalfAway(f32x4.mul(v128.load(xh, 16), id))),
        truncLikeC(roundHalfAway(f32x4.mul(v128.load(xh, 32), id))),
        truncLikeC(roundHalfAway(f32x4.mul(v128.load(xh, 48), id))),
      );
      v128.store(y + 2 + (<usize>half << 4), q);
    }
    x += 128;
    y += 34;
  }
}

/** Q4_0 block (18 bytes): f16 d = max/−8 (max: the value of largest magnitude), levels min(15, x/d + 8.5). */
export function quantizeQ4_0(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  for (let b = 0; b < n; b += 32) {
    const d = signedAbsMax(x) / -8;
    const id = f32x4.splat(inverse(d));
    store<u16>(y, <u16>f32ToF16(d));
    const low = i8x16.min_s(levels16(x, zero, id, Q4_0_BIAS), FIFTEENS);
    const high = i8x16.min_s(levels16(x + 64, zero, id, Q4_0_BIAS), FIFTEENS);
    v128.store(y + 2, v128.or(low, i8x16.shl(high, 4)));
    x += 128;
    y += 18;
  }
}

/** Q4_1 block (20 bytes): f16 d = (max − min)/15, f16 min, levels min(15, (x − min)/d + 0.5). */
export function quantizeQ4_1(x: usize, y: usize, n: i32): void {
  for (let b = 0; b < n; b += 32) {
    firstRange(x);
    const lowest = blockMin;
    const d = (blockMax - lowest) / 15;
    const id = f32x4.splat(inverse(d));
    const offset = f32x4.splat(lowest);
    store<u16>(y, <u16>f32ToF16(d));
    store<u16>(y + 2, <u16>f32ToF16(lowest));
    const low = i8x16.min_s(levels16(x, offset, id, HALVES), FIFTEENS);
    const high = i8x16.min_s(levels16(x + 64, offset, id, HALVES), FIFTEENS);
    v128.store(y + 4, v128.or(low, i8x16.shl(high, 4)));
    x += 128;
    y += 20;
  }
}

/** Stores 32 five-bit levels: their fifth bits as a u32 at y, the low nibbles in 16 bytes after it. */
@inline
function storeFiveBitLevels(y: usize, low: v128, high: v128): void {
  store<u32>(y, bit4Mask(low) | (bit4Mask(high) << 16));
  v128.store(y + 4, v128.or(v128.and(low, LOW_NIBBLES), i8x16.shl(high, 4)));
}

/** Q5_0 block (22 bytes): f16 d = max/−16, fifth bits, levels min(31, x/d + 16.5). */
export function quantizeQ5_0(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  for (let b = 0; b < n; b += 32) {
    const d = signedAbsMax(x) / -16;
    const id = f32x4.splat(inverse(d));
    store<u16>(y, <u16>f32ToF16(d));
    storeFiveBitLevels(y + 2, i8x16.min_s(levels16(x, zero, id, Q5_0_BIAS), THIRTY_ONES), i8x16.min_s(levels16(x + 64, zero, id, Q5_0_BIAS), THIRTY_ONES));
    x += 128;
    y += 22;
  }
}

/** Q5_1 block (24 bytes): f16 d = (max − min)/31, f16 min, fifth bits, levels (x − min)/d + 0.5 (no clamp, as in the reference). */
export function quantizeQ5_1(x: usize, y: usize, n: i32): void {
  for (let b = 0; b < n; b += 32) {
    firstRange(x);
    const lowest = blockMin;
    const d = (blockMax - lowest) / 31;
    const id = f32x4.splat(inverse(d));
    const offset = f32x4.splat(lowest);
    store<u16>(y, <u16>f32ToF16(d));
    store<u16>(y + 2, <u16>f32ToF16(lowest));
    storeFiveBitLevels(y + 4, levels16(x, offset, id, HALVES), levels16(x + 64, offset, id, HALVES));
    x += 128;
    y += 24;
  }
}
