// Weight rows back to f32 (embedding lookups, and tests of the dot products).
// Plain scalar code: it runs once per token, not per weight per token.

import {
  BF16, F16, F32, Q2_K, Q3_K, Q4_0, Q4_0_GROUP_BLOCK_BYTES, Q4_0_ROWS_OF_4, Q4_1, Q4_K, Q4_K_ROWS_OF_4, Q4_K_GROUP_BLOCK_BYTES, Q4_K_GROUP_CODES,
  Q4_K_GROUP_DMIN, Q4_K_GROUP_MINS, Q4_K_GROUP_SCALES, Q5_0, Q5_1, Q5_K, Q6_K, Q8_0, rowBytes,
} from './matmul';
import { f16ToF32 } from './simd';

@inline
function put(out: usize, i: i32, v: f32): void {
  store<f32>(out + (<usize>i << 2), v);
}

@inline
function half(p: usize): f32 {
  return f16ToF32(load<u16>(p));
}

/** Dequantizes one 32-element block of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 starting at element `base`. */
function dequantBlock32(type: i32, w: usize, out: usize, base: i32): void {
  const d = half(w);
  if (type == Q8_0) {
    for (let i = 0; i < 32; i++) put(out, base + i, d * <f32>load<i8>(w + 2 + i));
    return;
  }
  const hasMin = type == Q4_1 || type == Q5_1;
  const hasHigh = type == Q5_0 || type == Q5_1;
  const high: u32 = hasHigh ? load<u32>(w + (hasMin ? 4 : 2)) : 0;
  dequantNibbles(d, hasMin ? half(w + 2) : 0, hasMin, high, hasHigh ? 16 : 8, w + (hasMin ? 4 : 2) + (hasHigh ? 4 : 0), 4, out, base);
}

/**
 * The 32 values of a block of 16 code bytes at qs (low nibbles: values 0–15, high: 16–31), each
 * with its fifth bit from `high`: d·(code − offset), or d·code + m where the type has a min. The
 * code bytes come in runs of 4, quadStride bytes apart (4: contiguous).
 */
@inline
function dequantNibbles(d: f32, m: f32, hasMin: bool, high: u32, offset: i32, qs: usize, quadStride: usize, out: usize, base: i32): void {
  for (let i = 0; i < 16; i++) {
    const byte = <i32>load<u8>(qs + <usize>(i >> 2) * quadStride + <usize>(i & 3));
    const lo = (byte & 0xf) | (<i32>((high >> i) & 1) << 4);
    const hi = (byte >> 4) | (<i32>((high >> (i + 16)) & 1) << 4);
    // Adding a zero min would turn −0 into +0: only the types with a min add it.
    put(out, base + i, hasMin ? d * <f32>lo + m : d * <f32>(lo - offset));
    put(out, base + i + 16, hasMin ? d * <f32>hi + m : d * <f32>(hi - offset));
  }
}

@inline
function scaleMinK4(scales: usize, j: i32): i32 {
  if (j < 4) return ((<i32>load<u8>(scales + j + 4) & 63) << 8) | (<i32>load<u8>(scales + j) & 63);
  const sc = (<i32>load<u8>(scales + j + 4) & 0xf) | ((<i32>load<u8>(scales + j - 4) >> 6) << 4);
  const m = (<i32>load<u8>(scales + j + 4) >> 4) | ((<i32>load<u8>(scales + j) >> 6) << 4);
  return (m << 8) | sc;
}

/** A Q4_K/Q5_K value: code q of a sub-block with 6-bit scale sc and min m. */
@inline
function q4KValue(d: f32, dmin: f32, sc: i32, m: i32, q: i32): f32 {
  return d * <f32>sc * <f32>q - dmin * <f32>m;
}

/** Dequantizes one 256-element K-quant block starting at element `base`. */
function dequantBlockK(type: i32, w: usize, out: usize, base: i32): void {
  if (type == Q2_K) {
    const d = half(w + 80);
    const dmin = half(w + 82);
    for (let e = 0; e < 256; e++) {
      const halfIdx = e >> 7;
      const j = (e >> 5) & 3;
      const l = e & 31;
      const sc = <i32>load<u8>(w + (e >> 4));
      const q = (<i32>load<u8>(w + 16 + halfIdx * 32 + l) >> (j * 2)) & 3;
      put(out, base + e, d * <f32>(sc & 0xf) * <f32>q - dmin * <f32>(sc >> 4));
    }
  } else if (type == Q3_K) {
    const d = half(w + 108);
    for (let e = 0; e < 256; e++) {
      const halfIdx = e >> 7;
      const j = (e >> 5) & 3;
      const l = e & 31;
      const g = e >> 4;
      const low = g < 8 ? <i32>load<u8>(w + 96 + g) & 0xf : <i32>load<u8>(w + 96 + g - 8) >> 4;
      const highScale = (<i32>load<u8>(w + 96 + 8 + (g & 3)) >> ((g >> 2) << 1)) & 3;
      const scale = (low | (highScale << 4)) - 32;
      const q = (<i32>load<u8>(w + 32 + halfIdx * 32 + l) >> (j * 2)) & 3;
      const hbit = (<i32>load<u8>(w + l) >> (halfIdx * 4 + j)) & 1;
      put(out, base + e, d * <f32>scale * <f32>(q - (hbit ? 0 : 4)));
    }
  } else if (type == Q4_K || type == Q5_K) {
    const isQ5 = type == Q5_K;
    const d = half(w);
    const dmin = half(w + 2);
    const qs = w + (isQ5 ? 48 : 16);
    for (let e = 0; e < 256; e++) {
      const sub = e >> 5; // 32-element sub-block
      const chunk = e >> 6;
      const l = e & 31;
      const byte = <i32>load<u8>(qs + chunk * 32 + l);
      let q = sub & 1 ? byte >> 4 : byte & 0xf;
      if (isQ5) q += ((<i32>load<u8>(w + 16 + l) >> sub) & 1) << 4;
      const sm = scaleMinK4(w + 4, sub);
      put(out, base + e, q4KValue(d, dmin, sm & 0xff, sm >> 8, q));
    }
  } else if (type == Q6_K) {
    const d = half(w + 208);
    for (let e = 0; e < 256; e++) {
      const halfIdx = e >> 7;
      const quarter = (e >> 5) & 3;
      const l = e & 31;
      const ql = w + halfIdx * 64 + (quarter & 1) * 32 + l;
      const low = quarter < 2 ? <i32>load<u8>(ql) & 0xf : <i32>load<u8>(ql) >> 4;
      const high = (<i32>load<u8>(w + 128 + halfIdx * 32 + l) >> (quarter * 2)) & 3;
      const scale = <i32>load<i8>(w + 192 + halfIdx * 8 + quarter * 2 + (l >> 4));
      put(out, base + e, d * <f32>scale * <f32>((low | (high << 4)) - 32));
    }
  }
}

/** out = row `row` of a weight matrix with `cols` columns, as f32. */
export function dequantizeRow(type: i32, w: usize, cols: i32, row: i32, out: usize): void {
  const src = w + <usize>row * <usize>rowBytes(type, cols);
  if (type == Q4_0_ROWS_OF_4) {
    // Row k of its group of 4: scale k of each block of the group, and run k of each 16-byte run of codes.
    const group = w + <usize>(row >> 2) * 4 * <usize>rowBytes(type, cols);
    const k = <usize>(row & 3);
    for (let b = 0; b < cols >> 5; b++) {
      const block = group + <usize>b * Q4_0_GROUP_BLOCK_BYTES;
      dequantNibbles(half(block + (k << 1)), 0, false, 0, 8, block + 8 + (k << 2), 16, out, b << 5);
    }
  } else if (type == Q4_K_ROWS_OF_4) {
    // Row k of its group of 4: its d, dmin, scales and mins in each super-block, and its 4-byte runs of codes.
    const group = w + <usize>(row >> 2) * 4 * <usize>rowBytes(type, cols);
    const k = <usize>(row & 3);
    for (let b = 0; b < cols >> 8; b++) {
      const block = group + <usize>b * Q4_K_GROUP_BLOCK_BYTES;
      const d = half(block + (k << 1));
      const dmin = half(block + Q4_K_GROUP_DMIN + (k << 1));
      for (let e = 0; e < 256; e++) {
        const sub = e >> 5;
        const l = <usize>(e & 31);
        const byte = <i32>load<u8>(block + Q4_K_GROUP_CODES + (<usize>(e >> 6) << 7) + ((l >> 2) << 4) + (k << 2) + (l & 3));
        const sc = <i32>load<u8>(block + Q4_K_GROUP_SCALES + (<usize>sub << 2) + k);
        const m = <i32>load<u8>(block + Q4_K_GROUP_MINS + (<usize>(sub >> 1) << 3) + (k << 1) + <usize>(sub & 1));
        put(out, (b << 8) + e, q4KValue(d, dmin, sc, m, sub & 1 ? byte >> 4 : byte & 0xf));
      }
    }
  } else if (type == F32) {
    memory.copy(out, src, <usize>cols << 2);
  } else if (type == F16) {
    for (let i = 0; i < cols; i++) put(out, i, half(src + (<usize>i << 1)));
  } else if (type == BF16) {
    for (let i = 0; i < cols; i++) put(out, i, reinterpret<f32>(<u32>load<u16>(src + (<usize>i << 1)) << 16));
  } else if (type == Q2_K || type == Q3_K || type == Q4_K || type == Q5_K || type == Q6_K) {
    const blockBytes = rowBytes(type, 256);
    for (let b = 0; b < cols >> 8; b++) dequantBlockK(type, src + <usize>(b * blockBytes), out, b << 8);
  } else {
    const blockBytes = rowBytes(type, 32);
    for (let b = 0; b < cols >> 5; b++) dequantBlock32(type, src + <usize>(b * blockBytes), out, b << 5);
  }
}
