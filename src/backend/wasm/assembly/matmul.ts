// Matrix × activations for every supported weight layout. A weight matrix is
// `rows` rows of `cols` elements in its GGUF block layout; activations were
// prepared by activations.ts. Each dot product keeps integer sums exact within
// a block and applies the float scales once per block, as ggml's vec_dot does.

import { Q8K_BLOCK_BYTES, Q8K_SCALE, Q8K_SUMS, Q8_BLOCK_BYTES, Q8_QUAD_SUMS, Q8_SUM_TIMES_8 } from './activations';
import { BIT_2, BIT_4, BITS_4_5, K_MINS_LOW, K_MINS_TOP, K_NIBBLES, K_SCALES_LOW, K_SCALES_TOP, LOW_2_BITS, LOW_6_BITS, LOW_NIBBLES, ONES_I16 } from './constants';
import { dotQuadsScaled, dotQuadsScaledPair, dotQuadsSigned, dotQuadsUnsigned, f16ToF32, f16x4ToF32x4, fmaF32, fmaF32x4, finishQuarter, highBitsTimes16, highNibbles, madd, pairSums, pickBytes, sumF32x4, sumF32x8, sumI32x4 } from './simd';

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

/**
 * Not a GGML type: Q4_0 weights of a multiple of 8 rows as the backend keeps them (see
 * weightLayout). Each group of 4 rows holds, per block, the 4 rows' f16 scales (8 bytes) and
 * then their code bytes interleaved 4 at a time: run j of 16 bytes holds bytes 4j…4j+3 of rows
 * 0, 1, 2 and 3. 72 bytes, the size of the 4 GGUF blocks, read by a tile as one stream with its
 * scales in one load; the products of one run with a token's 4 activations land in the lane of
 * their row, so that no sum crosses lanes.
 */
export const Q4_0_ROWS_OF_4: i32 = 1002;
/** Bytes of one block of Q4_0_ROWS_OF_4: 4 rows' scales and codes. */
export const Q4_0_GROUP_BLOCK_BYTES: usize = 72;

/**
 * Not a GGML type: Q4_K weights of a multiple of 8 rows as the backend keeps them, 4 rows a
 * group, as Q4_0_ROWS_OF_4 (see weightLayout). Per super-block: the 4 rows' d (f16, from 0) and
 * dmin (from 8); their 6-bit sub-block scales unpacked to bytes, sub-block s's 4 at 16 + 4s; their
 * mins, sub-blocks 2p and 2p + 1 of row r at 48 + 8p + 2r; then the codes (from 80), each 32-byte
 * group j of a row (sub-blocks 2j, low nibbles, and 2j + 1, high) in runs of 4 bytes across the 4
 * rows: bytes 4k…4k+3 of row r at 80 + 128j + 16k + 4r. 592 bytes for the 4 GGUF blocks' 576.
 */
export const Q4_K_ROWS_OF_4: i32 = 1012;
/** Bytes of one super-block of Q4_K_ROWS_OF_4, and where its parts start (d at 0). */
export const Q4_K_GROUP_BLOCK_BYTES: usize = 592;
export const Q4_K_GROUP_DMIN: usize = 8;
export const Q4_K_GROUP_SCALES: usize = 16;
export const Q4_K_GROUP_MINS: usize = 48;
export const Q4_K_GROUP_CODES: usize = 80;

const ZERO: v128 = i32x4.splat(0);

// ---- 32-element blocks × Q8 activations ----
// As ggml's AVX2 vec_dot: per block, 8 integer sums of 4 products (elements 0–15 in
// lanes 0–3, 16–31 in lanes 4–7), each multiplied by d_w·d_a and added with a fused
// multiply-add into 8 f32 accumulators that are summed at the end (hsum_float_8).

// The 8 accumulators are two f32x4 locals per token (low: lanes 0–3, high: 4–7).

/** acc + d·sums per lane (i32 sums converted to f32, d an f32 splat) with a fused multiply-add, as ggml's cvtepi32_ps + fmadd_ps. */
@inline
function fmaLanes(acc: v128, sums: v128, d: v128): v128 {
  return fmaF32x4(f32x4.convert_i32x4_s(sums), d, acc);
}

/**
 * acc + d·(quad sums of 16 weights, elements 16·half… of the block, with the Q8 activation block at
 * a): Q8_0's signed weights; the other types' stored codes (unsigned), less the codes' offset times
 * the activations' quad sums for the types that store one (Q4_0: 8, Q5_0: 16), which saves the
 * sign handling that a signed byte dot product costs.
 */
@inline
function addProducts(type: i32, acc: v128, a: usize, half: usize, weights: v128, d: v128): v128 {
  const act = v128.load(a + (half << 4));
  if (type == Q8_0) return fmaLanes(acc, dotQuadsSigned(act, weights), d);
  let sums = dotQuadsUnsigned(act, weights);
  if (type == Q4_0 || type == Q5_0) {
    const sixteenTimesQuads = v128.load(a + Q8_QUAD_SUMS + (half << 4));
    sums = i32x4.sub(sums, type == Q4_0 ? i32x4.shr_s(sixteenTimesQuads, 1) : sixteenTimesQuads);
  }
  return fmaLanes(acc, sums, d);
}

/**
 * Four rows of Q4_0_ROWS_OF_4 weights (their group at w) with up to four tokens' activations (aStride
 * bytes apart), as llama.cpp computes Q4_0 matrices of a multiple of 8 rows (which it repacks too):
 * per row and token, each block's whole integer dot product times d_w·d_a added to a running sum
 * with a fused multiply-add. Each weight block is unpacked once for all the tokens, and the 16
 * running sums (a vector of four rows per token) are independent chains. Writes token i's four
 * results at out + i·outStride. Inlined, so that a constant `tokens` of 1 (decoding) compiles to the
 * one-token loop alone.
 */
@inline
function q4_0Tile(w: usize, a: usize, aStride: usize, nb: i32, tokens: i32, out: usize, outStride: usize): void {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let acc2 = f32x4.splat(0);
  let acc3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    // The 4 runs of code bytes, unpacked: in run j, the stored nibbles of elements 4j…4j+3
    // (low) and 16 + 4j… (high) of each row.
    const q0 = v128.load(w, 8);
    const q1 = v128.load(w, 24);
    const q2 = v128.load(w, 40);
    const q3 = v128.load(w, 56);
    const low0 = v128.and(q0, LOW_NIBBLES);
    const low1 = v128.and(q1, LOW_NIBBLES);
    const low2 = v128.and(q2, LOW_NIBBLES);
    const low3 = v128.and(q3, LOW_NIBBLES);
    const high0 = highNibbles(q0);
    const high1 = highNibbles(q1);
    const high2 = highNibbles(q2);
    const high3 = highNibbles(q3);
    // Finite scales (see f16x4ToF32x4).
    const scales = f16x4ToF32x4(i32x4.extend_low_i16x8_s(v128.load64_zero(w)));
    acc0 = q4_0Accumulate(a, acc0, low0, high0, low1, high1, low2, high2, low3, high3, scales);
    if (tokens > 1) acc1 = q4_0Accumulate(a + aStride, acc1, low0, high0, low1, high1, low2, high2, low3, high3, scales);
    if (tokens > 2) acc2 = q4_0Accumulate(a + aStride * 2, acc2, low0, high0, low1, high1, low2, high2, low3, high3, scales);
    if (tokens > 3) acc3 = q4_0Accumulate(a + aStride * 3, acc3, low0, high0, low1, high1, low2, high2, low3, high3, scales);
    w += Q4_0_GROUP_BLOCK_BYTES;
    a += Q8_BLOCK_BYTES;
  }
  v128.store(out, acc0);
  if (tokens > 1) v128.store(out + outStride, acc1);
  if (tokens > 2) v128.store(out + outStride * 2, acc2);
  if (tokens > 3) v128.store(out + outStride * 3, acc3);
}

/**
 * The layout the backend keeps a weight of GGML `type` with `rows` rows in: Q4_0 and Q4_K
 * matrices of a multiple of 8 rows in groups of 4 rows (which llama.cpp repacks too, and computes
 * as these tiles do), every other weight as its GGUF rows.
 */
export function weightLayout(type: i32, rows: i32): i32 {
  if ((rows & 7) != 0) return type;
  return type == Q4_0 ? Q4_0_ROWS_OF_4 : type == Q4_K ? Q4_K_ROWS_OF_4 : type;
}

/**
 * Writes the GGUF rows at src into `layout` (one of weightLayout's groups of 4 rows) at dst, one
 * group at a time through `scratch` (4 source rows' bytes), so that src may lie inside the
 * destination's bytes, at their end.
 */
export function repack(layout: i32, dst: usize, src: usize, rows: i32, cols: i32, scratch: usize): void {
  const isQ4_0 = layout == Q4_0_ROWS_OF_4;
  const sourceRowBytes = <usize>rowBytes(isQ4_0 ? Q4_0 : Q4_K, cols);
  const groupRowBytes = <usize>rowBytes(layout, cols);
  for (let g = 0; g < rows; g += 4) {
    memory.copy(scratch, src + <usize>g * sourceRowBytes, sourceRowBytes * 4);
    const group = dst + <usize>g * groupRowBytes;
    if (isQ4_0) {
      for (let b = 0; b < cols >> 5; b++) repackQ4_0Block(group + <usize>b * Q4_0_GROUP_BLOCK_BYTES, scratch + <usize>b * 18, sourceRowBytes);
    } else {
      for (let b = 0; b < cols >> 8; b++) repackQ4_KBlock(group + <usize>b * Q4_K_GROUP_BLOCK_BYTES, scratch + <usize>b * 144, sourceRowBytes);
    }
  }
}

/** One block of Q4_0_ROWS_OF_4 from the same block of 4 GGUF rows (at src, rowStride apart). */
@inline
function repackQ4_0Block(dst: usize, src: usize, rowStride: usize): void {
  for (let r: usize = 0; r < 4; r++) {
    const block = src + r * rowStride;
    store<u16>(dst + (r << 1), load<u16>(block));
    for (let k: usize = 0; k < 4; k++) store<u32>(dst + 8 + (k << 4) + (r << 2), load<u32>(block + 2 + (k << 2)));
  }
}

/** One super-block of Q4_K_ROWS_OF_4 from the same super-block of 4 GGUF rows (at src, rowStride apart). */
@inline
function repackQ4_KBlock(dst: usize, src: usize, rowStride: usize): void {
  for (let r: usize = 0; r < 4; r++) {
    const block = src + r * rowStride;
    store<u16>(dst + (r << 1), load<u16>(block));
    store<u16>(dst + Q4_K_GROUP_DMIN + (r << 1), load<u16>(block, 2));
    // The 8 scales and the 8 mins as bytes.
    const unpacked = i8x16.narrow_i16x8_u(kScalesOrMins(block + 4, false), kScalesOrMins(block + 4, true));
    const scales = i64x2.extract_lane(unpacked, 0);
    const mins = i64x2.extract_lane(unpacked, 1);
    for (let s: usize = 0; s < 8; s++) {
      store<u8>(dst + Q4_K_GROUP_SCALES + (s << 2) + r, <u8>(scales >> (s << 3)));
      store<u8>(dst + Q4_K_GROUP_MINS + ((s >> 1) << 3) + (r << 1) + (s & 1), <u8>(mins >> (s << 3)));
    }
    for (let j: usize = 0; j < 4; j++) {
      for (let k: usize = 0; k < 8; k++) {
        store<u32>(dst + Q4_K_GROUP_CODES + (j << 7) + (k << 4) + (r << 2), load<u32>(block + 16 + (j << 5) + (k << 2)));
      }
    }
  }
}

/**
 * acc + d·(integer dot product) of four rows' unpacked Q4_0 block (runs j: low_j, high_j) with the
 * Q8 activation block at a, lane r for row r: each run times its activations' 4 bytes in every lane.
 */
@inline
function q4_0Accumulate(
  a: usize, acc: v128,
  low0: v128, high0: v128, low1: v128, high1: v128, low2: v128, high2: v128, low3: v128, high3: v128, scales: v128,
): v128 {
  // Pair sums of nibbles (0..15) and activations (|a| ≤ 127): 8 of them add up within 16 bits.
  const lowSums = i16x8.add(
    i16x8.add(pairSums(v128.load32_splat(a), low0), pairSums(v128.load32_splat(a, 4), low1)),
    i16x8.add(pairSums(v128.load32_splat(a, 8), low2), pairSums(v128.load32_splat(a, 12), low3)),
  );
  const highSums = i16x8.add(
    i16x8.add(pairSums(v128.load32_splat(a, 16), high0), pairSums(v128.load32_splat(a, 20), high1)),
    i16x8.add(pairSums(v128.load32_splat(a, 24), high2), pairSums(v128.load32_splat(a, 28), high3)),
  );
  const sums = i32x4.dot_i16x8_s(i16x8.add(lowSums, highSums), ONES_I16);
  // Less 8·Σa: the −8 of every weight times the block's activations.
  return fmaF32x4(f32x4.convert_i32x4_s(i32x4.sub(sums, v128.load32_splat(a + Q8_SUM_TIMES_8))), f32x4.mul(scales, v128.load32_splat(a + 32)), acc);
}

/**
 * One row of 32-element blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) with up to four tokens' Q8
 * activations (aStride bytes apart), each token as ggml's AVX2 vec_dot computes it: per block
 * the 8 quad sums times d_w·d_a into its 8 accumulators, and for the types with a min,
 * min·(activation block sum) into a scalar sum of its own. Each block is unpacked once for all
 * the tokens. Token i's result goes to out + i·outStride. Inlined with a constant `type`, and a
 * constant `tokens` of 1 when decoding.
 */
@inline
function block32Tile(type: i32, w: usize, a: usize, aStride: usize, nb: i32, tokens: i32, out: usize, outStride: usize): void {
  const hasMin = type == Q4_1 || type == Q5_1;
  const hasHigh = type == Q5_0 || type == Q5_1;
  const blockBytes: usize = type == Q8_0 ? 34 : type == Q4_0 ? 18 : type == Q4_1 ? 20 : type == Q5_0 ? 22 : 24;
  const codesAt: usize = (hasMin ? 4 : 2) + (hasHigh ? 4 : 0);
  let low0 = f32x4.splat(0), low1 = f32x4.splat(0), low2 = f32x4.splat(0), low3 = f32x4.splat(0);
  let high0 = f32x4.splat(0), high1 = f32x4.splat(0), high2 = f32x4.splat(0), high3 = f32x4.splat(0);
  let mins0: f32 = 0, mins1: f32 = 0, mins2: f32 = 0, mins3: f32 = 0;
  for (let b = 0; b < nb; b++) {
    // Elements 0–15 (lo) and 16–31 (hi) of the block.
    let lo: v128, hi: v128;
    if (type == Q8_0) {
      lo = v128.load(w, 2);
      hi = v128.load(w, 18);
    } else {
      const codes = v128.load(w + codesAt);
      lo = v128.and(codes, LOW_NIBBLES);
      hi = highNibbles(codes);
      if (hasHigh) {
        const fifthBits = load<u32>(w + (hasMin ? 4 : 2));
        lo = v128.or(lo, highBitsTimes16(fifthBits, 0));
        hi = v128.or(hi, highBitsTimes16(fifthBits, 16));
      }
    }
    const dw = f16ToF32(load<u16>(w));
    const mw: f32 = hasMin ? f16ToF32(load<u16>(w, 2)) : 0;
    const d0 = f32x4.splat(dw * load<f32>(a, 32));
    low0 = addProducts(type, low0, a, 0, lo, d0);
    high0 = addProducts(type, high0, a, 1, hi, d0);
    if (hasMin) mins0 = fmaF32(mw, load<f32>(a, 36), mins0);
    if (tokens > 1) {
      const at = a + aStride;
      const d1 = f32x4.splat(dw * load<f32>(at, 32));
      low1 = addProducts(type, low1, at, 0, lo, d1);
      high1 = addProducts(type, high1, at, 1, hi, d1);
      if (hasMin) mins1 = fmaF32(mw, load<f32>(at, 36), mins1);
    }
    if (tokens > 2) {
      const at = a + aStride * 2;
      const d2 = f32x4.splat(dw * load<f32>(at, 32));
      low2 = addProducts(type, low2, at, 0, lo, d2);
      high2 = addProducts(type, high2, at, 1, hi, d2);
      if (hasMin) mins2 = fmaF32(mw, load<f32>(at, 36), mins2);
    }
    if (tokens > 3) {
      const at = a + aStride * 3;
      const d3 = f32x4.splat(dw * load<f32>(at, 32));
      low3 = addProducts(type, low3, at, 0, lo, d3);
      high3 = addProducts(type, high3, at, 1, hi, d3);
      if (hasMin) mins3 = fmaF32(mw, load<f32>(at, 36), mins3);
    }
    w += blockBytes;
    a += Q8_BLOCK_BYTES;
  }
  // Without a min, the mins stay 0 and are not added (that would turn −0 into +0).
  store<f32>(out, hasMin ? sumF32x8(low0, high0) + mins0 : sumF32x8(low0, high0));
  if (tokens > 1) store<f32>(out + outStride, hasMin ? sumF32x8(low1, high1) + mins1 : sumF32x8(low1, high1));
  if (tokens > 2) store<f32>(out + outStride * 2, hasMin ? sumF32x8(low2, high2) + mins2 : sumF32x8(low2, high2));
  if (tokens > 3) store<f32>(out + outStride * 3, hasMin ? sumF32x8(low3, high3) + mins3 : sumF32x8(low3, high3));
}

// ---- 256-element K-quant blocks × Q8_K activations ----
// Activation block: see Q8K_BLOCK_BYTES.

@inline
function groupSum(a: usize, g: i32): i32 {
  return load<i16>(a + Q8K_SUMS + (<usize>g << 1));
}

/** `repacked`: as llama.cpp's 8-row repacked Q2_K (AVX-512), finished like q4KGroupTile's. */
function dotQ2_K(w: usize, a: usize, nb: i32, repacked: bool): f32 {
  let total: f32 = 0;
  let scaled: f32 = 0;
  let minimums: f32 = 0;
  for (let b = 0; b < nb; b++) {
    let sumi = ZERO;
    let mins: i32 = 0;
    for (let half = 0; half < 2; half++) {
      // 2-bit codes of group pair j in bits 2j, 2j + 1 of each byte: moved down two bits per pair (16-bit shifts; the mask keeps each byte's own).
      let q0 = v128.load(w + 16 + (<usize>half << 5));
      let q1 = v128.load(w + 32 + (<usize>half << 5));
      for (let j = 0; j < 4; j++) {
        const g = half * 8 + j * 2; // scale group of the first 16 values
        const sc0 = <i32>load<u8>(w + g);
        const sc1 = <i32>load<u8>(w + g + 1);
        const ap = a + (<usize>g << 4);
        sumi = i32x4.add(sumi, i32x4.add(
          dotQuadsScaled(v128.load(ap), v128.and(q0, LOW_2_BITS), i16x8.splat(<i16>(sc0 & 0xf))),
          dotQuadsScaled(v128.load(ap, 16), v128.and(q1, LOW_2_BITS), i16x8.splat(<i16>(sc1 & 0xf))),
        ));
        mins += (sc0 >> 4) * groupSum(a, g) + (sc1 >> 4) * groupSum(a, g + 1);
        q0 = i16x8.shr_u(q0, 2);
        q1 = i16x8.shr_u(q1, 2);
      }
    }
    const dy = load<f32>(a + Q8K_SCALE);
    if (repacked) {
      scaled = fmaF32(<f32>sumI32x4(sumi), f16ToF32(load<u16>(w, 80)) * dy, scaled);
      minimums = fmaF32(<f32>mins, f16ToF32(load<u16>(w, 82)) * dy, minimums);
    } else {
      total += dy * f16ToF32(load<u16>(w, 80)) * <f32>sumI32x4(sumi) - dy * f16ToF32(load<u16>(w, 82)) * <f32>mins;
    }
    w += 84;
    a += Q8K_BLOCK_BYTES;
  }
  return repacked ? scaled - minimums : total;
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
  for (let b = 0; b < nb; b++) {
    let sumi = ZERO;
    // Bits moved down as they are used, by 16-bit shifts (the masks keep each byte's own): high bit `half·4 + j` of each value, and its 2 low bits.
    let hm0 = v128.load(w);
    let hm1 = v128.load(w, 16);
    for (let half = 0; half < 2; half++) {
      let q0 = v128.load(w + 32 + (<usize>half << 5));
      let q1 = v128.load(w + 48 + (<usize>half << 5));
      for (let j = 0; j < 4; j++) {
        const g = half * 8 + j * 2;
        // Unsigned 3-bit value (2 low bits | high bit << 2); the weight is that − 4, so 4·Σa·scale comes off.
        const w0 = v128.or(v128.and(q0, LOW_2_BITS), v128.and(i16x8.shl(hm0, 2), BIT_2));
        const w1 = v128.or(v128.and(q1, LOW_2_BITS), v128.and(i16x8.shl(hm1, 2), BIT_2));
        const ap = a + (<usize>g << 4);
        const sc0 = scaleQ3K(w + 96, g);
        const sc1 = scaleQ3K(w + 96, g + 1);
        const s0 = i32x4.sub(dotQuadsScaled(v128.load(ap), w0, i16x8.splat(<i16>sc0)), i32x4.splat(groupSum(a, g) * sc0));
        const s1 = i32x4.sub(dotQuadsScaled(v128.load(ap, 16), w1, i16x8.splat(<i16>sc1)), i32x4.splat(groupSum(a, g + 1) * sc1));
        sumi = i32x4.add(sumi, i32x4.add(s0, s1));
        q0 = i16x8.shr_u(q0, 2);
        q1 = i16x8.shr_u(q1, 2);
        hm0 = i16x8.shr_u(hm0, 1);
        hm1 = i16x8.shr_u(hm1, 1);
      }
    }
    total += load<f32>(a + Q8K_SCALE) * f16ToF32(load<u16>(w, 108)) * <f32>sumI32x4(sumi);
    w += 110;
    a += Q8K_BLOCK_BYTES;
  }
  return total;
}

/**
 * Q4_K and Q5_K rows in their GGUF layout (Q4_K matrices of a multiple of 8 rows take
 * q4KGroupTile), as ggml's AVX2 vec_dot: per super-block d_a·d_w·(integer sum) less
 * d_a·dmin_w·(integer min sum) added to a running sum. Q4_K and Q5_K share everything but the
 * fifth bit. One row with up to four tokens' activations (aStride bytes apart): each block is
 * unpacked once for all of them; token i's result goes to out + i·outStride. Inlined, so that a
 * constant `tokens` of 1 (decoding) compiles to the one-token loop alone.
 */
@inline
function q4q5KTile(
  w: usize, a: usize, aStride: usize, nb: i32, isQ5: bool, tokens: i32, out: usize, outStride: usize,
): void {
  const blockBytes: usize = isQ5 ? 176 : 144;
  const qsOffset: usize = isQ5 ? 48 : 16;
  let total0: f32 = 0, total1: f32 = 0, total2: f32 = 0, total3: f32 = 0;
  for (let b = 0; b < nb; b++) {
    let sumi0 = ZERO, sumi1 = ZERO, sumi2 = ZERO, sumi3 = ZERO;
    // Sub-block scales as i16 lanes, moved down by two lanes per group pair: pair j's are in lanes 0 and 1.
    let scales = kScalesOrMins(w + 4, false);
    // Q5_K's fifth bits, bit 2j of each byte for the low nibbles of pair j and bit 2j + 1 for the high, moved down two bits per pair.
    let qh0 = isQ5 ? v128.load(w, 16) : ZERO;
    let qh1 = isQ5 ? v128.load(w, 32) : ZERO;
    for (let j = 0; j < 4; j++) {
      const qp = w + qsOffset + (<usize>j << 5);
      const codes0 = v128.load(qp);
      const codes1 = v128.load(qp, 16);
      let lo0 = v128.and(codes0, LOW_NIBBLES);
      let lo1 = v128.and(codes1, LOW_NIBBLES);
      let hi0 = highNibbles(codes0);
      let hi1 = highNibbles(codes1);
      if (isQ5) {
        // 16-bit shifts: the mask keeps each byte's own bit.
        lo0 = v128.or(lo0, v128.and(i16x8.shl(qh0, 4), BIT_4));
        lo1 = v128.or(lo1, v128.and(i16x8.shl(qh1, 4), BIT_4));
        hi0 = v128.or(hi0, v128.and(i16x8.shl(qh0, 3), BIT_4));
        hi1 = v128.or(hi1, v128.and(i16x8.shl(qh1, 3), BIT_4));
        qh0 = i16x8.shr_u(qh0, 2);
        qh1 = i16x8.shr_u(qh1, 2);
      }
      const sc0 = v128.shuffle<i16>(scales, scales, 0, 0, 0, 0, 0, 0, 0, 0);
      const sc1 = v128.shuffle<i16>(scales, scales, 1, 1, 1, 1, 1, 1, 1, 1);
      scales = v128.shuffle<i16>(scales, scales, 2, 3, 4, 5, 6, 7, 0, 1);
      sumi0 = i32x4.add(sumi0, kGroupSums(a, j, lo0, lo1, hi0, hi1, sc0, sc1));
      if (tokens > 1) sumi1 = i32x4.add(sumi1, kGroupSums(a + aStride, j, lo0, lo1, hi0, hi1, sc0, sc1));
      if (tokens > 2) sumi2 = i32x4.add(sumi2, kGroupSums(a + aStride * 2, j, lo0, lo1, hi0, hi1, sc0, sc1));
      if (tokens > 3) sumi3 = i32x4.add(sumi3, kGroupSums(a + aStride * 3, j, lo0, lo1, hi0, hi1, sc0, sc1));
    }
    const mins = kScalesOrMins(w + 4, true);
    const minSum0 = kMinSum(a, mins);
    const minSum1 = tokens > 1 ? kMinSum(a + aStride, mins) : 0;
    const minSum2 = tokens > 2 ? kMinSum(a + aStride * 2, mins) : 0;
    const minSum3 = tokens > 3 ? kMinSum(a + aStride * 3, mins) : 0;
    const d = f16ToF32(load<u16>(w));
    const dmin = f16ToF32(load<u16>(w, 2));
    const dy0 = load<f32>(a + Q8K_SCALE);
    total0 += dy0 * d * <f32>sumI32x4(sumi0) - dy0 * dmin * <f32>minSum0;
    if (tokens > 1) {
      const dy1 = load<f32>(a + aStride + Q8K_SCALE);
      total1 += dy1 * d * <f32>sumI32x4(sumi1) - dy1 * dmin * <f32>minSum1;
    }
    if (tokens > 2) {
      const dy2 = load<f32>(a + aStride * 2 + Q8K_SCALE);
      total2 += dy2 * d * <f32>sumI32x4(sumi2) - dy2 * dmin * <f32>minSum2;
    }
    if (tokens > 3) {
      const dy3 = load<f32>(a + aStride * 3 + Q8K_SCALE);
      total3 += dy3 * d * <f32>sumI32x4(sumi3) - dy3 * dmin * <f32>minSum3;
    }
    w += blockBytes;
    a += Q8K_BLOCK_BYTES;
  }
  store<f32>(out, total0);
  if (tokens > 1) store<f32>(out + outStride, total1);
  if (tokens > 2) store<f32>(out + outStride * 2, total2);
  if (tokens > 3) store<f32>(out + outStride * 3, total3);
}

/**
 * Four rows of Q4_K_ROWS_OF_4 weights (their group at w) with up to four tokens' Q8_K activations
 * (aStride bytes apart), as llama.cpp computes Q4_K matrices of a multiple of 8 rows (repacked
 * into 8-row blocks): per super-block, row and token, the integer sum times d_w·d_a and the integer
 * min sum times dmin_w·d_a each go to a running sum with a fused multiply-add; the two are
 * subtracted at the end. Each run of codes (4 bytes of each row) is unpacked once for all the
 * tokens and multiplied with a token's 4 activations in every lane (see Q4_0_ROWS_OF_4), so that
 * every sum stays in its row's lane. Writes token i's four results at out + i·outStride.
 */
@inline
function q4KGroupTile(w: usize, a: usize, aStride: usize, nb: i32, tokens: i32, out: usize, outStride: usize): void {
  let total0 = f32x4.splat(0), total1 = f32x4.splat(0), total2 = f32x4.splat(0), total3 = f32x4.splat(0);
  let mins0 = f32x4.splat(0), mins1 = f32x4.splat(0), mins2 = f32x4.splat(0), mins3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    let sumi0 = ZERO, sumi1 = ZERO, sumi2 = ZERO, sumi3 = ZERO;
    for (let j: usize = 0; j < 4; j++) {
      // Per token, the pair sums of sub-blocks 2j (low nibbles) and 2j + 1 (high): 8 runs of
      // nibbles (0..15) times activations (|a| ≤ 127) add up within 16 bits.
      let low0 = ZERO, low1 = ZERO, low2 = ZERO, low3 = ZERO;
      let high0 = ZERO, high1 = ZERO, high2 = ZERO, high3 = ZERO;
      const runs = w + Q4_K_GROUP_CODES + (j << 7);
      const ap = a + (j << 6);
      for (let k: usize = 0; k < 32; k += 4) {
        const codes = v128.load(runs + (k << 2));
        const lo = v128.and(codes, LOW_NIBBLES);
        const hi = highNibbles(codes);
        low0 = i16x8.add(low0, pairSums(v128.load32_splat(ap + k), lo));
        high0 = i16x8.add(high0, pairSums(v128.load32_splat(ap + k, 32), hi));
        if (tokens > 1) {
          low1 = i16x8.add(low1, pairSums(v128.load32_splat(ap + aStride + k), lo));
          high1 = i16x8.add(high1, pairSums(v128.load32_splat(ap + aStride + k, 32), hi));
        }
        if (tokens > 2) {
          low2 = i16x8.add(low2, pairSums(v128.load32_splat(ap + aStride * 2 + k), lo));
          high2 = i16x8.add(high2, pairSums(v128.load32_splat(ap + aStride * 2 + k, 32), hi));
        }
        if (tokens > 3) {
          low3 = i16x8.add(low3, pairSums(v128.load32_splat(ap + aStride * 3 + k), lo));
          high3 = i16x8.add(high3, pairSums(v128.load32_splat(ap + aStride * 3 + k, 32), hi));
        }
      }
      // The two sub-blocks' scales of each row, in the i16 pair of its lane.
      const scales = v128.load64_zero(w + Q4_K_GROUP_SCALES + (j << 3));
      const scLow = i16x8.extend_low_i8x16_u(v128.shuffle<i8>(scales, scales, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
      const scHigh = i16x8.extend_low_i8x16_u(v128.shuffle<i8>(scales, scales, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
      sumi0 = i32x4.add(sumi0, i32x4.add(i32x4.dot_i16x8_s(low0, scLow), i32x4.dot_i16x8_s(high0, scHigh)));
      if (tokens > 1) sumi1 = i32x4.add(sumi1, i32x4.add(i32x4.dot_i16x8_s(low1, scLow), i32x4.dot_i16x8_s(high1, scHigh)));
      if (tokens > 2) sumi2 = i32x4.add(sumi2, i32x4.add(i32x4.dot_i16x8_s(low2, scLow), i32x4.dot_i16x8_s(high2, scHigh)));
      if (tokens > 3) sumi3 = i32x4.add(sumi3, i32x4.add(i32x4.dot_i16x8_s(low3, scLow), i32x4.dot_i16x8_s(high3, scHigh)));
    }
    // Each row's mins of sub-blocks 2p and 2p + 1 in the i16 pair of its lane, for p = 0..3.
    const minBytes0 = v128.load(w + Q4_K_GROUP_MINS);
    const minBytes1 = v128.load(w + Q4_K_GROUP_MINS, 16);
    const minPairs0 = i16x8.extend_low_i8x16_u(minBytes0);
    const minPairs1 = i16x8.extend_high_i8x16_u(minBytes0);
    const minPairs2 = i16x8.extend_low_i8x16_u(minBytes1);
    const minPairs3 = i16x8.extend_high_i8x16_u(minBytes1);
    // Finite scales (see f16x4ToF32x4).
    const d = f16x4ToF32x4(i32x4.extend_low_i16x8_s(v128.load64_zero(w)));
    const dmin = f16x4ToF32x4(i32x4.extend_low_i16x8_s(v128.load64_zero(w + Q4_K_GROUP_DMIN)));
    total0 = addScaledRows(total0, sumi0, d, a);
    mins0 = addScaledRows(mins0, kGroupMinSums(a, minPairs0, minPairs1, minPairs2, minPairs3), dmin, a);
    if (tokens > 1) {
      const at = a + aStride;
      total1 = addScaledRows(total1, sumi1, d, at);
      mins1 = addScaledRows(mins1, kGroupMinSums(at, minPairs0, minPairs1, minPairs2, minPairs3), dmin, at);
    }
    if (tokens > 2) {
      const at = a + aStride * 2;
      total2 = addScaledRows(total2, sumi2, d, at);
      mins2 = addScaledRows(mins2, kGroupMinSums(at, minPairs0, minPairs1, minPairs2, minPairs3), dmin, at);
    }
    if (tokens > 3) {
      const at = a + aStride * 3;
      total3 = addScaledRows(total3, sumi3, d, at);
      mins3 = addScaledRows(mins3, kGroupMinSums(at, minPairs0, minPairs1, minPairs2, minPairs3), dmin, at);
    }
    w += Q4_K_GROUP_BLOCK_BYTES;
    a += Q8K_BLOCK_BYTES;
  }
  v128.store(out, f32x4.sub(total0, mins0));
  if (tokens > 1) v128.store(out + outStride, f32x4.sub(total1, mins1));
  if (tokens > 2) v128.store(out + outStride * 2, f32x4.sub(total2, mins2));
  if (tokens > 3) v128.store(out + outStride * 3, f32x4.sub(total3, mins3));
}

/** acc + (the 4 rows' integer sums)·(their scales)·d_a with a fused multiply-add, d_a of the Q8_K activation block at a. */
@inline
function addScaledRows(acc: v128, sums: v128, scales: v128, a: usize): v128 {
  return fmaF32x4(f32x4.convert_i32x4_s(sums), f32x4.mul(scales, v128.load32_splat(a + Q8K_SCALE)), acc);
}

/**
 * Per row (lane), Σ over the 8 sub-blocks of min × the sum of its 32 activations: the sub-block
 * sums from the Q8_K block's 16-value group sums, taken two at a time against minPairs p (each
 * row's mins of sub-blocks 2p and 2p + 1).
 */
@inline
function kGroupMinSums(a: usize, minPairs0: v128, minPairs1: v128, minPairs2: v128, minPairs3: v128): v128 {
  // Sums of 32 (|Σ| ≤ 32·127) fit in 16 bits.
  const subSums = i16x8.narrow_i32x4_s(
    i32x4.extadd_pairwise_i16x8_s(v128.load(a + Q8K_SUMS)),
    i32x4.extadd_pairwise_i16x8_s(v128.load(a + Q8K_SUMS, 16)),
  );
  return i32x4.add(
    i32x4.add(
      i32x4.dot_i16x8_s(minPairs0, v128.shuffle<i32>(subSums, subSums, 0, 0, 0, 0)),
      i32x4.dot_i16x8_s(minPairs1, v128.shuffle<i32>(subSums, subSums, 1, 1, 1, 1)),
    ),
    i32x4.add(
      i32x4.dot_i16x8_s(minPairs2, v128.shuffle<i32>(subSums, subSums, 2, 2, 2, 2)),
      i32x4.dot_i16x8_s(minPairs3, v128.shuffle<i32>(subSums, subSums, 3, 3, 3, 3)),
    ),
  );
}

/**
 * The 8 six-bit scales (`mins` false) or mins of a Q4_K/Q5_K block, from its 12 packed bytes at
 * p, as i16 lanes. Sub-blocks 0–3 keep theirs in the low 6 bits of bytes 0–3 (scales) or 4–7
 * (mins); sub-blocks 4–7 in a nibble of bytes 8–11 (low: scales, high: mins) with the top 2
 * bits of bytes 0–3 or 4–7 above it.
 */
@inline
function kScalesOrMins(p: usize, mins: bool): v128 {
  const packed = v128.load(p);
  const low6 = v128.and(pickBytes(packed, mins ? K_MINS_LOW : K_SCALES_LOW), LOW_6_BITS);
  const nibbleBytes = pickBytes(packed, K_NIBBLES);
  const nibble = mins ? highNibbles(nibbleBytes) : v128.and(nibbleBytes, LOW_NIBBLES);
  // Bits 6 and 7 of each top byte to bits 4 and 5 (a 16-bit shift: the mask keeps each byte's own).
  const top = v128.and(i16x8.shr_u(pickBytes(packed, mins ? K_MINS_TOP : K_SCALES_TOP), 2), BITS_4_5);
  return i16x8.extend_low_i8x16_u(v128.or(v128.or(low6, nibble), top));
}

/** Σ of one 64-value group pair j of a Q4_K/Q5_K block: low-nibble weights (scale sc0) and high (sc1) times the Q8_K activations at a. */
@inline
function kGroupSums(a: usize, j: i32, lo0: v128, lo1: v128, hi0: v128, hi1: v128, sc0: v128, sc1: v128): v128 {
  const ap = a + (<usize>j << 6);
  return i32x4.add(
    dotQuadsScaledPair(v128.load(ap), lo0, v128.load(ap, 16), lo1, sc0),
    dotQuadsScaledPair(v128.load(ap, 32), hi0, v128.load(ap, 48), hi1, sc1),
  );
}

/** Σ over the 8 sub-blocks of min × the sum of its 32 activations (16-value group sums 2s and 2s + 1 for sub-block s). */
@inline
function kMinSum(a: usize, mins: v128): i32 {
  const low = i32x4.dot_i16x8_s(v128.load(a + Q8K_SUMS), v128.shuffle<i16>(mins, mins, 0, 0, 1, 1, 2, 2, 3, 3));
  const high = i32x4.dot_i16x8_s(v128.load(a + Q8K_SUMS, 16), v128.shuffle<i16>(mins, mins, 4, 4, 5, 5, 6, 6, 7, 7));
  return sumI32x4(i32x4.add(low, high));
}

/** 32 × (group sum i · Q6_K scale i + group sum i + 1 · scale i + 1) for the 4 pairs of the 8 groups from `first`. */
@inline
function q6Offsets(a: usize, scales: usize, first: i32): v128 {
  const sums = v128.load(a + Q8K_SUMS + (<usize>first << 1));
  return i32x4.shl(i32x4.dot_i16x8_s(sums, i16x8.extend_low_i8x16_s(v128.load64_zero(scales + first))), 5);
}

/**
 * One Q6_K row with up to four tokens' Q8_K activations (aStride bytes apart), each token as ggml's
 * AVX2 vec_dot_q6_K_q8_K: 8 integer lanes per block (lane m: products 4m…4m+3 of each 32-value
 * group, times the group's 16-value scale, less 32·Σa·scale of 16-value groups 2m and 2m + 1),
 * then d·lanes accumulated with fused multiply-adds and summed as hsum_float_8. The codes of each
 * 64 values are unpacked once for all the tokens; token i's result goes to out + i·outStride.
 * Inlined, so that a constant `tokens` of 1 (decoding) compiles to the one-token loop alone.
 */
@inline
function q6KTile(w: usize, a: usize, aStride: usize, nb: i32, tokens: i32, out: usize, outStride: usize): void {
  let low0 = f32x4.splat(0), low1 = f32x4.splat(0), low2 = f32x4.splat(0), low3 = f32x4.splat(0);
  let high0 = f32x4.splat(0), high1 = f32x4.splat(0), high2 = f32x4.splat(0), high3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    // Per token: part 0 of each 32-value group (its values 0–15, the even scales) makes lanes 0–3, part 1 (16–31, odd) lanes 4–7.
    let part0Sum0 = ZERO, part0Sum1 = ZERO, part0Sum2 = ZERO, part0Sum3 = ZERO;
    let part1Sum0 = ZERO, part1Sum1 = ZERO, part1Sum2 = ZERO, part1Sum3 = ZERO;
    const scales = w + 192;
    for (let half: usize = 0; half < 2; half++) {
      const sc = i16x8.extend_low_i8x16_s(v128.load64_zero(scales + (half << 3)));
      const ql = w + (half << 6);
      const qh = w + 128 + (half << 5);
      const ah = a + (half << 7);
      let s0 = v128.shuffle<i16>(sc, sc, 0, 0, 0, 0, 0, 0, 0, 0);
      let s1 = v128.shuffle<i16>(sc, sc, 2, 2, 2, 2, 2, 2, 2, 2);
      let s2 = v128.shuffle<i16>(sc, sc, 4, 4, 4, 4, 4, 4, 4, 4);
      let s3 = v128.shuffle<i16>(sc, sc, 6, 6, 6, 6, 6, 6, 6, 6);
      let w0 = q6Codes(ql, qh, 0);
      let w1 = q6Codes(ql, qh, 1);
      let w2 = q6Codes(ql, qh, 2);
      let w3 = q6Codes(ql, qh, 3);
      part0Sum0 = i32x4.add(part0Sum0, q6Products(ah, w0, w1, w2, w3, s0, s1, s2, s3));
      if (tokens > 1) part0Sum1 = i32x4.add(part0Sum1, q6Products(ah + aStride, w0, w1, w2, w3, s0, s1, s2, s3));
      if (tokens > 2) part0Sum2 = i32x4.add(part0Sum2, q6Products(ah + aStride * 2, w0, w1, w2, w3, s0, s1, s2, s3));
      if (tokens > 3) part0Sum3 = i32x4.add(part0Sum3, q6Products(ah + aStride * 3, w0, w1, w2, w3, s0, s1, s2, s3));
      s0 = v128.shuffle<i16>(sc, sc, 1, 1, 1, 1, 1, 1, 1, 1);
      s1 = v128.shuffle<i16>(sc, sc, 3, 3, 3, 3, 3, 3, 3, 3);
      s2 = v128.shuffle<i16>(sc, sc, 5, 5, 5, 5, 5, 5, 5, 5);
      s3 = v128.shuffle<i16>(sc, sc, 7, 7, 7, 7, 7, 7, 7, 7);
      w0 = q6Codes(ql + 16, qh + 16, 0);
      w1 = q6Codes(ql + 16, qh + 16, 1);
      w2 = q6Codes(ql + 16, qh + 16, 2);
      w3 = q6Codes(ql + 16, qh + 16, 3);
      part1Sum0 = i32x4.add(part1Sum0, q6Products(ah + 16, w0, w1, w2, w3, s0, s1, s2, s3));
      if (tokens > 1) part1Sum1 = i32x4.add(part1Sum1, q6Products(ah + aStride + 16, w0, w1, w2, w3, s0, s1, s2, s3));
      if (tokens > 2) part1Sum2 = i32x4.add(part1Sum2, q6Products(ah + aStride * 2 + 16, w0, w1, w2, w3, s0, s1, s2, s3));
      if (tokens > 3) part1Sum3 = i32x4.add(part1Sum3, q6Products(ah + aStride * 3 + 16, w0, w1, w2, w3, s0, s1, s2, s3));
    }
    const dw = f16ToF32(load<u16>(w, 208));
    low0 = q6Accumulate(low0, part0Sum0, a, scales, 0, dw);
    high0 = q6Accumulate(high0, part1Sum0, a, scales, 8, dw);
    if (tokens > 1) {
      low1 = q6Accumulate(low1, part0Sum1, a + aStride, scales, 0, dw);
      high1 = q6Accumulate(high1, part1Sum1, a + aStride, scales, 8, dw);
    }
    if (tokens > 2) {
      low2 = q6Accumulate(low2, part0Sum2, a + aStride * 2, scales, 0, dw);
      high2 = q6Accumulate(high2, part1Sum2, a + aStride * 2, scales, 8, dw);
    }
    if (tokens > 3) {
      low3 = q6Accumulate(low3, part0Sum3, a + aStride * 3, scales, 0, dw);
      high3 = q6Accumulate(high3, part1Sum3, a + aStride * 3, scales, 8, dw);
    }
    w += 210;
    a += Q8K_BLOCK_BYTES;
  }
  store<f32>(out, sumF32x8(low0, high0));
  if (tokens > 1) store<f32>(out + outStride, sumF32x8(low1, high1));
  if (tokens > 2) store<f32>(out + outStride * 2, sumF32x8(low2, high2));
  if (tokens > 3) store<f32>(out + outStride * 3, sumF32x8(low3, high3));
}

/**
 * Group k's 16 values (of the four 32-value groups that share these ql bytes, at ql and ql + 32,
 * and qh bytes) as unsigned 6-bit weights. 16-bit shifts move the bits: the masks drop what
 * crosses from the neighbouring byte.
 */
@inline
function q6Codes(ql: usize, qh: usize, k: i32): v128 {
  const low = v128.load(ql + (k & 1 ? 32 : 0));
  const high = v128.load(qh);
  const lowBits = k < 2 ? v128.and(low, LOW_NIBBLES) : highNibbles(low);
  const highBits = k == 0 ? i16x8.shl(high, 4) : k == 1 ? i16x8.shl(high, 2) : k == 2 ? high : i16x8.shr_u(high, 2);
  return v128.or(lowBits, v128.and(highBits, BITS_4_5));
}

/** acc + d·(the part's integer lanes less its offsets, see q6Offsets from group `first`), d = d_w·d_a. */
@inline
function q6Accumulate(acc: v128, sums: v128, a: usize, scales: usize, first: i32, dw: f32): v128 {
  return fmaLanes(acc, i32x4.sub(sums, q6Offsets(a, scales, first)), f32x4.splat(load<f32>(a + Q8K_SCALE) * dw));
}

/** The four groups' unsigned 6-bit weights w0…w3 dotted with the activations at a, a + 32, a + 64 and a + 96, times their scales s0…s3. */
@inline
function q6Products(a: usize, w0: v128, w1: v128, w2: v128, w3: v128, s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  return i32x4.add(
    i32x4.add(dotQuadsScaled(v128.load(a), w0, s0), dotQuadsScaled(v128.load(a, 32), w1, s1)),
    i32x4.add(dotQuadsScaled(v128.load(a, 64), w2, s2), dotQuadsScaled(v128.load(a, 96), w3, s3)),
  );
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

/**
 * The first steps of _mm512_reduce_add_ps over dotF16's 16-lane vector of `chunks` whole chunks:
 * halves, then quarters (lanes 0–3 of the vector + lanes 8–11, and so on); see finishQuarter.
 */
@inline
export function dotF16Quarter(w: usize, x: usize, chunks: i32, widened: bool, wChunkBytes: usize): v128 {
  // Lanes 0–3, 4–7, 8–11 and 12–15 of the 16-lane vector.
  const s0 = f16LaneChains(w, x, chunks, 0, widened, wChunkBytes);
  const s1 = f16LaneChains(w, x, chunks, 1, widened, wChunkBytes);
  const s2 = f16LaneChains(w, x, chunks, 2, widened, wChunkBytes);
  const s3 = f16LaneChains(w, x, chunks, 3, widened, wChunkBytes);
  return f32x4.add(f32x4.add(s3, s1), f32x4.add(s2, s0));
}

/**
 * Four half-precision values at element i of w: f16 words, or (`widened`) f32 words that hold
 * f16-representable values, as the WASM backend keeps its KV cache to skip the conversion.
 */
@inline
function halfLanes(w: usize, i: i32, widened: bool): v128 {
  if (widened) return v128.load(w + (<usize>i << 2));
  return f16x4ToF32x4(i32x4.extend_low_i16x8_s(v128.load64_zero(w + (<usize>i << 1))));
}

/**
 * Lanes 4m…4m+3 of the 16-lane vector dotF16 reduces: its lanes 4m…4m+3 of chunk lanes 0–15
 * (vector 0), 16–31, 32–47 and 48–63, each a chain over every 64-element chunk, added as
 * (vector 0 + vector 2) + (vector 1 + vector 3).
 */
@inline
function f16LaneChains(w: usize, x: usize, chunks: i32, m: i32, widened: bool, wChunkBytes: usize): v128 {
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  let c2 = f32x4.splat(0);
  let c3 = f32x4.splat(0);
  const lane = m << 2;
  for (let c = 0; c < chunks; c++) {
    const wc = w + <usize>c * wChunkBytes;
    const xc = x + (<usize>c << 8) + (<usize>lane << 2);
    // Both factors are f16 values, so the f32 product is exact: fused or not, the multiply-add rounds once.
    c0 = madd(halfLanes(wc, lane, widened), v128.load(xc), c0);
    c1 = madd(halfLanes(wc, lane + 16, widened), v128.load(xc, 64), c1);
    c2 = madd(halfLanes(wc, lane + 32, widened), v128.load(xc, 128), c2);
    c3 = madd(halfLanes(wc, lane + 48, widened), v128.load(xc, 192), c3);
  }
  return f32x4.add(f32x4.add(c0, c2), f32x4.add(c1, c3));
}

/**
 * As ggml's AVX-512 vec_dot_f16 (x already rounded to f16): 64 f32 lanes (4 vectors of 16)
 * accumulate with fused multiply-adds over 64-element chunks, are summed in its reduction tree, and the
 * leftover elements are added in double precision. w holds f16 words, or f32 words when `widened`;
 * its 64-element chunks lie wChunkBytes apart (128 or 256 when contiguous; see the attention's values).
 */
@inline
export function dotF16(w: usize, x: usize, n: i32, widened: bool, wChunkBytes: usize): f32 {
  const chunks = n >> 6;
  const np = chunks << 6;
  let total: f64 = <f64>finishQuarter(dotF16Quarter(w, x, chunks, widened, wChunkBytes));
  const tail = w + <usize>chunks * wChunkBytes;
  for (let i = np; i < n; i++) {
    const weight = widened ? load<f32>(tail + (<usize>(i - np) << 2)) : f16ToF32(load<u16>(tail + (<usize>(i - np) << 1)));
    total += <f64>(weight * load<f32>(x + (<usize>i << 2)));
  }
  return <f32>total;
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
    case Q4_0: case Q4_0_ROWS_OF_4: return (cols >> 5) * 18;
    case Q4_1: return (cols >> 5) * 20;
    case Q5_0: return (cols >> 5) * 22;
    case Q5_1: return (cols >> 5) * 24;
    case Q8_0: return (cols >> 5) * 34;
    case Q2_K: return (cols >> 8) * 84;
    case Q3_K: return (cols >> 8) * 110;
    case Q4_K: return (cols >> 8) * 144;
    case Q4_K_ROWS_OF_4: return (cols >> 8) * <i32>(Q4_K_GROUP_BLOCK_BYTES >> 2);
    case Q5_K: return (cols >> 8) * 176;
    case Q6_K: return (cols >> 8) * 210;
    default: return -1;
  }
}

/** Bytes of one prepared activation row of `cols` elements for weights of `type`. */
export function activationRowBytes(type: i32, cols: i32): i32 {
  switch (type) {
    case F32: case F16: case BF16: return cols * 4;
    case Q4_0: case Q4_0_ROWS_OF_4: case Q4_1: case Q5_0: case Q5_1: case Q8_0: return (cols >> 5) * Q8_BLOCK_BYTES;
    case Q2_K: case Q3_K: case Q4_K: case Q4_K_ROWS_OF_4: case Q5_K: case Q6_K: return (cols >> 8) * Q8K_BLOCK_BYTES;
    default: return -1;
  }
}

@inline
function dotRow(type: i32, w: usize, a: usize, cols: i32, rows: i32): f32 {
  switch (type) {
    case F32: return dotF32(w, a, cols);
    case F16: return dotF16(w, a, cols, false, 128);
    case BF16: return dotBf16(w, a, cols);
    case Q2_K: return dotQ2_K(w, a, cols >> 8, (rows & 7) == 0);
    case Q3_K: return dotQ3_K(w, a, cols >> 8);
    default: return NaN;
  }
}

// ---- every tiled type: its tiles over the rows and tokens ----

/**
 * The tiles of a weight `type` or grouped layout over rows [rowStart, rowEnd) (whole groups of 4
 * for the grouped layouts: see the backend's shares) and all the tokens, four at a time. Inlined
 * for each constant `type` (one function per type below), and a constant `tokens` of 1 when
 * decoding.
 */
@inline
function tiledRows(type: i32, w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const rowStep = type == Q4_0_ROWS_OF_4 || type == Q4_K_ROWS_OF_4 ? 4 : 1;
  const wStride = <usize>rowBytes(type, cols);
  const aStride = <usize>activationRowBytes(type, cols);
  const outStride = <usize>rows << 2;
  for (let r = rowStart; r + rowStep <= rowEnd; r += rowStep) {
    const wr = w + <usize>r * wStride;
    const o = out + (<usize>r << 2);
    if (nTokens == 1) tile(type, wr, act, aStride, cols, 1, o, outStride);
    else for (let t = 0; t < nTokens; t += 4) tile(type, wr, act + <usize>t * aStride, aStride, cols, min(4, nTokens - t), o + <usize>t * outStride, outStride);
  }
}

/** One tile: a row (or a group of 4 rows) with up to four tokens' activations. */
@inline
function tile(type: i32, w: usize, a: usize, aStride: usize, cols: i32, tokens: i32, out: usize, outStride: usize): void {
  if (type == Q4_0_ROWS_OF_4) q4_0Tile(w, a, aStride, cols >> 5, tokens, out, outStride);
  else if (type == Q4_K_ROWS_OF_4) q4KGroupTile(w, a, aStride, cols >> 8, tokens, out, outStride);
  else if (type == Q6_K) q6KTile(w, a, aStride, cols >> 8, tokens, out, outStride);
  else if (type == Q4_K || type == Q5_K) q4q5KTile(w, a, aStride, cols >> 8, type == Q5_K, tokens, out, outStride);
  else block32Tile(type, w, a, aStride, cols >> 5, tokens, out, outStride);
}

// One function per tiled type, each with its own copy of tiledRows inlined for that type.
function q8_0Rows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q8_0, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q4_0Rows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q4_0, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q4_1Rows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q4_1, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q5_0Rows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q5_0, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q5_1Rows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q5_1, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q4_0GroupRows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q4_0_ROWS_OF_4, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q4KGroupRows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q4_K_ROWS_OF_4, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q4KRows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q4_K, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q5KRows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q5_K, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}
function q6KRows(w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  tiledRows(Q6_K, w, rows, cols, act, nTokens, out, rowStart, rowEnd);
}

/**
 * out[t·rows + r] = W[r] · act[t] for rows r in [rowStart, rowEnd) and tokens t < nTokens.
 * Weight rows outside the loop over tokens: each row is read from memory once per call.
 */
export function matmul(type: i32, w: usize, rows: i32, cols: i32, act: usize, nTokens: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  switch (type) {
    case Q8_0: q8_0Rows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q4_0: q4_0Rows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q4_1: q4_1Rows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q5_0: q5_0Rows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q5_1: q5_1Rows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q4_0_ROWS_OF_4: q4_0GroupRows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q4_K_ROWS_OF_4: q4KGroupRows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q4_K: q4KRows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q5_K: q5KRows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    case Q6_K: q6KRows(w, rows, cols, act, nTokens, out, rowStart, rowEnd); return;
    default: break;
  }
  // F32, F16, BF16, Q2_K and Q3_K: a dot product per row and token.
  const wStride = <usize>rowBytes(type, cols);
  const aStride = <usize>activationRowBytes(type, cols);
  for (let r = rowStart; r < rowEnd; r++) {
    const wr = w + <usize>r * wStride;
    for (let t = 0; t < nTokens; t++) {
      store<f32>(out + ((<usize>t * <usize>rows + <usize>r) << 2), dotRow(type, wr, act + <usize>t * aStride, cols, rows));
    }
  }
}
