// Activation rows prepared for a matmul, once per matmul, in the form the
// weight type's dot product wants — the same rounding llama.cpp's CPU backend
// applies, so our integer dot products see the same integers:
//   32-element weight blocks: Q8 blocks (Q8_0 quantization, with Q8_1's sum);
//   256-element K-quant blocks: Q8_K blocks;
//   F16 / BF16 weights: the activations rounded to that precision (kept as f32).
// These are internal layouts, not GGUF's: scales are f32 and sums precomputed.

import { f32ToBf16, f32ToF16, roundToF16, roundToF16x4 } from './simd';

/** Q8 block of 32: qs[32] at 0, d (f16-rounded) at 32, s = f16(d·Σqs) at 36, Σqs (i32) at 40. */
export const Q8_BLOCK_BYTES: i32 = 48;
/** Q8_K block of 256: qs[256] at 0, the sums of each 16 (i16[16], within ±16·127) at Q8K_SUMS, d at Q8K_SCALE. */
export const Q8K_BLOCK_BYTES: i32 = 304;
export const Q8K_SUMS: i32 = 256;
export const Q8K_SCALE: i32 = 288;

/** Quantizes one row of n floats (n a multiple of 32) to Q8 blocks, as ggml's x86 quantize_row_q8_0/q8_1 do. */
export function quantizeRowQ8(x: usize, out: usize, n: i32): void {
  for (let b = 0; b < n; b += 32) {
    let amax: f32 = 0;
    for (let i = 0; i < 32; i++) amax = max(amax, Mathf.abs(load<f32>(x + (<usize>i << 2))));
    const d: f32 = amax / 127;
    const id: f32 = amax != 0 ? <f32>127 / amax : 0;
    let sum: i32 = 0;
    for (let i = 0; i < 32; i++) {
      const q = <i32>nearest<f32>(load<f32>(x + (<usize>i << 2)) * id);
      store<i8>(out + i, <i8>q);
      sum += q;
    }
    store<f32>(out + 32, roundToF16(d));
    store<f32>(out + 36, roundToF16(d * <f32>sum));
    store<i32>(out + 40, sum);
    x += 128;
    out += Q8_BLOCK_BYTES;
  }
}

/** Quantizes one row of n floats (n a multiple of 256) to Q8_K blocks, as ggml's quantize_row_q8_K does. */
export function quantizeRowQ8K(x: usize, out: usize, n: i32): void {
  for (let b = 0; b < n; b += 256) {
    let amax: f32 = 0;
    let signedMax: f32 = 0;
    for (let i = 0; i < 256; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      if (Mathf.abs(v) > amax) {
        amax = Mathf.abs(v);
        signedMax = v;
      }
    }
    if (amax == 0) {
      memory.fill(out, 0, Q8K_BLOCK_BYTES);
    } else {
      const iscale: f32 = <f32>-127 / signedMax;
      for (let g = 0; g < 16; g++) {
        let sum: i32 = 0;
        for (let i = 0; i < 16; i++) {
          const e = g * 16 + i;
          const q = min(<i32>nearest<f32>(iscale * load<f32>(x + (<usize>e << 2))), 127);
          store<i8>(out + e, <i8>q);
          sum += q;
        }
        store<i16>(out + Q8K_SUMS + (<usize>g << 1), <i16>sum);
      }
      store<f32>(out + Q8K_SCALE, <f32>1 / iscale);
    }
    x += 1024;
    out += Q8K_BLOCK_BYTES;
  }
}

/** out[i] = x[i] rounded through f16 (out may be x). */
export function roundRowF16(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), roundToF16x4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), roundToF16(load<f32>(x + (<usize>i << 2))));
}

/** out[i] = x[i] rounded through bf16. */
export function roundRowBf16(x: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<u32>(out + (<usize>i << 2), f32ToBf16(load<f32>(x + (<usize>i << 2))) << 16);
  }
}
