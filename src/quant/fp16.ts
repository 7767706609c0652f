// Half-precision conversions with the exact rounding llama.cpp uses
// (IEEE round-to-nearest-even for f16, every NaN becoming ggml's canonical quiet
// NaN; ggml's round-to-nearest-even for bf16, with NaN kept quiet), so quantized
// scales and converted tensors match its output bit for bit.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f16 bits → f32 value. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** f32 value → f16 bits, rounding to nearest even, as ggml's portable GGML_FP32_TO_FP16 does. */
export function f32ToF16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  // ggml drops NaN payloads: every NaN is sign | 0x7e00.
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal f16 (or zero): shift the implicit-one mantissa into place, rounding to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry into the exponent is still correct
  return sign | h;
}

/** bf16 bits → f32 value. */
export function bf16ToF32(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}

/** f32 value → bf16 bits, as ggml rounds it. */
export function f32ToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 64) & 0xffff; // quiet NaN
  return ((x + (0x7fff + ((x >>> 16) & 1))) >>> 16) & 0xffff;
}

/** Rounds an f32 through f16 and back: the value a stored f16 scale really has. */
export function roundThroughF16(value: number): number {
  return f16ToF32(f32ToF16(value));
}
