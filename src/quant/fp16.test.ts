import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './fp16';

describe('f16', () => {
  it('converts known values', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // rounds up to infinity
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie rounds to even (zero)
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // tie rounds to even (2)
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie to even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(NaN)).toBe(0x7e00);
    // ggml drops NaN payloads; only the sign survives.
    const payloadNaN = new Float32Array(new Uint32Array([0xffa02000]).buffer)[0]!;
    expect(f32ToF16(payloadNaN)).toBe(0xfe00);
    expect(f16ToF32(0x3555)).toBeCloseTo(0.333251953125, 12);
  });
  it('round-trips every f16 value', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16ToF32(h);
      if (Number.isNaN(v)) continue;
      expect(f32ToF16(v)).toBe(h);
    }
  });
  it('picks the nearest f16 for any f32', () => {
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
        const h = f32ToF16(x);
        const err = Math.abs(f16ToF32(h) - x);
        const up = Math.abs(f16ToF32((h & 0x7fff) === 0x7bff ? h : h + 1) - x);
        const down = (h & 0x7fff) === 0 ? Infinity : Math.abs(f16ToF32(h - 1) - x);
        return err <= up && err <= down;
      }),
    );
  });
});

describe('bf16', () => {
  it('rounds to nearest even and keeps NaN quiet', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie to even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16(NaN) & 0x7fc0).toBe(0x7fc0);
  });
});
