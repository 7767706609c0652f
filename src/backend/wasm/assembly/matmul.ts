// Matrix × activations for every supported weight layout. A weight matrix is
// `rows` rows of `cols` elements in its GGUF block layout; activations were
// prepared by activations.ts. Each dot product keeps integer sums exact within
// a block and applies the float scales once per block, as ggml's vec_dot does.

import { Q8K_BLOCK_BYTES, Q8_BLOCK_BYTES } from './activations';
import { dotSigned, dotUnsigned, f16ToF32, f16x4ToF32x4, highBitsTimes16, madd, sumF32x4, sumI32x4 } from './simd';

// GGML type ids (the numbering GGUF stores).
export const F32: i32 = 0;
export const F16: i32 = 1;
export const Q4_0: i32 = 2;
export const Q4_1: i32 = 3;
export const Q5_0: i32 = 6;
export const Q5_1: i32 = 7;
export const Q8_0: i32 = 8;
export const Q2_K: i32 = 10;
export const Q3_K: i32 = 11;
export const Q4_K: i32 = 12;
export const Q5_K: i32 = 13;
export const Q6_K: i32 = 14;
export const BF16: i32 = 30;

const LOW_NIBBLE: v128 = i8x16.splat(0x0f);
const ZERO: v128 = i32x4.splat(0);

// ---- 32-element blocks × Q8 activations ----

function dotQ8_0(w: usize, a: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    let s = dotSigned(ZERO, v128.load(a), v128.load(w, 2));
    s = dotSigned(s, v128.load(a, 16), v128.load(w, 18));
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.splat(f16ToF32(load<u16>(w)) * load<f32>(a, 32)), acc);
    w += 34;
    a += Q8_BLOCK_BYTES;
  }
  return sumF32x4(acc);
}

function dotQ4_0(w: usize, a: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const qs = v128.load(w, 2);
    let s = dotUnsigned(ZERO, v128.load(a), v128.and(qs, LOW_NIBBLE));
    s = dotUnsigned(s, v128.load(a, 16), i8x16.shr_u(qs, 4));
    // Weights are nibble − 8: subtract 8·Σa, spread over the four lanes.
    s = i32x4.sub(s, i32x4.splat(load<i32>(a, 40) << 1));
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.splat(f16ToF32(load<u16>(w)) * load<f32>(a, 32)), acc);
    w += 18;
    a += Q8_BLOCK_BYTES;
  }
  return sumF32x4(acc);
}

function dotQ4_1(w: usize, a: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  let mins: f32 = 0;
  for (let b = 0; b < nb; b++) {
    const qs = v128.load(w, 4);
    let s = dotUnsigned(ZERO, v128.load(a), v128.and(qs, LOW_NIBBLE));
    s = dotUnsigned(s, v128.load(a, 16), i8x16.shr_u(qs, 4));
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.splat(f16ToF32(load<u16>(w)) * load<f32>(a, 32)), acc);
    mins += f16ToF32(load<u16>(w, 2)) * load<f32>(a, 36);
    w += 20;
    a += Q8_BLOCK_BYTES;
  }
  return sumF32x4(acc) + mins;
}

function dotQ5_0(w: usize, a: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const high = load<u32>(w, 2);
    const qs = v128.load(w, 6);
    let s = dotUnsigned(ZERO, v128.load(a), v128.or(v128.and(qs, LOW_NIBBLE), highBitsTimes16(high, 0)));
    s = dotUnsigned(s, v128.load(a, 16), v128.or(i8x16.shr_u(qs, 4), highBitsTimes16(high, 16)));
    s = i32x4.sub(s, i32x4.splat(load<i32>(a, 40) << 2)); // weights are 5-bit value − 16
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.splat(f16ToF32(load<u16>(w)) * load<f32>(a, 32)), acc);
    w += 22;
    a += Q8_BLOCK_BYTES;
  }
  return sumF32x4(acc);
}

function dotQ5_1(w: usize, a: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  let mins: f32 = 0;
  for (let b = 0; b < nb; b++) {
    const high = load<u32>(w, 4);
    const qs = v128.load(w, 8);
    let s = dotUnsigned(ZERO, v128.load(a), v128.or(v128.and(qs, LOW_NIBBLE), highBitsTimes16(high, 0)));
    s = dotUnsigned(s, v128.load(a, 16), v128.or(i8x16.shr_u(qs, 4), highBitsTimes16(high, 16)));
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.splat(f16ToF32(load<u16>(w)) * load<f32>(a, 32)), acc);
    mins += f16ToF32(load<u16>(w, 2)) * load<f32>(a, 36);
    w += 24;
    a += Q8_BLOCK_BYTES;
  }
  return sumF32x4(acc) + mins;
}

// ---- 256-element K-quant blocks × Q8_K activations ----
// Activation block: qs at 0, sum of each 16 values at 256 + 4·g, d at 320.

@inline
function groupSum(a: usize, g: i32): i32 {
  return load<i32>(a + 256 + (<usize>g << 2));
}

/** Scale and min of sub-block j (0..7) from the 12 packed 6-bit bytes of Q4_K/Q5_K, as (min << 8) | scale. */
@inline
function scaleMinK4(scales: usize, j: i32): i32 {
  if (j < 4) return ((<i32>load<u8>(scales + j + 4) & 63) << 8) | (<i32>load<u8>(scales + j) & 63);
  const sc = (<i32>load<u8>(scales + j + 4) & 0xf) | ((<i32>load<u8>(scales + j - 4) >> 6) << 4);
  const m = (<i32>load<u8>(scales + j + 4) >> 4) | ((<i32>load<u8>(scales + j) >> 6) << 4);
  return (m << 8) | sc;
}

function dotQ2_K(w: usize, a: usize, nb: i32): f32 {
  let total: f32 = 0;
  const three = i8x16.splat(3);
  for (let b = 0; b < nb; b++) {
    let sumi = ZERO;
    let mins: i32 = 0;
    for (let half = 0; half < 2; half++) {
      const q0 = v128.load(w + 16 + (<usize>half << 5));
      const q1 = v128.load(w + 32 + (<usize>half << 5));
      for (let j = 0; j < 4; j++) {
        const g = half * 8 + j * 2; // scale group of the first 16 values
        const sc0 = <i32>load<u8>(w + g);
        const sc1 = <i32>load<u8>(w + g + 1);
        const ap = a + (<usize>g << 4);
        const s0 = dotUnsigned(ZERO, v128.load(ap), v128.and(i8x16.shr_u(q0, j * 2), three));
        const s1 = dotUnsigned(ZERO, v128.load(ap, 16), v128.and(i8x16.shr_u(q1, j * 2), three));
        sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(s0, i32x4.splat(sc0 & 0xf)), i32x4.mul(s1, i32x4.splat(sc1 & 0xf))));
        mins += (sc0 >> 4) * groupSum(a, g) + (sc1 >> 4) * groupSum(a, g + 1);
      }
    }
    const dy = load<f32>(a, 320);
    total += dy * f16ToF32(load<u16>(w, 80)) * <f32>sumI32x4(sumi) - dy * f16ToF32(load<u16>(w, 82)) * <f32>mins;
    w += 84;
    a += Q8K_BLOCK_BYTES;
  }
  return total;
}

/** Signed 6-bit scale i (0..15) of a Q3_K block, still offset by 32. */
@inline
function scaleQ3K(scales: usize, i: i32): i32 {
  const low = i < 8 ? <i32>load<u8>(scales + i) & 0xf : <i32>load<u8>(scales + i - 8) >> 4;
  const high = (<i32>load<u8>(scales + 8 + (i & 3)) >> ((i >> 2) << 1)) & 3;
  return (low | (high << 4)) - 32;
}

function dotQ3_K(w: usize, a: usize, nb: i32): f32 {
  let total: f32 = 0;
  const three = i8x16.splat(3);
  const one = i8x16.splat(1);
  for (let b = 0; b < nb; b++) {
    let sumi = ZERO;
    const hm0 = v128.load(w);
    const hm1 = v128.load(w, 16);
    for (let half = 0; half < 2; half++) {
      const q0 = v128.load(w + 32 + (<usize>half << 5));
      const q1 = v128.load(w + 48 + (<usize>half << 5));
      for (let j = 0; j < 4; j++) {
        const bit = half * 4 + j;
        const g = half * 8 + j * 2;
        // Unsigned 3-bit value (2 low bits | high bit << 2); the weight is that − 4.
        const w0 = v128.or(v128.and(i8x16.shr_u(q0, j * 2), three), i8x16.shl(v128.and(i8x16.shr_u(hm0, bit), one), 2));
        const w1 = v128.or(v128.and(i8x16.shr_u(q1, j * 2), three), i8x16.shl(v128.and(i8x16.shr_u(hm1, bit), one), 2));
        const ap = a + (<usize>g << 4);
        const s0 = i32x4.sub(dotUnsigned(ZERO, v128.load(ap), w0), i32x4.splat(groupSum(a, g)));
        const s1 = i32x4.sub(dotUnsigned(ZERO, v128.load(ap, 16), w1), i32x4.splat(groupSum(a, g + 1)));
        sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(s0, i32x4.splat(scaleQ3K(w + 96, g))), i32x4.mul(s1, i32x4.splat(scaleQ3K(w + 96, g + 1)))));
      }
    }
    total += load<f32>(a, 320) * f16ToF32(load<u16>(w, 108)) * <f32>sumI32x4(sumi);
    w += 110;
    a += Q8K_BLOCK_BYTES;
  }
  return total;
}

/** Q4_K and Q5_K share everything but the fifth bit (`highBits` is 0 for Q4_K). */
@inline
function dotQ4Q5_K(w: usize, a: usize, nb: i32, isQ5: bool): f32 {
  let total: f32 = 0;
  const one = i8x16.splat(1);
  const blockBytes: usize = isQ5 ? 176 : 144;
  const qsOffset: usize = isQ5 ? 48 : 16;
  for (let b = 0; b < nb; b++) {
    let sumi = ZERO;
    let mins: i32 = 0;
    for (let j = 0; j < 4; j++) {
      const qp = w + qsOffset + (<usize>j << 5);
      const ap = a + (<usize>j << 6);
      let lo0 = v128.and(v128.load(qp), LOW_NIBBLE);
      let lo1 = v128.and(v128.load(qp, 16), LOW_NIBBLE);
      let hi0 = i8x16.shr_u(v128.load(qp), 4);
      let hi1 = i8x16.shr_u(v128.load(qp, 16), 4);
      if (isQ5) {
        const qh0 = v128.load(w, 16);
        const qh1 = v128.load(w, 32);
        lo0 = v128.or(lo0, i8x16.shl(v128.and(i8x16.shr_u(qh0, j * 2), one), 4));
        lo1 = v128.or(lo1, i8x16.shl(v128.and(i8x16.shr_u(qh1, j * 2), one), 4));
        hi0 = v128.or(hi0, i8x16.shl(v128.and(i8x16.shr_u(qh0, j * 2 + 1), one), 4));
        hi1 = v128.or(hi1, i8x16.shl(v128.and(i8x16.shr_u(qh1, j * 2 + 1), one), 4));
      }
      const sm0 = scaleMinK4(w + 4, j * 2);
      const sm1 = scaleMinK4(w + 4, j * 2 + 1);
      const sLo = dotUnsigned(dotUnsigned(ZERO, v128.load(ap), lo0), v128.load(ap, 16), lo1);
      const sHi = dotUnsigned(dotUnsigned(ZERO, v128.load(ap, 32), hi0), v128.load(ap, 48), hi1);
      sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(sLo, i32x4.splat(sm0 & 0xff)), i32x4.mul(sHi, i32x4.splat(sm1 & 0xff))));
      mins += (sm0 >> 8) * (groupSum(a, j * 4) + groupSum(a, j * 4 + 1)) + (sm1 >> 8) * (groupSum(a, j * 4 + 2) + groupSum(a, j * 4 + 3));
    }
    const dy = load<f32>(a, 320);
    total += dy * f16ToF32(load<u16>(w)) * <f32>sumI32x4(sumi) - dy * f16ToF32(load<u16>(w, 2)) * <f32>mins;
    w += blockBytes;
    a += Q8K_BLOCK_BYTES;
  }
  return total;
}

/** sumi + scale·Σ a·(q − 32) over one group of 16 Q6_K values q (unsigned 6-bit). */
@inline
function q6Group(sumi: v128, a: usize, ap: usize, q: v128, scale: usize, g: i32): v128 {
  // Subtracting 8·Σa in each of the four lanes removes the offset 32.
  const s = i32x4.sub(dotUnsigned(ZERO, v128.load(ap), q), i32x4.splat(groupSum(a, g) << 3));
  return i32x4.add(sumi, i32x4.mul(s, i32x4.splat(<i32>load<i8>(scale))));
}

function dotQ6_K(w: usize, a: usize, nb: i32): f32 {
  let total: f32 = 0;
  const three = i8x16.splat(3);
  for (let b = 0; b < nb; b++) {
    let sumi = ZERO;
    for (let half = 0; half < 2; half++) {
      const ql = w + (<usize>half << 6);
      const qh = w + 128 + (<usize>half << 5);
      const sc = w + 192 + (<usize>half << 3);
      const ah = a + (<usize>half << 7);
      for (let part = 0; part < 2; part++) {
        // 16 values of each of the four 32-wide quarters that share these ql/qh bytes.
        const offset = <usize>part << 4;
        const low = v128.load(ql + offset);
        const low32 = v128.load(ql + 32 + offset);
        const high = v128.load(qh + offset);
        const w0 = v128.or(v128.and(low, LOW_NIBBLE), i8x16.shl(v128.and(high, three), 4));
        const w1 = v128.or(v128.and(low32, LOW_NIBBLE), i8x16.shl(v128.and(i8x16.shr_u(high, 2), three), 4));
        const w2 = v128.or(i8x16.shr_u(low, 4), i8x16.shl(v128.and(i8x16.shr_u(high, 4), three), 4));
        const w3 = v128.or(i8x16.shr_u(low32, 4), i8x16.shl(i8x16.shr_u(high, 6), 4));
        const group0 = half * 8 + part; // scale group of w0's 16 values; w1..w3 follow every 2 groups
        const scales = sc + part;
        sumi = q6Group(sumi, a, ah + offset, w0, scales, group0);
        sumi = q6Group(sumi, a, ah + 32 + offset, w1, scales + 2, group0 + 2);
        sumi = q6Group(sumi, a, ah + 64 + offset, w2, scales + 4, group0 + 4);
        sumi = q6Group(sumi, a, ah + 96 + offset, w3, scales + 6, group0 + 6);
      }
    }
    total += load<f32>(a, 320) * f16ToF32(load<u16>(w, 208)) * <f32>sumI32x4(sumi);
    w += 210;
    a += Q8K_BLOCK_BYTES;
  }
  return total;
}

// ---- float weights × f32 activations (already rounded to the weight's precision) ----

function dotF32(w: usize, x: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    acc0 = madd(v128.load(w + o), v128.load(x + o), acc0);
    acc1 = madd(v128.load(w + o, 16), v128.load(x + o, 16), acc1);
  }
  let total = sumF32x4(f32x4.add(acc0, acc1));
  for (; i < n; i++) total += load<f32>(w + (<usize>i << 2)) * load<f32>(x + (<usize>i << 2));
  return total;
}

function dotF16(w: usize, x: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(w + (<usize>i << 1));
    const o = <usize>i << 2;
    acc0 = madd(f16x4ToF32x4(i32x4.extend_low_i16x8_u(h)), v128.load(x + o), acc0);
    acc1 = madd(f16x4ToF32x4(i32x4.extend_high_i16x8_u(h)), v128.load(x + o, 16), acc1);
  }
  let total = sumF32x4(f32x4.add(acc0, acc1));
  for (; i < n; i++) total += f16ToF32(load<u16>(w + (<usize>i << 1))) * load<f32>(x + (<usize>i << 2));
  return total;
}

function dotBf16(w: usize, x: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(w + (<usize>i << 1));
    const o = <usize>i << 2;
    acc0 = madd(i32x4.shl(i32x4.extend_low_i16x8_u(h), 16), v128.load(x + o), acc0);
    acc1 = madd(i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), v128.load(x + o, 16), acc1);
  }
  let total = sumF32x4(f32x4.add(acc0, acc1));
  for (; i < n; i++) total += reinterpret<f32>(<u32>load<u16>(w + (<usize>i << 1)) << 16) * load<f32>(x + (<usize>i << 2));
  return total;
}

/** Bytes of one weight row of `cols` elements. */
export function rowBytes(type: i32, cols: i32): i32 {
  switch (type) {
    case F32: return cols * 4;
    case F16: case BF16: return cols * 2;
    case Q4_0: return (cols >> 5) * 18;
    case Q4_1: return (cols >> 5) * 20;
    case Q5_0: return (cols >> 5) * 22;
    case Q5_1: return (cols >> 5) * 24;
    case Q8_0: return (cols >> 5) * 34;
    case Q2_K: return (cols >> 8) * 84;
    case Q3_K: return (cols >> 8) * 110;
    case Q4_K: return (cols >> 8) * 144;
    case Q5_K: return (cols >> 8) * 176;
    case Q6_K: return (cols >> 8) * 210;
    default: return -1;
  }
}

/** Bytes of one prepared activation row of `cols` elements for weights of `type`. */
export function activationRowBytes(type: i32, cols: i32): i32 {
  switch (type) {
    case F32: case F16: case BF16: return cols * 4;
    case Q4_0: case Q4_1: case Q5_0: case Q5_1: case Q8_0: return (cols >> 5) * Q8_BLOCK_BYTES;
    case Q2_K: case Q3_K: case Q4_K: case Q5_K: case Q6_K: return (cols >> 8) * Q8K_BLOCK_BYTES;
    default: return -1;
  }
}

@inline
function dotRow(type: i32, w: usize, a: usize, cols: i32): f32 {
  switch (type) {
    case F32: return dotF32(w, a, cols);
    case F16: return dotF16(w, a, cols);
    case BF16: return dotBf16(w, a, cols);
    case Q4_0: return dotQ4_0(w, a, cols >> 5);
    case Q4_1: return dotQ4_1(w, a, cols >> 5);
    case Q5_0: return dotQ5_0(w, a, cols >> 5);
    case Q5_1: return dotQ5_1(w, a, cols >> 5);
    case Q8_0: return dotQ8_0(w, a, cols >> 5);
    case Q2_K: return dotQ2_K(w, a, cols >> 8);
    case Q3_K: return dotQ3_K(w, a, cols >> 8);
    case Q4_K: return dotQ4Q5_K(w, a, cols >> 8, false);
    case Q5_K: return dotQ4Q5_K(w, a, cols >> 8, true);
    case Q6_K: return dotQ6_K(w, a, cols >> 8);
    default: return NaN;
  }
}

/**
 * out[t·rows + r] = W[r] · act[t] for rows r in [rowStart, rowEnd) and tokens t < nTokens.
 * Weight rows outside the loop over tokens: each row is read from memory once per call.
 */
export function matmul(type: i32, w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const wStride = <usize>rowBytes(type, cols);
  const aStride = <usize>activationRowBytes(type, cols);
  for (let r = rowStart; r < rowEnd; r++) {
    const wr = w + <usize>r * wStride;
    for (let t = 0; t < nTokens; t++) {
      store<f32>(out + ((<usize>t * <usize>rows + <usize>r) << 2), dotRow(type, wr, act + <usize>t * aStride, cols));
    }
  }
}
