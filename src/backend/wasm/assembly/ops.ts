// Element-wise and attention kernels of the transformer, in f32, following the
// arithmetic of ggml's CPU ops (double-precision sums where ggml uses them).

import { f16x4ToF32x4, madd, roundToF16, sumF32x4 } from './simd';

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

/** out = silu(gate) ⊙ up over n floats (SwiGLU). */
export function siluMul(gate: usize, up: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
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
  for (let t = 0; t < nTokens; t++) {
    const table = cosSin + (<usize>(t * ropeDims) << 2);
    for (let h = 0; h < nHeads; h++) {
      const head = x + (<usize>((t * nHeads + h) * headDim) << 2);
      for (let i = 0; i < half; i++) {
        const c = load<f32>(table + (<usize>i << 3));
        const s = load<f32>(table + (<usize>i << 3) + 4);
        const p0 = head + (<usize>(neox ? i : i << 1) << 2);
        const p1 = head + (<usize>(neox ? i + half : (i << 1) + 1) << 2);
        const x0 = load<f32>(p0);
        const x1 = load<f32>(p1);
        store<f32>(p0, x0 * c - x1 * s);
        store<f32>(p1, x0 * s + x1 * c);
      }
    }
  }
}

/** Dot of n f32 values (already f16-representable) with n f16 values; n a multiple of 8. */
@inline
function dotF32F16(x: usize, h: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  for (let i = 0; i < n; i += 8) {
    const v = v128.load(h + (<usize>i << 1));
    acc0 = madd(v128.load(x + (<usize>i << 2)), f16x4ToF32x4(i32x4.extend_low_i16x8_u(v)), acc0);
    acc1 = madd(v128.load(x + (<usize>i << 2), 16), f16x4ToF32x4(i32x4.extend_high_i16x8_u(v)), acc1);
  }
  return sumF32x4(f32x4.add(acc0, acc1));
}

/**
 * Causal multi-head attention over an f16 KV cache, as llama.cpp computes it without flash
 * attention: q rounded to f16, scores scaled and soft-maxed in f32, probabilities rounded to
 * f16 before weighting V. Token t of the batch sits at position startPos + t and sees
 * positions 0..startPos + t. Caches hold rows of kvDim = nKvHeads·headDim f16 values; query
 * head h reads KV head h / (nHeads / nKvHeads). headDim must be a multiple of 8.
 * scratch: (startPos + nTokens + headDim) floats.
 */
export function attention(
  q: usize, kCache: usize, vCache: usize, out: usize,
  nTokens: i32, startPos: i32, nHeads: i32, nKvHeads: i32, headDim: i32, scale: f32, scratch: usize,
): void {
  const group = nHeads / nKvHeads;
  const kvDim = nKvHeads * headDim;
  const qRounded = scratch;
  const probs = scratch + (<usize>headDim << 2);
  for (let t = 0; t < nTokens; t++) {
    const nSeen = startPos + t + 1;
    for (let h = 0; h < nHeads; h++) {
      const qh = q + (<usize>((t * nHeads + h) * headDim) << 2);
      const kvOffset = <usize>((h / group) * headDim);
      for (let d = 0; d < headDim; d++) store<f32>(qRounded + (<usize>d << 2), roundToF16(load<f32>(qh + (<usize>d << 2))));

      let maxScore: f32 = -Infinity;
      for (let j = 0; j < nSeen; j++) {
        const k = kCache + ((<usize>j * <usize>kvDim + kvOffset) << 1);
        const s = dotF32F16(qRounded, k, headDim) * scale;
        store<f32>(probs + (<usize>j << 2), s);
        maxScore = max(maxScore, s);
      }
      let sum: f64 = 0;
      for (let j = 0; j < nSeen; j++) {
        const e = Mathf.exp(load<f32>(probs + (<usize>j << 2)) - maxScore);
        store<f32>(probs + (<usize>j << 2), e);
        sum += <f64>e;
      }
      const inv = <f32>(1 / sum);

      const oh = out + (<usize>((t * nHeads + h) * headDim) << 2);
      memory.fill(oh, 0, <usize>headDim << 2);
      for (let j = 0; j < nSeen; j++) {
        const p = f32x4.splat(roundToF16(load<f32>(probs + (<usize>j << 2)) * inv));
        const v = vCache + ((<usize>j * <usize>kvDim + kvOffset) << 1);
        for (let d = 0; d < headDim; d += 8) {
          const hv = v128.load(v + (<usize>d << 1));
          const o = oh + (<usize>d << 2);
          v128.store(o, madd(p, f16x4ToF32x4(i32x4.extend_low_i16x8_u(hv)), v128.load(o)));
          v128.store(o, madd(p, f16x4ToF32x4(i32x4.extend_high_i16x8_u(hv)), v128.load(o, 16)), 16);
        }
      }
    }
  }
}
