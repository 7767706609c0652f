// Encoders of the k-quant super-block formats (256 values per block): Q2_K … Q6_K and Q8_K, value for value as
// ggml's reference quantizers (quantize_row_*_ref, no importance matrix) compute them, so the bytes equal
// llama-quantize's output.
//
// Exactness: ggml computes in f32 and every f32 operation rounds; JavaScript computes in f64. So every intermediate
// result that C rounds to float goes through fround, in C's evaluation order (a*b*c is (a*b)*c, each product rounded).
// Integers that C converts to float are exact. The block layouts are described in dequant-k.ts.

import { halfTable } from './dequant-common';
import { GgmlType } from './types';
import type { RowEncoder } from './quantize';
import { putF16 } from './quantize-legacy';

const fround = Math.fround;

/** ggml treats a group whose largest magnitude is below this as all zero. */
const GROUP_MAX_EPS = fround(1e-15);
const TENTH = fround(0.1);

// Scratch space shared by the encoders (JavaScript runs one encoder at a time per thread).
const codes = new Uint8Array(256);
const signedCodes = new Int8Array(256);
const trialCodes = new Uint8Array(32);
const groupWeights = new Float32Array(32);
const groupScales = new Float32Array(16);
const groupMins = new Float32Array(16);

const roundScratch = new Float32Array(1);
const roundBits = new Int32Array(roundScratch.buffer);

/**
 * ggml's nearest_int: adds 1.5·2²³ in f32, so the float's rounding (to nearest, ties to even) does the work, and reads
 * the integer back from the mantissa bits. `value` must already be an f32. Outside ±2²² (never for sane inputs) the
 * bits are read literally, as C does.
 */
function nearestInt(value: number): number {
  const shifted = fround(value + 12582912);
  if (shifted >= 8388608 && shifted < 16777216) return shifted - 12582912;
  roundScratch[0] = shifted;
  return (roundBits[0]! & 0x7fffff) - 0x400000;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** The f32 value of the little-endian f16 at byte `o`: a scale as the decoder will see it. */
function storedF16(dst: Uint8Array, o: number): number {
  return halfTable()[dst[o]! | (dst[o + 1]! << 8)]!;
}

/**
 * ggml's make_qx_quants for rmse_type 1 without importance weights (the only form the reference quantizers use):
 * symmetric codes in [-nmax, nmax) for x[xo..xo+n), with a scale fitted by weighted least squares (weights x²),
 * trying 18 trial scales around nmax/max. Writes codes + nmax to L[lo..] and returns the scale.
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Uint8Array, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = clamp(nearestInt(fround(iscale * xi)), -nmax, nmax - 1);
    L[lo + i] = l + nmax;
    const w = fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0;
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(TENTH * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const l = clamp(nearestInt(fround(iscale * xi)), -nmax, nmax - 1);
      const w = fround(xi * xi);
      sumlx = fround(sumlx + fround(fround(w * xi) * l));
      suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) {
        L[lo + i] = nmax + clamp(nearestInt(fround(iscale * x[xo + i]!)), -nmax, nmax - 1);
      }
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/**
 * ggml's make_q3_quants with do_rmse (as Q3_K uses it): symmetric codes in [-nmax, nmax), then up to 5 passes that
 * move single codes when that improves the x²-weighted least-squares fit. Writes codes + nmax to L[lo..] and returns
 * the scale.
 */
function makeQ3Quants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = clamp(nearestInt(fround(iscale * xi)), -nmax, nmax - 1);
    L[lo + i] = l;
    const w = fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  for (let pass = 0; pass < 5; pass++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const li = L[lo + i]!;
      const w = fround(xi * xi);
      let slx = fround(sumlx - fround(fround(w * xi) * li));
      if (slx > 0) {
        let sl2 = fround(suml2 - fround(fround(w * li) * li));
        const newL = clamp(nearestInt(fround(fround(xi * sl2) / slx)), -nmax, nmax - 1);
        if (newL !== li) {
          slx = fround(slx + fround(fround(w * xi) * newL));
          sl2 = fround(sl2 + fround(fround(w * newL) * newL));
          if (sl2 > 0 && fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            L[lo + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = L[lo + i]! + nmax;
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
}

/**
 * ggml's make_qkx2_quants: asymmetric codes in [0, nmax] for x[xo..xo+n) with a scale and a min (≤ 0) fitted by
 * weighted least squares over nstep+1 trial scales (rmin + rdelta·is + nmax)/(max − min), judged by weighted squared
 * (or absolute, useMad) error. Writes codes to L[lo..], −min to mins[minIndex], and returns the scale.
 */
function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xo: number, weights: Float32Array, L: Uint8Array, lo: number,
  mins: Float32Array, minIndex: number, rmin: number, rdelta: number, nstep: number, useMad: boolean,
): number {
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = weights[0]!;
  let sumX = fround(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i]!;
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    mins[minIndex] = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = clamp(nearestInt(fround(iscale * fround(xi - min))), 0, nmax);
    L[lo + i] = l;
    let diff = fround(fround(fround(scale * l) + min) - xi);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestError = fround(bestError + fround(weights[i]! * diff));
  }
  for (let is = 0; is <= nstep; is++) {
    // min moves to the best fit found so far, and later trials measure from it (as ggml does).
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const l = clamp(nearestInt(fround(iscale * fround(xi - min))), 0, nmax);
      trialCodes[i] = l;
      const wl = fround(weights[i]! * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * xi));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let error = 0;
      for (let i = 0; i < n; i++) {
        let diff = fround(fround(fround(thisScale * trialCodes[i]!) + thisMin) - x[xo + i]!);
        diff = useMad ? Math.abs(diff) : fround(diff * diff);
        error = fround(error + fround(weights[i]! * diff));
      }
      if (error < bestError) {
        L.set(trialCodes.subarray(0, n), lo);
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  mins[minIndex] = -min;
  return scale;
}

/** Packs 2-bit codes as Q2_K and Q3_K store them: each 128 values fill 32 bytes, stripes of 32 at shifts 0, 2, 4, 6. */
function pack2Bit(L: Uint8Array | Int8Array, dst: Uint8Array, o: number): void {
  for (let half = 0; half < 256; half += 128) {
    for (let l = 0; l < 32; l++) {
      const j = half + l;
      dst[o + half / 4 + l] = L[j]! | (L[j + 32]! << 2) | (L[j + 64]! << 4) | (L[j + 96]! << 6);
    }
  }
}

/** Q2_K, 84 bytes: scales/mins nibbles [16], 2-bit codes [64], f16 d, f16 dmin. */
const encodeQ2_K: RowEncoder = (src, dst, blocks) => {
  const q4scale = 15;
  for (let b = 0; b < blocks; b++) {
    const xo = b * 256;
    const o = b * 84;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) groupWeights[l] = Math.abs(src[xo + 16 * j + l]!);
      const scale = makeQkx2Quants(16, 3, src, xo + 16 * j, groupWeights, codes, 16 * j, groupMins, j, -0.5, TENTH, 15, true);
      groupScales[j] = scale;
      if (scale > maxScale) maxScale = scale;
      if (groupMins[j]! > maxMin) maxMin = groupMins[j]!;
    }
    if (maxScale > 0) {
      const iscale = fround(q4scale / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(fround(iscale * groupScales[j]!));
      putF16(dst, o + 80, fround(maxScale / q4scale));
    } else {
      dst.fill(0, o, o + 16);
      putF16(dst, o + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = fround(q4scale / maxMin);
      for (let j = 0; j < 16; j++) dst[o + j] = dst[o + j]! | (nearestInt(fround(iscale * groupMins[j]!)) << 4);
      putF16(dst, o + 82, fround(maxMin / q4scale));
    } else {
      putF16(dst, o + 82, 0);
    }
    // Re-derive the codes against the scales as stored (f16 and 4-bit), so decoding matches what was fitted.
    const d = storedF16(dst, o + 80);
    const dmin = storedF16(dst, o + 82);
    for (let j = 0; j < 16; j++) {
      const scale = fround(d * (dst[o + j]! & 0xf));
      if (scale === 0) continue; // as in C, a NaN scale is not skipped
      const min = fround(dmin * (dst[o + j]! >> 4));
      for (let ii = 0; ii < 16; ii++) {
        codes[16 * j + ii] = clamp(nearestInt(fround(fround(src[xo + 16 * j + ii]! + min) / scale)), 0, 3);
      }
    }
    pack2Bit(codes, dst, o + 16);
  }
};

/** Q3_K, 110 bytes: high bits [32], low 2-bit codes [64], sixteen 6-bit scales in 12 bytes, f16 d. */
const encodeQ3_K: RowEncoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const xo = b * 256;
    const o = b * 110;
    const scalesAt = o + 96;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      const scale = makeQ3Quants(16, 4, src, xo + 16 * j, signedCodes, 16 * j);
      groupScales[j] = scale;
      if (Math.abs(scale) > amax) {
        amax = Math.abs(scale);
        maxScale = scale;
      }
    }
    dst.fill(0, scalesAt, scalesAt + 12);
    if (maxScale) {
      const iscale = fround(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        const l = clamp((nearestInt(fround(iscale * groupScales[j]!)) << 24) >> 24, -32, 31) + 32;
        if (j < 8) dst[scalesAt + j] = l & 0xf;
        else dst[scalesAt + j - 8] = dst[scalesAt + j - 8]! | ((l & 0xf) << 4);
        dst[scalesAt + 8 + (j % 4)] = dst[scalesAt + 8 + (j % 4)]! | ((l >> 4) << (2 * (j >> 2)));
      }
      putF16(dst, o + 108, fround(1 / iscale));
    } else {
      putF16(dst, o + 108, 0);
    }
    const d = storedF16(dst, o + 108);
    for (let j = 0; j < 16; j++) {
      const low = j < 8 ? dst[scalesAt + j]! & 0xf : dst[scalesAt + j - 8]! >> 4;
      const high = (dst[scalesAt + 8 + (j % 4)]! >> (2 * (j >> 2))) & 3;
      const scale = fround(d * ((low | (high << 4)) - 32));
      if (scale === 0) continue; // as in C, a NaN scale is not skipped
      for (let ii = 0; ii < 16; ii++) {
        signedCodes[16 * j + ii] = clamp(nearestInt(fround(src[xo + 16 * j + ii]! / scale)), -4, 3) + 4;
      }
    }
    // Codes are 0..7: the high bit goes to the mask (byte l % 32, bit l / 32), the low two bits are packed.
    dst.fill(0, o, o + 32);
    for (let j = 0; j < 256; j++) {
      const code = signedCodes[j]!;
      if (code > 3) {
        dst[o + (j & 31)] = dst[o + (j & 31)]! | (1 << (j >> 5));
        signedCodes[j] = code - 4;
      }
    }
    pack2Bit(signedCodes, dst, o + 32);
  }
};

/**
 * Q4_K and Q5_K share their scale fitting: eight groups of 32, each fitted with make_qkx2_quants against weights
 * rms(group) + |x|, then the group scales and mins quantized to 6 bits against f16 d and dmin.
 */
function encoderQ4_KOrQ5_K(hasHighBits: boolean): RowEncoder {
  const nmax = hasHighBits ? 31 : 15;
  const rmin = hasHighBits ? -0.5 : -1;
  const nstep = hasHighBits ? 15 : 20;
  const bytesPerBlock = hasHighBits ? 176 : 144;
  const codesAt = hasHighBits ? 48 : 16;
  return (src, dst, blocks) => {
    for (let b = 0; b < blocks; b++) {
      const xo = b * 256;
      const o = b * bytesPerBlock;
      const scalesAt = o + 4;
      let maxScale = 0;
      let maxMin = 0;
      for (let j = 0; j < 8; j++) {
        const go = xo + 32 * j;
        let sumX2 = 0;
        for (let l = 0; l < 32; l++) sumX2 = fround(sumX2 + fround(src[go + l]! * src[go + l]!));
        const avX = fround(Math.sqrt(fround(sumX2 / 32)));
        for (let l = 0; l < 32; l++) groupWeights[l] = avX + Math.abs(src[go + l]!);
        const scale = makeQkx2Quants(32, nmax, src, go, groupWeights, codes, 32 * j, groupMins, j, rmin, TENTH, nstep, false);
        groupScales[j] = scale;
        if (scale > maxScale) maxScale = scale;
        if (groupMins[j]! > maxMin) maxMin = groupMins[j]!;
      }
      const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
      const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
      for (let j = 0; j < 8; j++) {
        // C stores these in uint8_t before clamping to 63.
        const ls = Math.min(63, nearestInt(fround(invScale * groupScales[j]!)) & 0xff);
        const lm = Math.min(63, nearestInt(fround(invMin * groupMins[j]!)) & 0xff);
        if (j < 4) {
          dst[scalesAt + j] = ls;
          dst[scalesAt + j + 4] = lm;
        } else {
          dst[scalesAt + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
          dst[scalesAt + j - 4] = dst[scalesAt + j - 4]! | ((ls >> 4) << 6);
          dst[scalesAt + j] = dst[scalesAt + j]! | ((lm >> 4) << 6);
        }
      }
      putF16(dst, o, fround(maxScale / 63));
      putF16(dst, o + 2, fround(maxMin / 63));
      const d = storedF16(dst, o);
      const dmin = storedF16(dst, o + 2);
      for (let j = 0; j < 8; j++) {
        let sc: number;
        let m: number;
        if (j < 4) {
          sc = dst[scalesAt + j]! & 63;
          m = dst[scalesAt + j + 4]! & 63;
        } else {
          sc = (dst[scalesAt + j + 4]! & 0xf) | ((dst[scalesAt + j - 4]! >> 6) << 4);
          m = (dst[scalesAt + j + 4]! >> 4) | ((dst[scalesAt + j]! >> 6) << 4);
        }
        const scale = fround(d * sc);
        if (scale === 0) continue; // as in C, a NaN scale is not skipped
        const min = fround(dmin * m);
        for (let ii = 0; ii < 32; ii++) {
          codes[32 * j + ii] = clamp(nearestInt(fround(fround(src[xo + 32 * j + ii]! + min) / scale)), 0, nmax);
        }
      }
      // Each 64 values share 32 bytes: the first 32 in the low nibbles. Q5_K's 5th bits: bit 2k (first) and 2k+1
      // (second 32) of byte l for the k-th 64.
      if (hasHighBits) dst.fill(0, o + 16, o + 48);
      for (let k = 0; k < 4; k++) {
        for (let l = 0; l < 32; l++) {
          let l1 = codes[64 * k + l]!;
          let l2 = codes[64 * k + l + 32]!;
          if (hasHighBits) {
            if (l1 > 15) {
              l1 -= 16;
              dst[o + 16 + l] = dst[o + 16 + l]! | (1 << (2 * k));
            }
            if (l2 > 15) {
              l2 -= 16;
              dst[o + 16 + l] = dst[o + 16 + l]! | (2 << (2 * k));
            }
          }
          dst[o + codesAt + 32 * k + l] = l1 | (l2 << 4);
        }
      }
    }
  };
}

/** Q6_K, 210 bytes: low 4 bits [128], high 2 bits [64], sixteen int8 scales, f16 d. */
const encodeQ6_K: RowEncoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const xo = b * 256;
    const o = b * 210;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, src, xo + 16 * ib, codes, 16 * ib);
      groupScales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + 210);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    putF16(dst, o + 208, fround(1 / iscale));
    const d = storedF16(dst, o + 208);
    for (let ib = 0; ib < 16; ib++) {
      const sc = (Math.min(127, nearestInt(fround(iscale * groupScales[ib]!))) << 24) >> 24;
      dst[o + 192 + ib] = sc & 0xff;
      const scale = fround(d * sc);
      if (scale === 0) continue; // as in C, a NaN scale is not skipped
      for (let ii = 0; ii < 16; ii++) {
        codes[16 * ib + ii] = clamp(nearestInt(fround(src[xo + 16 * ib + ii]! / scale)), -32, 31) + 32;
      }
    }
    // Each 128 values: low nibbles in 64 bytes (values l and l+64 share byte l, l+32 and l+96 byte l+32), the top two
    // bits of values l, l+32, l+64, l+96 in byte l of 32.
    for (let half = 0; half < 2; half++) {
      const j = 128 * half;
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      for (let l = 0; l < 32; l++) {
        const c1 = codes[j + l]!;
        const c2 = codes[j + l + 32]!;
        const c3 = codes[j + l + 64]!;
        const c4 = codes[j + l + 96]!;
        dst[ql + l] = (c1 & 0xf) | ((c3 & 0xf) << 4);
        dst[ql + l + 32] = (c2 & 0xf) | ((c4 & 0xf) << 4);
        dst[qh + l] = (c1 >> 4) | ((c2 >> 4) << 2) | ((c3 >> 4) << 4) | ((c4 >> 4) << 6);
      }
    }
  }
};

/** Q8_K, 292 bytes: f32 d, 256 int8 codes, sixteen int16 sums of 16 codes (the dot-product helper type). */
const encodeQ8_K: RowEncoder = (src, dst, blocks) => {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let b = 0; b < blocks; b++) {
    const xo = b * 256;
    const o = b * 292;
    let max = 0;
    let amax = 0;
    for (let j = 0; j < 256; j++) {
      const ax = Math.abs(src[xo + j]!);
      if (ax > amax) {
        amax = ax;
        max = src[xo + j]!;
      }
    }
    if (amax === 0) {
      dst.fill(0, o, o + 292);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let j = 0; j < 256; j++) dst[o + 4 + j] = Math.min(127, nearestInt(fround(iscale * src[xo + j]!))) & 0xff;
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let ii = 0; ii < 16; ii++) sum += (dst[o + 4 + 16 * j + ii]! << 24) >> 24;
      view.setInt16(o + 260 + 2 * j, sum, true);
    }
    view.setFloat32(o, fround(1 / iscale), true);
  }
};

export const K_ENCODERS: ReadonlyMap<number, RowEncoder> = new Map([
  [GgmlType.Q2_K, encodeQ2_K],
  [GgmlType.Q3_K, encodeQ3_K],
  [GgmlType.Q4_K, encoderQ4_KOrQ5_K(false)],
  [GgmlType.Q5_K, encoderQ4_KOrQ5_K(true)],
  [GgmlType.Q6_K, encodeQ6_K],
  [GgmlType.Q8_K, encodeQ8_K],
]);
