// The k-quant super-block quantizers Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (256 values per block), giving the same bytes as
// llama.cpp's reference quantizers (quantize_row_*_ref without importance matrix). src/quant/quantize-k.ts is the
// readable TypeScript version of the same arithmetic; block layouts are described in src/quant/dequant-k.ts.
//
// Exactness: every f32 operation here is one the reference performs, in its order. Sums over the values of a group
// are sequential in the reference, and f32 addition is not associative, so they are never split across SIMD lanes.
// Instead the scale searches put independent *trial scales* in the lanes: each lane runs one trial's sums over the
// values in order, and the trials are then judged one after the other, as the reference does.
// Where the reference tests a float for truth (`if (!scale)`), the C meaning applies: only zero is false, NaN is true.

import { f16ToF32, f32ToF16 } from '../../backend/wasm/assembly/simd';
import { ROUNDING_SHIFT } from '../../backend/wasm/assembly/constants';
import { MANTISSA_BITS, MANTISSA_MIDDLE } from './constants';

/** ggml treats a group whose largest magnitude is below this as all zero. */
const GROUP_MAX_EPS: f32 = 1e-15;
const TENTH: f32 = 0.1;

// Scratch memory (the module is single-threaded and owns no heap).
/** One code byte per value of the current block. */
const CODES = memory.data(256, 16);
/** The weights of the current group (at most 32). */
const WEIGHTS = memory.data(32 * 4, 16);
/** Per value of a group: the codes (as f32) of a batch of four trials, one lane each. */
const TRIAL_CODES = memory.data(32 * 16, 16);
/** Per-trial results spilled from vectors, read back by lane index. */
const TRIAL_A = memory.data(20 * 4, 16);
const TRIAL_B = memory.data(20 * 4, 16);
const TRIAL_C = memory.data(20 * 4, 16);
const TRIAL_D = memory.data(20 * 4, 16);
/** The integer codes of a Q3_K group while its fit is refined. */
const SIGNED_CODES = memory.data(16 * 4, 16);
/** Per-group scales and mins of the current block. */
const GROUP_SCALES = memory.data(16 * 4, 16);
const GROUP_MINS = memory.data(16 * 4, 16);

// --- rounding and code helpers ---

/** ggml's nearest_int: adding 1.5·2²³ makes the float addition round (to nearest even); the mantissa holds the result. */
@inline
function nearestInt(v: f32): i32 {
  return (reinterpret<i32>(v + <f32>12582912) & 0x7fffff) - 0x400000;
}

/** nearestInt on 4 lanes. */
@inline
function nearestInt4(v: v128): v128 {
  return i32x4.sub(v128.and(f32x4.add(v, ROUNDING_SHIFT), MANTISSA_BITS), MANTISSA_MIDDLE);
}

@inline
function clampInt(v: i32, lo: i32, hi: i32): i32 {
  return v < lo ? lo : v > hi ? hi : v;
}

@inline
function clampInt4(v: v128, lo: i32, hi: i32): v128 {
  return i32x4.min_s(i32x4.max_s(v, i32x4.splat(lo)), i32x4.splat(hi));
}

/** The f32 value of an f32 after storing it as f16: a scale as the decoder will see it. */
@inline
function storeF16(p: usize, value: f32): f32 {
  const h = f32ToF16(value);
  store<u16>(p, <u16>h);
  return f16ToF32(h);
}

/** 16 i32 lanes (each 0..255) → 16 bytes. */
@inline
function bytesOf(a: v128, b: v128, c: v128, d: v128): v128 {
  return i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
}

@inline
function f32At(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

/**
 * Codes of n values (a multiple of 16) at x against a stored scale: clamp(nearest((x + offset)/scale), lo, hi) + bias,
 * as bytes at `codes`. The reference re-derives every code this way once the scales are final.
 */
function requantize(x: usize, codes: usize, n: i32, offset: f32, scale: f32, lo: i32, hi: i32, bias: i32): void {
  const off = f32x4.splat(offset);
  const sc = f32x4.splat(scale);
  const b = i32x4.splat(bias);
  for (let i = 0; i < n; i += 16) {
    const p = x + (<usize>i << 2);
    const c0 = i32x4.add(clampInt4(nearestInt4(f32x4.div(f32x4.add(v128.load(p), off), sc)), lo, hi), b);
    const c1 = i32x4.add(clampInt4(nearestInt4(f32x4.div(f32x4.add(v128.load(p, 16), off), sc)), lo, hi), b);
    const c2 = i32x4.add(clampInt4(nearestInt4(f32x4.div(f32x4.add(v128.load(p, 32), off), sc)), lo, hi), b);
    const c3 = i32x4.add(clampInt4(nearestInt4(f32x4.div(f32x4.add(v128.load(p, 48), off), sc)), lo, hi), b);
    v128.store(codes + <usize>i, bytesOf(c0, c1, c2, c3));
  }
}

/** The value of largest magnitude found by the last largestMagnitude (AssemblyScript has no tuples). */
let groupMax: f32 = 0;

/** The largest magnitude among x[0..n), and into groupMax the value having it (the first on ties, NaN skipped), as ggml scans. */
@inline
function largestMagnitude(x: usize, n: i32): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = f32At(x, i);
    const a = Mathf.abs(v);
    if (a > amax) {
      amax = a;
      max = v;
    }
  }
  groupMax = max;
  return amax;
}

// --- scale searches ---

/**
 * ggml's make_qx_quants, rmse_type 1, no importance weights: symmetric codes in [-nmax, nmax) for the 16 values at x,
 * with the scale whose x²-weighted least-squares fit is best among 19 trial scales −(nmax + 0.1·is)/max, is = −9..9
 * (is = 0 is the first fit). All 19 trials run at once in 5 vectors; then they are judged in the reference's order.
 * Writes codes + nmax to L[0..16) and returns the scale.
 */
function makeQxQuants(nmax: i32, x: usize, L: usize): f32 {
  const n = 16;
  if (largestMagnitude(x, n) < GROUP_MAX_EPS) {
    memory.fill(L, 0, n);
    return 0;
  }
  const max = groupMax;
  // Lane t of vector v is trial is = 4v + t − 9 (the last lane, is = 10, is unused).
  for (let v = 0; v < 5; v++) {
    const firstTrial = 4 * v - 9;
    const is = f32x4.add(f32x4.splat(<f32>firstTrial), f32x4(0, 1, 2, 3));
    const iscale = f32x4.div(f32x4.neg(f32x4.add(f32x4.splat(<f32>nmax), f32x4.mul(f32x4.splat(TENTH), is))), f32x4.splat(max));
    let sumlx = f32x4.splat(0);
    let suml2 = f32x4.splat(0);
    for (let i = 0; i < n; i++) {
      const xi = f32At(x, i);
      const w = xi * xi;
      const l = f32x4.convert_i32x4_s(clampInt4(nearestInt4(f32x4.mul(iscale, f32x4.splat(xi))), -nmax, nmax - 1));
      sumlx = f32x4.add(sumlx, f32x4.mul(f32x4.splat(w * xi), l));
      suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(f32x4.splat(w), l), l));
    }
    v128.store(TRIAL_A + (<usize>v << 4), iscale);
    v128.store(TRIAL_B + (<usize>v << 4), sumlx);
    v128.store(TRIAL_C + (<usize>v << 4), suml2);
  }
  let best = 9;
  let sumlx = f32At(TRIAL_B, 9);
  let suml2 = f32At(TRIAL_C, 9);
  let scale: f32 = suml2 != 0 ? sumlx / suml2 : 0;
  let bestFit = scale * sumlx;
  for (let t = 0; t < 19; t++) {
    if (t == 9) continue;
    sumlx = f32At(TRIAL_B, t);
    suml2 = f32At(TRIAL_C, t);
    if (suml2 > 0 && sumlx * sumlx > bestFit * suml2) {
      best = t;
      scale = sumlx / suml2;
      bestFit = scale * sumlx;
    }
  }
  const iscale = f32x4.splat(f32At(TRIAL_A, best));
  const bias = i32x4.splat(nmax);
  const c0 = i32x4.add(clampInt4(nearestInt4(f32x4.mul(iscale, v128.load(x))), -nmax, nmax - 1), bias);
  const c1 = i32x4.add(clampInt4(nearestInt4(f32x4.mul(iscale, v128.load(x, 16))), -nmax, nmax - 1), bias);
  const c2 = i32x4.add(clampInt4(nearestInt4(f32x4.mul(iscale, v128.load(x, 32))), -nmax, nmax - 1), bias);
  const c3 = i32x4.add(clampInt4(nearestInt4(f32x4.mul(iscale, v128.load(x, 48))), -nmax, nmax - 1), bias);
  v128.store(L, bytesOf(c0, c1, c2, c3));
  return scale;
}

/**
 * ggml's make_q3_quants with do_rmse: symmetric codes in [-nmax, nmax) for the 16 values at x, then up to 5 passes
 * that move single codes when that improves the x²-weighted least-squares fit. A pass first finds, for 4 values at a
 * time, the codes that would move given the current sums; only those are tried, one by one, and after a move the rest
 * of the 4 are looked at again with the new sums. Writes codes + nmax to L[0..16) and returns the scale.
 */
function makeQ3Quants(nmax: i32, x: usize, L: usize): f32 {
  const n = 16;
  if (largestMagnitude(x, n) < GROUP_MAX_EPS) {
    memory.fill(L, 0, n);
    return 0;
  }
  const iscale: f32 = <f32>-nmax / groupMax;
  let sumlx: f32 = 0;
  let suml2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const xi = f32At(x, i);
    const l = clampInt(nearestInt(iscale * xi), -nmax, nmax - 1);
    store<i32>(SIGNED_CODES + (<usize>i << 2), l);
    const w = xi * xi;
    sumlx += (w * xi) * <f32>l;
    suml2 += (w * <f32>l) * <f32>l;
  }
  for (let pass = 0; pass < 5; pass++) {
    let changed = 0;
    for (let i0 = 0; i0 < n; i0 += 4) {
      const xv = v128.load(x + (<usize>i0 << 2));
      const w = f32x4.mul(xv, xv);
      const wx = f32x4.mul(w, xv);
      let from = 0;
      while (from < 4) {
        const li = v128.load(SIGNED_CODES + (<usize>i0 << 2));
        const lf = f32x4.convert_i32x4_s(li);
        const slx = f32x4.sub(f32x4.splat(sumlx), f32x4.mul(wx, lf));
        const sl2 = f32x4.sub(f32x4.splat(suml2), f32x4.mul(f32x4.mul(w, lf), lf));
        const newL = clampInt4(nearestInt4(f32x4.div(f32x4.mul(xv, sl2), slx)), -nmax, nmax - 1);
        let candidates = i32x4.bitmask(v128.andnot(f32x4.gt(slx, f32x4.splat(0)), i32x4.eq(newL, li))) >> from << from;
        let moved = false;
        while (candidates != 0) {
          const t = ctz(candidates);
          candidates &= candidates - 1;
          const i = i0 + t;
          const xi = f32At(x, i);
          const wi = xi * xi;
          const oldL = <f32>load<i32>(SIGNED_CODES + (<usize>i << 2));
          // The sums without value i, its new code, and the sums with it.
          const slx = sumlx - (wi * xi) * oldL;
          const sl2 = suml2 - (wi * oldL) * oldL;
          const l = clampInt(nearestInt((xi * sl2) / slx), -nmax, nmax - 1);
          const slxNew = slx + (wi * xi) * <f32>l;
          const sl2New = sl2 + (wi * <f32>l) * <f32>l;
          if (sl2New > 0 && (slxNew * slxNew) * suml2 > (sumlx * sumlx) * sl2New) {
            store<i32>(SIGNED_CODES + (<usize>i << 2), l);
            sumlx = slxNew;
            suml2 = sl2New;
            changed++;
            from = t + 1;
            moved = true;
            break;
          }
        }
        if (!moved) break;
      }
    }
    if (!changed) break;
  }
  const bias = i32x4.splat(nmax);
  v128.store(L, bytesOf(
    i32x4.add(v128.load(SIGNED_CODES), bias),
    i32x4.add(v128.load(SIGNED_CODES, 16), bias),
    i32x4.add(v128.load(SIGNED_CODES, 32), bias),
    i32x4.add(v128.load(SIGNED_CODES, 48), bias),
  ));
  return suml2 > 0 ? sumlx / suml2 : 0;
}

/** −min of the last makeQkx2Quants fit (AssemblyScript has no tuples). */
let fittedMin: f32 = 0;

/**
 * ggml's make_qkx2_quants: asymmetric codes in [0, nmax] for the n values at x (16 or 32) with a scale and a min (≤ 0)
 * fitted by weighted least squares over nstep + 1 trial scales (rmin + rdelta·is + nmax)/(max − min), judged by the
 * weighted squared (or absolute, useMad) error. A trial that wins moves min, which the later trials measure from; so
 * four trials run at once in the lanes with the current min, and after a win the search resumes with the trial after
 * it. Writes codes to L[0..n), −min to fittedMin, and returns the scale.
 */
function makeQkx2Quants(
  n: i32, nmax: i32, x: usize, weights: usize, L: usize, rmin: f32, rdelta: f32, nstep: i32, useMad: bool,
): f32 {
  let lo = v128.load32_splat(x);
  let hi = lo;
  for (let i = 0; i < n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    lo = f32x4.pmin(lo, v);
    hi = f32x4.pmax(hi, v);
  }
  // Which of two equal zeros ends up as min never shows in the results (it only meets + and −, then squares or |·|).
  let min = lowestLane(lo);
  const max = highestLane(hi);
  let sumW = load<f32>(weights);
  let sumX = sumW * load<f32>(x);
  for (let i = 1; i < n; i++) {
    const w = f32At(weights, i);
    sumW += w;
    sumX += w * f32At(x, i);
  }
  if (min > 0) min = 0;
  if (max == min) {
    memory.fill(L, 0, n);
    fittedMin = -min;
    return 0;
  }
  const iscale: f32 = <f32>nmax / (max - min);
  let scale: f32 = 1 / iscale;
  let bestError: f32 = 0;
  for (let i = 0; i < n; i += 4) {
    const xv = v128.load(x + (<usize>i << 2));
    const l = clampInt4(nearestInt4(f32x4.mul(f32x4.splat(iscale), f32x4.sub(xv, f32x4.splat(min)))), 0, nmax);
    const narrowed = i16x8.narrow_i32x4_s(l, l);
    v128.store32_lane(L + <usize>i, i8x16.narrow_i16x8_u(narrowed, narrowed), 0);
    let diff = f32x4.sub(f32x4.add(f32x4.mul(f32x4.splat(scale), f32x4.convert_i32x4_s(l)), f32x4.splat(min)), xv);
    diff = useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff);
    const term = f32x4.mul(v128.load(weights + (<usize>i << 2)), diff);
    bestError += f32x4.extract_lane(term, 0);
    bestError += f32x4.extract_lane(term, 1);
    bestError += f32x4.extract_lane(term, 2);
    bestError += f32x4.extract_lane(term, 3);
  }
  let first = 0;
  while (first <= nstep) {
    const is = f32x4.add(f32x4.splat(<f32>first), f32x4(0, 1, 2, 3));
    const iscales = f32x4.div(
      f32x4.add(f32x4.add(f32x4.splat(rmin), f32x4.mul(f32x4.splat(rdelta), is)), f32x4.splat(<f32>nmax)),
      f32x4.splat(max - min),
    );
    let sumL = f32x4.splat(0);
    let sumL2 = f32x4.splat(0);
    let sumXL = f32x4.splat(0);
    for (let i = 0; i < n; i++) {
      const xi = f32At(x, i);
      const lf = f32x4.convert_i32x4_s(clampInt4(nearestInt4(f32x4.mul(iscales, f32x4.splat(xi - min))), 0, nmax));
      v128.store(TRIAL_CODES + (<usize>i << 4), lf);
      const wl = f32x4.mul(v128.load32_splat(weights + (<usize>i << 2)), lf);
      sumL = f32x4.add(sumL, wl);
      sumL2 = f32x4.add(sumL2, f32x4.mul(wl, lf));
      sumXL = f32x4.add(sumXL, f32x4.mul(wl, f32x4.splat(xi)));
    }
    const vSumW = f32x4.splat(sumW);
    const vSumX = f32x4.splat(sumX);
    const D = f32x4.sub(f32x4.mul(vSumW, sumL2), f32x4.mul(sumL, sumL));
    let thisScale = f32x4.div(f32x4.sub(f32x4.mul(vSumW, sumXL), f32x4.mul(vSumX, sumL)), D);
    let thisMin = f32x4.div(f32x4.sub(f32x4.mul(sumL2, vSumX), f32x4.mul(sumL, sumXL)), D);
    const positiveMin = f32x4.gt(thisMin, f32x4.splat(0));
    thisMin = v128.andnot(thisMin, positiveMin);
    thisScale = v128.bitselect(f32x4.div(sumXL, sumL2), thisScale, positiveMin);
    let error = f32x4.splat(0);
    for (let i = 0; i < n; i++) {
      const lf = v128.load(TRIAL_CODES + (<usize>i << 4));
      let diff = f32x4.sub(f32x4.add(f32x4.mul(thisScale, lf), thisMin), v128.load32_splat(x + (<usize>i << 2)));
      diff = useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff);
      error = f32x4.add(error, f32x4.mul(v128.load32_splat(weights + (<usize>i << 2)), diff));
    }
    v128.store(TRIAL_A, D);
    v128.store(TRIAL_B, error);
    v128.store(TRIAL_C, thisScale);
    v128.store(TRIAL_D, thisMin);
    let winner = -1;
    for (let t = 0; t < 4 && first + t <= nstep; t++) {
      if (f32At(TRIAL_A, t) > 0 && f32At(TRIAL_B, t) < bestError) {
        winner = t;
        break;
      }
    }
    if (winner < 0) {
      first += 4;
      continue;
    }
    for (let i = 0; i < n; i++) store<u8>(L + <usize>i, <i32>load<f32>(TRIAL_CODES + (<usize>i << 4) + (<usize>winner << 2)));
    bestError = f32At(TRIAL_B, winner);
    scale = f32At(TRIAL_C, winner);
    min = f32At(TRIAL_D, winner);
    first += winner + 1;
  }
  fittedMin = -min;
  return scale;
}

/** The smallest lane as a scan with `v < min` finds it. */
@inline
function lowestLane(v: v128): f32 {
  let m = f32x4.extract_lane(v, 0);
  const b = f32x4.extract_lane(v, 1);
  const c = f32x4.extract_lane(v, 2);
  const d = f32x4.extract_lane(v, 3);
  if (b < m) m = b;
  if (c < m) m = c;
  if (d < m) m = d;
  return m;
}

/** The largest lane as a scan with `v > max` finds it. */
@inline
function highestLane(v: v128): f32 {
  let m = f32x4.extract_lane(v, 0);
  const b = f32x4.extract_lane(v, 1);
  const c = f32x4.extract_lane(v, 2);
  const d = f32x4.extract_lane(v, 3);
  if (b > m) m = b;
  if (c > m) m = c;
  if (d > m) m = d;
  return m;
}

// --- packing ---

/** 2-bit codes of 256 values (CODES) as Q2_K and Q3_K store them: per 128 values, 32 bytes with stripes of 32 at shifts 0, 2, 4, 6. */
function pack2Bit(y: usize): void {
  for (let half = 0; half < 256; half += 128) {
    for (let l = 0; l < 32; l += 16) {
      const c = CODES + <usize>(half + l);
      const packed = v128.or(
        v128.or(v128.load(c), i8x16.shl(v128.load(c, 32), 2)),
        v128.or(i8x16.shl(v128.load(c, 64), 4), i8x16.shl(v128.load(c, 96), 6)),
      );
      v128.store(y + <usize>(half / 4 + l), packed);
    }
  }
}

// --- block encoders ---

/** Q2_K, 84 bytes: scales/mins nibbles [16], 2-bit codes [64], f16 d, f16 dmin. */
export function quantizeQ2_K(x: usize, y: usize, n: i32): void {
  const q4scale: f32 = 15;
  for (let b = 0; b < n; b += 256) {
    let maxScale: f32 = 0;
    let maxMin: f32 = 0;
    for (let j = 0; j < 16; j++) {
      const gx = x + (<usize>(16 * j) << 2);
      for (let l = 0; l < 16; l += 4) v128.store(WEIGHTS + (<usize>l << 2), f32x4.abs(v128.load(gx + (<usize>l << 2))));
      const scale = makeQkx2Quants(16, 3, gx, WEIGHTS, CODES + <usize>(16 * j), -0.5, TENTH, 15, true);
      store<f32>(GROUP_SCALES + (<usize>j << 2), scale);
      store<f32>(GROUP_MINS + (<usize>j << 2), fittedMin);
      if (scale > maxScale) maxScale = scale;
      if (fittedMin > maxMin) maxMin = fittedMin;
    }
    if (maxScale > 0) {
      const iscale = q4scale / maxScale;
      for (let j = 0; j < 16; j++) store<u8>(y + <usize>j, nearestInt(iscale * f32At(GROUP_SCALES, j)));
    } else {
      memory.fill(y, 0, 16);
    }
    const d = storeF16(y + 80, maxScale > 0 ? maxScale / q4scale : 0);
    let dmin: f32 = 0;
    if (maxMin > 0) {
      const iscale = q4scale / maxMin;
      for (let j = 0; j < 16; j++) {
        store<u8>(y + <usize>j, load<u8>(y + <usize>j) | (nearestInt(iscale * f32At(GROUP_MINS, j)) << 4));
      }
      dmin = storeF16(y + 82, maxMin / q4scale);
    } else {
      store<u16>(y + 82, 0);
    }
    // Re-derive the codes against the scales as stored (f16 and 4-bit), so decoding matches what was fitted.
    for (let j = 0; j < 16; j++) {
      const sc = load<u8>(y + <usize>j);
      const scale = d * <f32>(sc & 0xf);
      if (scale == 0) continue;
      requantize(x + (<usize>(16 * j) << 2), CODES + <usize>(16 * j), 16, dmin * <f32>(sc >> 4), scale, 0, 3, 0);
    }
    pack2Bit(y + 16);
    x += 1024;
    y += 84;
  }
}

/** Q3_K, 110 bytes: high bits [32], low 2-bit codes [64], sixteen 6-bit scales in 12 bytes, f16 d. */
export function quantizeQ3_K(x: usize, y: usize, n: i32): void {
  for (let b = 0; b < n; b += 256) {
    const scalesAt = y + 96;
    let maxScale: f32 = 0;
    let amax: f32 = 0;
    for (let j = 0; j < 16; j++) {
      const scale = makeQ3Quants(4, x + (<usize>(16 * j) << 2), CODES + <usize>(16 * j));
      store<f32>(GROUP_SCALES + (<usize>j << 2), scale);
      if (Mathf.abs(scale) > amax) {
        amax = Mathf.abs(scale);
        maxScale = scale;
      }
    }
    memory.fill(scalesAt, 0, 12);
    let d: f32 = 0;
    if (maxScale != 0) {
      const iscale: f32 = <f32>-32 / maxScale;
      for (let j = 0; j < 16; j++) {
        const l = clampInt(<i8>nearestInt(iscale * f32At(GROUP_SCALES, j)), -32, 31) + 32;
        const low = scalesAt + <usize>(j & 7);
        store<u8>(low, load<u8>(low) | ((l & 0xf) << (j < 8 ? 0 : 4)));
        const high = scalesAt + 8 + <usize>(j & 3);
        store<u8>(high, load<u8>(high) | ((l >> 4) << (2 * (j >> 2))));
      }
      d = storeF16(y + 108, 1 / iscale);
    } else {
      store<u16>(y + 108, 0);
    }
    for (let j = 0; j < 16; j++) {
      const low = (<u32>load<u8>(scalesAt + <usize>(j & 7)) >> (j < 8 ? 0 : 4)) & 0xf;
      const high = (<u32>load<u8>(scalesAt + 8 + <usize>(j & 3)) >> (2 * (j >> 2))) & 3;
      const scale = d * <f32>(<i32>(low | (high << 4)) - 32);
      if (scale == 0) continue;
      requantize(x + (<usize>(16 * j) << 2), CODES + <usize>(16 * j), 16, 0, scale, -4, 3, 4);
    }
    // Codes are 0..7: the high bit goes to the mask (byte l % 32, bit l / 32), the low two bits are packed.
    const lowBits = i8x16.splat(3);
    let mask0 = i8x16.splat(0);
    let mask1 = i8x16.splat(0);
    for (let m = 0; m < 8; m++) {
      const c = CODES + <usize>(32 * m);
      const c0 = v128.load(c);
      const c1 = v128.load(c, 16);
      mask0 = v128.or(mask0, i8x16.shl(i8x16.shr_u(c0, 2), m));
      mask1 = v128.or(mask1, i8x16.shl(i8x16.shr_u(c1, 2), m));
      v128.store(c, v128.and(c0, lowBits));
      v128.store(c, v128.and(c1, lowBits), 16);
    }
    v128.store(y, mask0);
    v128.store(y, mask1, 16);
    pack2Bit(y + 32);
    x += 1024;
    y += 110;
  }
}

/**
 * Q4_K (144 bytes: f16 d, f16 dmin, scales [12], 4-bit codes [128]) and Q5_K (176 bytes: the same with 5th bits [32]
 * before the codes) share their scale fitting: eight groups of 32, each fitted with make_qkx2_quants against weights
 * rms(group) + |x|, then the group scales and mins quantized to 6 bits against f16 d and dmin.
 */
function quantizeQ4_KOrQ5_K(x: usize, y: usize, n: i32, hasHighBits: bool): void {
  const nmax = hasHighBits ? 31 : 15;
  const rmin: f32 = hasHighBits ? -0.5 : -1;
  const nstep = hasHighBits ? 15 : 20;
  const bytesPerBlock: usize = hasHighBits ? 176 : 144;
  const codesAt: usize = hasHighBits ? 48 : 16;
  for (let b = 0; b < n; b += 256) {
    const scalesAt = y + 4;
    let maxScale: f32 = 0;
    let maxMin: f32 = 0;
    for (let j = 0; j < 8; j++) {
      const gx = x + (<usize>(32 * j) << 2);
      let sumX2: f32 = 0;
      for (let l = 0; l < 32; l++) sumX2 += f32At(gx, l) * f32At(gx, l);
      const avX = f32x4.splat(Mathf.sqrt(sumX2 / 32));
      for (let l = 0; l < 32; l += 4) {
        v128.store(WEIGHTS + (<usize>l << 2), f32x4.add(avX, f32x4.abs(v128.load(gx + (<usize>l << 2)))));
      }
      const scale = makeQkx2Quants(32, nmax, gx, WEIGHTS, CODES + <usize>(32 * j), rmin, TENTH, nstep, false);
      store<f32>(GROUP_SCALES + (<usize>j << 2), scale);
      store<f32>(GROUP_MINS + (<usize>j << 2), fittedMin);
      if (scale > maxScale) maxScale = scale;
      if (fittedMin > maxMin) maxMin = fittedMin;
    }
    const invScale: f32 = maxScale > 0 ? 63 / maxScale : 0;
    const invMin: f32 = maxMin > 0 ? 63 / maxMin : 0;
    for (let j = 0; j < 8; j++) {
      // The reference stores these in a uint8_t before clamping to 63.
      const ls = min<u32>(63, <u8>nearestInt(invScale * f32At(GROUP_SCALES, j)));
      const lm = min<u32>(63, <u8>nearestInt(invMin * f32At(GROUP_MINS, j)));
      if (j < 4) {
        store<u8>(scalesAt + <usize>j, ls);
        store<u8>(scalesAt + <usize>j + 4, lm);
      } else {
        store<u8>(scalesAt + <usize>j + 4, (ls & 0xf) | ((lm & 0xf) << 4));
        store<u8>(scalesAt + <usize>j - 4, load<u8>(scalesAt + <usize>j - 4) | ((ls >> 4) << 6));
        store<u8>(scalesAt + <usize>j, load<u8>(scalesAt + <usize>j) | ((lm >> 4) << 6));
      }
    }
    const d = storeF16(y, maxScale / 63);
    const dmin = storeF16(y + 2, maxMin / 63);
    for (let j = 0; j < 8; j++) {
      let sc: u32;
      let m: u32;
      if (j < 4) {
        sc = load<u8>(scalesAt + <usize>j) & 63;
        m = load<u8>(scalesAt + <usize>j + 4) & 63;
      } else {
        sc = (load<u8>(scalesAt + <usize>j + 4) & 0xf) | ((load<u8>(scalesAt + <usize>j - 4) >> 6) << 4);
        m = (load<u8>(scalesAt + <usize>j + 4) >> 4) | ((load<u8>(scalesAt + <usize>j) >> 6) << 4);
      }
      const scale = d * <f32>sc;
      if (scale == 0) continue;
      requantize(x + (<usize>(32 * j) << 2), CODES + <usize>(32 * j), 32, dmin * <f32>m, scale, 0, nmax, 0);
    }
    // Each 64 values share 32 bytes: the first 32 in the low nibbles. Q5_K's 5th bits: bit 2k (first 32) and 2k+1
    // (second 32) of byte l for the k-th 64.
    const nibble = i8x16.splat(0xf);
    let high0 = i8x16.splat(0);
    let high1 = i8x16.splat(0);
    for (let k = 0; k < 4; k++) {
      const c = CODES + <usize>(64 * k);
      const q = y + codesAt + <usize>(32 * k);
      const a0 = v128.load(c);
      const a1 = v128.load(c, 16);
      const b0 = v128.load(c, 32);
      const b1 = v128.load(c, 48);
      v128.store(q, v128.or(v128.and(a0, nibble), i8x16.shl(b0, 4)));
      v128.store(q, v128.or(v128.and(a1, nibble), i8x16.shl(b1, 4)), 16);
      if (hasHighBits) {
        high0 = v128.or(high0, v128.or(i8x16.shl(i8x16.shr_u(a0, 4), 2 * k), i8x16.shl(i8x16.shr_u(b0, 4), 2 * k + 1)));
        high1 = v128.or(high1, v128.or(i8x16.shl(i8x16.shr_u(a1, 4), 2 * k), i8x16.shl(i8x16.shr_u(b1, 4), 2 * k + 1)));
      }
    }
    if (hasHighBits) {
      v128.store(y + 16, high0);
      v128.store(y + 16, high1, 16);
    }
    x += 1024;
    y += bytesPerBlock;
  }
}

export function quantizeQ4_K(x: usize, y: usize, n: i32): void {
  quantizeQ4_KOrQ5_K(x, y, n, false);
}

export function quantizeQ5_K(x: usize, y: usize, n: i32): void {
  quantizeQ4_KOrQ5_K(x, y, n, true);
}

/** Q6_K, 210 bytes: low 4 bits [128], high 2 bits [64], sixteen int8 scales, f16 d. */
export function quantizeQ6_K(x: usize, y: usize, n: i32): void {
  for (let b = 0; b < n; b += 256) {
    let maxScale: f32 = 0;
    let maxAbsScale: f32 = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(32, x + (<usize>(16 * ib) << 2), CODES + <usize>(16 * ib));
      store<f32>(GROUP_SCALES + (<usize>ib << 2), scale);
      if (Mathf.abs(scale) > maxAbsScale) {
        maxAbsScale = Mathf.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      memory.fill(y, 0, 210);
    } else {
      const iscale: f32 = <f32>-128 / maxScale;
      const d = storeF16(y + 208, 1 / iscale);
      for (let ib = 0; ib < 16; ib++) {
        const sc = <i8>min(127, nearestInt(iscale * f32At(GROUP_SCALES, ib)));
        store<i8>(y + 192 + <usize>ib, sc);
        const scale = d * <f32>sc;
        if (scale == 0) continue;
        requantize(x + (<usize>(16 * ib) << 2), CODES + <usize>(16 * ib), 16, 0, scale, -32, 31, 32);
      }
      // Each 128 values: low nibbles in 64 bytes (values l and l+64 share byte l, l+32 and l+96 byte l+32), the top
      // two bits of values l, l+32, l+64, l+96 in byte l of 32.
      const nibble = i8x16.splat(0xf);
      for (let half = 0; half < 2; half++) {
        const ql = y + <usize>(64 * half);
        const qh = y + 128 + <usize>(32 * half);
        for (let l = 0; l < 32; l += 16) {
          const c = CODES + <usize>(128 * half + l);
          const c1 = v128.load(c);
          const c2 = v128.load(c, 32);
          const c3 = v128.load(c, 64);
          const c4 = v128.load(c, 96);
          v128.store(ql + <usize>l, v128.or(v128.and(c1, nibble), i8x16.shl(c3, 4)));
          v128.store(ql + <usize>l + 32, v128.or(v128.and(c2, nibble), i8x16.shl(c4, 4)));
          v128.store(qh + <usize>l, v128.or(
            v128.or(i8x16.shr_u(c1, 4), i8x16.shl(i8x16.shr_u(c2, 4), 2)),
            v128.or(i8x16.shl(i8x16.shr_u(c3, 4), 4), i8x16.shl(i8x16.shr_u(c4, 4), 6)),
          ));
        }
      }
    }
    x += 1024;
    y += 210;
  }
}
