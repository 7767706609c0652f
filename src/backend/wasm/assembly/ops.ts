// Element-wise and attention kernels of the transformer, in f32, following the
// arithmetic of ggml's CPU ops (double-precision sums where ggml uses them).

import { dotF16, dotF16Quarter } from './matmul';
import {
  EXP_LN2_HI, EXP_LN2_LO, EXP_LOG2_E, EXP_MAX_POWER, EXP_P1, EXP_P2, EXP_P3, EXP_P4, EXP_P5, ROUNDING_SHIFT,
  EVEN_LANE_SIGNS, EXP_NORMAL_POWERS, F64_EXPONENT_BIAS, HALVES, INFINITIES, ONES_F32,
} from './constants';
import { roundRowF16 } from './activations';
import { finishQuarter, finishQuarters, fmaF32, fmaF32x4, madd, roundToF16x4, sumF32x16 } from './simd';

// ---- exp as ggml's x86 SIMD code computes it ----
// e^x = 2^n · p(b) with n = round(x·log2 e) and b = x − n·ln 2 (ln 2 in two parts), p a
// degree-5 polynomial (coefficients of Arm's optimized-routines expf), every step a fused
// multiply-add. Not always the correctly rounded e^x: matching llama.cpp needs these bits.

@inline
function splat(v: f32): v128 {
  return f32x4.splat(v);
}

/** j·2^n per lane for integral n (|n| ≤ 192), rounded once (x86's scalef). */
@inline
function scaleByPowerOf2(j: v128, n: v128): v128 {
  const bits = i32x4.add(i32x4.trunc_sat_f32x4_s(n), F64_EXPONENT_BIAS);
  const lo = f64x2.mul(f64x2.promote_low_f32x4(j), i64x2.shl(i64x2.extend_low_i32x4_s(bits), 52));
  const hi = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(j, j, 2, 3, 2, 3)), i64x2.shl(i64x2.extend_high_i32x4_s(bits), 52));
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** e^x per lane, as ggml_v_expf (AVX-512): 0 below about −104 (−∞ included), +∞ above about 88.7. */
@inline
function expSimd(x: v128): v128 {
  const z = fmaF32x4(x, EXP_LOG2_E, ROUNDING_SHIFT);
  const n = f32x4.sub(z, ROUNDING_SHIFT);
  const minusN = f32x4.neg(n);
  const b = fmaF32x4(minusN, EXP_LN2_LO, fmaF32x4(minusN, EXP_LN2_HI, x));
  const u = f32x4.mul(b, b);
  const j = fmaF32x4(
    fmaF32x4(fmaF32x4(EXP_P5, b, EXP_P4), u, fmaF32x4(EXP_P3, b, EXP_P2)),
    u,
    fmaF32x4(EXP_P1, b, ONES_F32),
  );
  // j is within [0.7, 1.42], so for n from −125 to 126 j·2^n is a normal float, exactly what scaling rounds
  // to: j's exponent plus n, which sits in z's low bits. (A NaN fails the test and takes the scaling.)
  if (i32x4.all_true(f32x4.le(f32x4.abs(f32x4.sub(n, HALVES)), EXP_NORMAL_POWERS))) {
    return i32x4.add(j, i32x4.shl(i32x4.sub(z, ROUNDING_SHIFT), 23));
  }
  const large = f32x4.gt(f32x4.abs(n), EXP_MAX_POWER);
  if (!v128.any_true(large)) return scaleByPowerOf2(j, n);
  // Out of range: +∞ for large positive n, 0 for large negative n (scaling would overflow the exponent).
  const saturated = v128.bitselect(splat(0), INFINITIES, f32x4.le(n, splat(0)));
  return v128.bitselect(saturated, scaleByPowerOf2(j, v128.bitselect(splat(0), n, large)), large);
}

/** Σ e^(x − m) over the 16 floats at p, summed as sumF32x16; the exponentials are written back over x when `keep`. */
@inline
function sumExp16(p: usize, m: v128, keep: bool): f32 {
  const e0 = expSimd(f32x4.sub(v128.load(p), m));
  const e1 = expSimd(f32x4.sub(v128.load(p, 16), m));
  const e2 = expSimd(f32x4.sub(v128.load(p, 32), m));
  const e3 = expSimd(f32x4.sub(v128.load(p, 48), m));
  if (keep) {
    v128.store(p, e0);
    v128.store(p, e1, 16);
    v128.store(p, e2, 32);
    v128.store(p, e3, 48);
  }
  return sumF32x16(e0, e1, e2, e3);
}


/** out[r] = x[r] / sqrt(mean(x[r]²) + eps) ⊙ weight, for `rows` rows of n floats. */
export function rmsNorm(x: usize, weight: usize, out: usize, n: i32, rows: i32, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      sum += <f64>(v * v); // squared in f32, summed in f64, as ggml does
    }
    const scale = f32x4.splat(<f32>1 / Mathf.sqrt(<f32>(sum / <f64>n) + eps));
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.mul(f32x4.mul(v128.load(x + o), scale), v128.load(weight + o)));
    }
    const s = f32x4.extract_lane(scale, 0);
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(out + o, load<f32>(x + o) * s * load<f32>(weight + o));
    }
    x += <usize>n << 2;
    out += <usize>n << 2;
  }
}

/** out = a + b over n floats. */
export function add(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** x[r] += bias for `rows` rows of n floats. */
export function addRows(x: usize, bias: usize, n: i32, rows: i32): void {
  for (let r = 0; r < rows; r++) {
    add(x, bias, x, n);
    x += <usize>n << 2;
  }
}

/**
 * out = silu(gate) ⊙ up over one row of n floats (SwiGLU), as ggml_vec_swiglu_f32: groups of
 * 16 with the SIMD exp, the rest of the row with the scalar one.
 */
export function siluMul(gate: usize, up: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i < (n & ~15); i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    const silu = f32x4.div(g, f32x4.add(ONES_F32, expSimd(f32x4.neg(g))));
    v128.store(out + o, f32x4.mul(silu, v128.load(up + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gate + o);
    store<f32>(out + o, (g / (<f32>1 + Mathf.exp(-g))) * load<f32>(up + o));
  }
}

/**
 * Rotates the first ropeDims of every head in place. x holds nTokens rows of nHeads·headDim;
 * cosSin holds per token ropeDims/2 (cos, sin) pairs. Normal mode rotates adjacent pairs,
 * NeoX mode pairs (i, i + ropeDims/2).
 */
export function rope(x: usize, nTokens: i32, nHeads: i32, headDim: i32, ropeDims: i32, cosSin: usize, neox: bool): void {
  const half = ropeDims >> 1;
  // Four values at a time: two pairs (normal), or four pairs (NeoX); the rest one pair at a time.
  const vectorPairs = neox ? half & ~3 : half & ~1;
  for (let t = 0; t < nTokens; t++) {
    const table = cosSin + (<usize>(t * ropeDims) << 2);
    for (let h = 0; h < nHeads; h++) {
      const head = x + (<usize>((t * nHeads + h) * headDim) << 2);
      let i = 0;
      if (neox) {
        for (; i < vectorPairs; i += 4) {
          const t0 = v128.load(table + (<usize>i << 3));
          const t1 = v128.load(table + (<usize>i << 3), 16);
          const c = v128.shuffle<f32>(t0, t1, 0, 2, 4, 6);
          const s = v128.shuffle<f32>(t0, t1, 1, 3, 5, 7);
          const p0 = head + (<usize>i << 2);
          const p1 = head + (<usize>(i + half) << 2);
          const x0 = v128.load(p0);
          const x1 = v128.load(p1);
          v128.store(p0, fmaF32x4(x0, c, f32x4.neg(f32x4.mul(x1, s))));
          v128.store(p1, fmaF32x4(x0, s, f32x4.mul(x1, c)));
        }
      } else {
        for (; i < vectorPairs; i += 2) {
          // Lanes (x0, x1, x0', x1') and the table's (cos, sin, cos', sin'): x0·cos − x1·sin in the even
          // lanes and x0·sin + x1·cos in the odd ones, each one multiply-add of x0 and the table.
          const cs = v128.load(table + (<usize>i << 3));
          const p = head + (<usize>i << 3);
          const v = v128.load(p);
          const x0 = v128.shuffle<f32>(v, v, 0, 0, 2, 2);
          const x1 = v128.shuffle<f32>(v, v, 1, 1, 3, 3);
          const x1Terms = f32x4.mul(x1, v128.shuffle<f32>(cs, cs, 1, 0, 3, 2));
          v128.store(p, fmaF32x4(x0, cs, v128.xor(x1Terms, EVEN_LANE_SIGNS)));
        }
      }
      for (; i < half; i++) {
        const c = load<f32>(table + (<usize>i << 3));
        const s = load<f32>(table + (<usize>i << 3) + 4);
        const p0 = head + (<usize>(neox ? i : i << 1) << 2);
        const p1 = head + (<usize>(neox ? i + half : (i << 1) + 1) << 2);
        const x0 = load<f32>(p0);
        const x1 = load<f32>(p1);
        // As GCC compiles ggml's x0·cos − x1·sin with contraction: the first product fused.
        store<f32>(p0, fmaF32(x0, c, -(x1 * s)));
        store<f32>(p1, fmaF32(x0, s, x1 * c));
      }
    }
  }
}

/**
 * a·b over n values of f16 precision held as f32, as llama.cpp's attention products (q·k, and
 * probabilities · values over positions): in a batch (llamafile's tinyBLAS, when n is a multiple
 * of 16) 16 lanes reduced as _mm512_reduce_add_ps; otherwise ggml_vec_dot_f16. a's chunks of 64
 * lie aChunkBytes apart (256: contiguous). Products of two f16 values are exact in f32, so a
 * multiply-add rounds once whether it is fused or not.
 */
@inline
function attentionDot(a: usize, b: usize, n: i32, batched: bool, aChunkBytes: usize): f32 {
  if (!wholeChunks(n, batched)) return dotF16(a, b, n, true, aChunkBytes);
  return finishQuarter(attentionQuarter(a, b, n, batched, aChunkBytes));
}

/** Whether attentionDot over n values reduces whole chunks of its lanes only (no leftover values). */
@inline
function wholeChunks(n: i32, batched: bool): bool {
  return (n & (batched ? 15 : 63)) == 0;
}

/** attentionDot's 16 lanes summed to a quarter (see finishQuarter), for wholeChunks(n, batched). */
@inline
function attentionQuarter(a: usize, b: usize, n: i32, batched: bool, aChunkBytes: usize): v128 {
  if (!batched) return dotF16Quarter(a, b, n >> 6, true, aChunkBytes);
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  let c2 = f32x4.splat(0);
  let c3 = f32x4.splat(0);
  for (let i = 0; i < n; i += 16) {
    const x = a + <usize>(i >> 6) * aChunkBytes + (<usize>(i & 63) << 2);
    const y = b + (<usize>i << 2);
    c0 = madd(v128.load(x), v128.load(y), c0);
    c1 = madd(v128.load(x, 16), v128.load(y, 16), c1);
    c2 = madd(v128.load(x, 32), v128.load(y, 32), c2);
    c3 = madd(v128.load(x, 48), v128.load(y, 48), c3);
  }
  return f32x4.add(f32x4.add(c3, c1), f32x4.add(c2, c0));
}

/** Tokens of a batch `attention` takes together (see batchAttention): the four rows b of dotTile. */
const TOKEN_TILE = 4;
/** Floats of dotTile's partial sums: two quarter-pair sums of 2 rows × 4 rows, 4 lanes each. */
const TILE_PARTIAL_FLOATS = 2 * 2 * 4 * 4;

/** Floats of scratch `attention` needs per thread computing up to `nHeads` heads. */
export function attentionScratchFloats(nSeen: i32, headDim: i32, nHeads: i32): i32 {
  // Per head (or per token of a batch's tile): a rounded query and a row of probabilities; then a tile's partial sums.
  const rows = nHeads > TOKEN_TILE ? nHeads : TOKEN_TILE;
  return rows * (headDim + ((nSeen + 63) & ~63)) + TILE_PARTIAL_FLOATS;
}

/**
 * Rows of `width` values for positions startPos… (nTokens of them), rounded through f16, into a
 * value cache in blocks of 64 positions, blockBytes apart, each holding per value its 64 positions
 * (see attention): value c of position j at values + (j / 64)·blockBytes + (64·c + j mod 64)·4.
 */
export function storeValueBlocks(x: usize, values: usize, startPos: i32, nTokens: i32, width: i32, blockBytes: usize): void {
  for (let t = 0; t < nTokens; t++) {
    const pos = startPos + t;
    const slot = values + <usize>(pos >> 6) * blockBytes + (<usize>(pos & 63) << 2);
    const row = x + (<usize>(t * width) << 2);
    // width is a multiple of 8 (whole heads).
    for (let c = 0; c < width; c += 4) {
      const rounded = roundToF16x4(v128.load(row + (<usize>c << 2)));
      const at = slot + (<usize>c << 8);
      store<f32>(at, f32x4.extract_lane(rounded, 0));
      store<f32>(at, f32x4.extract_lane(rounded, 1), 256);
      store<f32>(at, f32x4.extract_lane(rounded, 2), 512);
      store<f32>(at, f32x4.extract_lane(rounded, 3), 768);
    }
  }
}

/**
 * Causal multi-head attention over an F16 KV cache, as llama.cpp's CPU backend computes it
 * without flash attention, whose KV length is padded (to 256, or the context when smaller):
 * q rounded to f16; scores q·k (see attentionDot) scaled and soft-maxed as ggml_vec_soft_max_f32;
 * probabilities rounded to f16 and multiplied with V in llama.cpp's order: each output value a
 * dot product over positions, in a batch (tinyBLAS) with 16 lane accumulators, one token
 * (ggml_vec_dot_f16) with 64; past the last position the probabilities are 0.
 * Token t of the batch sits at position startPos + t and sees positions 0..startPos + t.
 * Caches hold values rounded to f16 and stored as f32 (twice the memory, no conversion in this
 * loop): the keys as rows of kvDim = nKvHeads·headDim; the values as llama.cpp's transposed cache
 * cut into blocks of 64 positions (see storeValueBlocks; the slots past the positions written
 * finite), so that a dot product over positions reads whole 64-value chunks, and a head's
 * chunks of one block lie together (a long transposed row made the hardware prefetch the unused
 * rest of each row). Query head h reads KV head h / (nHeads / nKvHeads).
 * headDim must be a multiple of 8. Only heads [headStart, headEnd) are computed, so that threads
 * can share the heads. scratch: attentionScratchFloats(startPos + nTokens, headDim,
 * headEnd − headStart) floats, private to the caller.
 */
export function attention(
  q: usize, kCache: usize, vCache: usize, vBlockBytes: usize, out: usize,
  nTokens: i32, startPos: i32, nHeads: i32, nKvHeads: i32, headDim: i32, scale: f32, scratch: usize,
  headStart: i32, headEnd: i32,
): void {
  if (nTokens > 1 && wholeChunks(headDim, true)) {
    batchAttention(q, kCache, vCache, vBlockBytes, out, nTokens, startPos, nHeads, nKvHeads, headDim, scale, scratch, headStart, headEnd);
    return;
  }
  const group = nHeads / nKvHeads;
  const kvDim = nKvHeads * headDim;
  const batched = nTokens > 1;
  const heads = headEnd - headStart;
  const rowBytes = <usize>kvDim << 2;
  const headBytes = <usize>headDim << 2;
  const maxPadded = (startPos + nTokens + 63) & ~63;
  // Per head of this thread: its rounded query and its probabilities.
  const qRounded = scratch;
  const probs = qRounded + <usize>heads * headBytes;
  for (let t = 0; t < nTokens; t++) {
    const nSeen = startPos + t + 1;
    // The length of the dot products with V: whole chunks of the lane accumulators.
    const padded = batched ? (nSeen + 15) & ~15 : (nSeen + 63) & ~63;
    for (let i = 0; i < heads; i++) {
      const qh = q + (<usize>((t * nHeads + headStart + i) * headDim) << 2);
      roundRowF16(qh, qRounded + <usize>i * headBytes, headDim);
    }
    // Positions outermost, so that each key row streams from memory once for all the heads.
    for (let j = 0; j < nSeen; j++) {
      const k = kCache + <usize>j * rowBytes;
      for (let i = 0; i < heads; i++) {
        const kvHead = (headStart + i) / group;
        const s = attentionDot(k + <usize>kvHead * headBytes, qRounded + <usize>i * headBytes, headDim, batched, 256) * scale;
        store<f32>(probs + (<usize>(i * maxPadded + j) << 2), s);
      }
    }

    for (let i = 0; i < heads; i++) {
      const p = probs + (<usize>(i * maxPadded) << 2);
      probabilitiesInPlace(p, nSeen, padded);
      const vh = vCache + (<usize>((headStart + i) / group * headDim) << 8);
      const o = out + (<usize>((t * nHeads + headStart + i) * headDim) << 2);
      for (let d = 0; d < headDim; d++) {
        store<f32>(o + (<usize>d << 2), attentionDot(vh + (<usize>d << 8), p, padded, batched, vBlockBytes));
      }
    }
  }
}

/**
 * `attention` for a batch whose head size is a multiple of 16: the same products, but head by
 * head, TOKEN_TILE tokens at a time, so that a head's keys and values (a quarter of a megabyte for
 * 512 positions of 64 values) stay in the CPU's cache while its tokens reread them, and each load serves two
 * rows times four tokens (see dotTile). Each token's probabilities are padded to the tile's last
 * position with zeros, which add nothing to the sums.
 */
function batchAttention(
  q: usize, kCache: usize, vCache: usize, vBlockBytes: usize, out: usize,
  nTokens: i32, startPos: i32, nHeads: i32, nKvHeads: i32, headDim: i32, scale: f32, scratch: usize,
  headStart: i32, headEnd: i32,
): void {
  const group = nHeads / nKvHeads;
  const rowBytes = <usize>(nKvHeads * headDim) << 2;
  const headBytes = <usize>headDim << 2;
  const probsStride = <usize>((startPos + nTokens + 63) & ~63) << 2;
  const qRounded = scratch;
  const probs = qRounded + <usize>TOKEN_TILE * headBytes;
  const partials = probs + <usize>TOKEN_TILE * probsStride;
  const scales = f32x4.splat(scale);
  for (let h = headStart; h < headEnd; h++) {
    const kh = kCache + <usize>(h / group) * headBytes;
    const vh = vCache + (<usize>(h / group * headDim) << 8);
    for (let t0 = 0; t0 < nTokens; t0 += TOKEN_TILE) {
      const tokens = min(TOKEN_TILE, nTokens - t0);
      const nSeenLast = startPos + t0 + tokens;
      const padded = (nSeenLast + 15) & ~15;
      // A short tile repeats its last query; those scores are not used.
      for (let t = 0; t < TOKEN_TILE; t++) {
        const qt = q + (<usize>(((t0 + min(t, tokens - 1)) * nHeads + h) * headDim) << 2);
        roundRowF16(qt, qRounded + <usize>t * headBytes, headDim);
      }
      // Scores of two positions at a time (a lone last one paired with itself).
      for (let j = 0; j < nSeenLast; j += 2) {
        const gap = j + 1 < nSeenLast ? rowBytes : 0;
        dotTile(kh + <usize>j * rowBytes, gap, qRounded, headBytes, headDim, 256, partials);
        storeTile(partials, probs + (<usize>j << 2), probsStride, scales, tokens);
      }
      for (let t = 0; t < tokens; t++) probabilitiesInPlace(probs + <usize>t * probsStride, startPos + t0 + t + 1, padded);
      // Each output value: its row of V (over positions) times each token's probabilities; headDim is even.
      const o = out + (<usize>((t0 * nHeads + h) * headDim) << 2);
      for (let d = 0; d < headDim; d += 2) {
        dotTile(vh + (<usize>d << 8), 256, probs, probsStride, padded, vBlockBytes, partials);
        storeTile(partials, o + (<usize>d << 2), <usize>(nHeads * headDim) << 2, ONES_F32, tokens);
      }
    }
  }
}

/**
 * attentionDot (batched: 16 lanes) of the rows a and a + aGap with the four rows b, b + bStride,
 * b + 2·bStride and b + 3·bStride (each contiguous), over n values (a multiple of 16; a's chunks of 64 aChunkBytes apart), left as
 * the 8 quarters at `partials` for storeTile. The 16 lanes are taken a quarter at a time, each
 * lane's chain of products in its order: then 8 accumulators share each load of a and of b.
 */
@inline
function dotTile(a: usize, aGap: usize, b: usize, bStride: usize, n: i32, aChunkBytes: usize, partials: usize): void {
  // Lanes 0–3 and 8–11 into the first 8 partials, lanes 4–7 and 12–15 into the second.
  for (let quarter = 0; quarter < 4; quarter++) {
    const lane = (<usize>(quarter & 1) << 5) | (<usize>(quarter >> 1) << 4);
    let s00 = f32x4.splat(0);
    let s01 = f32x4.splat(0);
    let s02 = f32x4.splat(0);
    let s03 = f32x4.splat(0);
    let s10 = f32x4.splat(0);
    let s11 = f32x4.splat(0);
    let s12 = f32x4.splat(0);
    let s13 = f32x4.splat(0);
    const b0 = b + lane;
    const b1 = b0 + bStride;
    const b2 = b1 + bStride;
    const b3 = b2 + bStride;
    for (let chunk = 0; chunk < n; chunk += 64) {
      const a0 = a + <usize>(chunk >> 6) * aChunkBytes + lane;
      const a1 = a0 + aGap;
      const chunkEnd = <usize>min(n - chunk, 64) << 2;
      for (let i: usize = 0; i < chunkEnd; i += 64) {
        const x0 = v128.load(a0 + i);
        const x1 = v128.load(a1 + i);
        const y = (<usize>chunk << 2) + i;
        let yt = v128.load(b0 + y);
        s00 = madd(x0, yt, s00);
        s10 = madd(x1, yt, s10);
        yt = v128.load(b1 + y);
        s01 = madd(x0, yt, s01);
        s11 = madd(x1, yt, s11);
        yt = v128.load(b2 + y);
        s02 = madd(x0, yt, s02);
        s12 = madd(x1, yt, s12);
        yt = v128.load(b3 + y);
        s03 = madd(x0, yt, s03);
        s13 = madd(x1, yt, s13);
      }
    }
    const p = partials + (<usize>(quarter >> 1) << 7);
    if ((quarter & 1) == 0) {
      v128.store(p, s00);
      v128.store(p, s01, 16);
      v128.store(p, s02, 32);
      v128.store(p, s03, 48);
      v128.store(p, s10, 64);
      v128.store(p, s11, 80);
      v128.store(p, s12, 96);
      v128.store(p, s13, 112);
    } else {
      v128.store(p, f32x4.add(v128.load(p), s00));
      v128.store(p, f32x4.add(v128.load(p, 16), s01), 16);
      v128.store(p, f32x4.add(v128.load(p, 32), s02), 32);
      v128.store(p, f32x4.add(v128.load(p, 48), s03), 48);
      v128.store(p, f32x4.add(v128.load(p, 64), s10), 64);
      v128.store(p, f32x4.add(v128.load(p, 80), s11), 80);
      v128.store(p, f32x4.add(v128.load(p, 96), s12), 96);
      v128.store(p, f32x4.add(v128.load(p, 112), s13), 112);
    }
  }
}

/**
 * The 8 sums of a dotTile, each times `factor`: row a's sum with b row t to out + t·outStride and row
 * a + aGap's to the float after it, for the first `tokens` rows of b.
 */
@inline
function storeTile(partials: usize, out: usize, outStride: usize, factor: v128, tokens: i32): void {
  for (let row: usize = 0; row < 2; row++) {
    // (lanes 4–7 + lanes 12–15) + (lanes 0–3 + lanes 8–11), as sumF32x16.
    const p = partials + (row << 6);
    const sums = f32x4.mul(finishQuarters(
      f32x4.add(v128.load(p, 128), v128.load(p)),
      f32x4.add(v128.load(p, 144), v128.load(p, 16)),
      f32x4.add(v128.load(p, 160), v128.load(p, 32)),
      f32x4.add(v128.load(p, 176), v128.load(p, 48)),
    ), factor);
    const o = out + (row << 2);
    store<f32>(o, f32x4.extract_lane(sums, 0));
    if (tokens > 1) store<f32>(o + outStride, f32x4.extract_lane(sums, 1));
    if (tokens > 2) store<f32>(o + outStride * 2, f32x4.extract_lane(sums, 2));
    if (tokens > 3) store<f32>(o + outStride * 3, f32x4.extract_lane(sums, 3));
  }
}

/**
 * Soft-max probabilities of n scores in place as ggml_vec_soft_max_f32, then scaled by 1 / Σ and
 * rounded to f16 as llama.cpp's KQ·V product takes them; the slots up to `padded` (a multiple of
 * 16) become e^−∞ = 0. SIMD exp, each group of 16 summed in f32, the groups in f64.
 */
function probabilitiesInPlace(scores: usize, n: i32, padded: i32): void {
  const maxScore = maxOf(scores, n);
  for (let j = n; j < padded; j++) store<f32>(scores + (<usize>j << 2), -Infinity);
  const m = f32x4.splat(maxScore);
  let sum: f64 = 0;
  for (let j = 0; j < padded; j += 16) sum += <f64>sumExp16(scores + (<usize>j << 2), m, true);
  const inverseSum = f32x4.splat(<f32>(1 / sum));
  for (let j = 0; j < padded; j += 4) {
    const p = scores + (<usize>j << 2);
    v128.store(p, roundToF16x4(f32x4.mul(v128.load(p), inverseSum)));
  }
}

// ---- a row of logits' softmax normalizer, for sampling ----

/** The largest of n floats (−∞ for none; NaNs are passed over). */
export function maxOf(x: usize, n: i32): f32 {
  // pmax(a, b) is a < b ? b : a: one x86 instruction, where max would also order NaNs and zeros.
  let lanes = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) lanes = f32x4.pmax(lanes, v128.load(x + (<usize>i << 2)));
  let largest = max(max(f32x4.extract_lane(lanes, 0), f32x4.extract_lane(lanes, 1)), max(f32x4.extract_lane(lanes, 2), f32x4.extract_lane(lanes, 3)));
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (largest < v) largest = v;
  }
  return largest;
}

/**
 * Σ e^(x[i] − maxValue) over n floats: e^ by expSimd, as the attention's soft-max, each group of
 * 16 summed in f32 and the groups in f64 (within a few parts in 10^7 of the exact sum).
 */
export function sumExpBelow(x: usize, n: i32, maxValue: f32): f64 {
  const m = f32x4.splat(maxValue);
  let sum: f64 = 0;
  let i = 0;
  for (; i + 16 <= n; i += 16) sum += <f64>sumExp16(x + (<usize>i << 2), m, false);
  for (; i < n; i++) sum += <f64>f32x4.extract_lane(expSimd(f32x4.splat(load<f32>(x + (<usize>i << 2)) - maxValue)), 0);
  return sum;
}
