import { describe, expect, it } from 'vitest';
import { readGguf, readTensorBytes } from '../formats/gguf';
import { fixtureBlob } from '../formats/test-files';
import { dequantize } from './dequantize';
import { UnsupportedTypeError } from './errors';
import { HISTOGRAM_BINS, OUTLIER_STDS, tensorStats } from './tensor-stats';
import { ggmlTypeByName, type GgmlTypeTraits } from './types';

const F32 = ggmlTypeByName('F32')!;

/** The statistics computed the plain way, from all values at once. */
function directStats(values: Float32Array) {
  const finite = Array.from(values).filter(Number.isFinite);
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const std = Math.sqrt(finite.reduce((a, x) => a + (x - mean) ** 2, 0) / finite.length);
  const min = finite.reduce((a, b) => Math.min(a, b), Infinity);
  const max = finite.reduce((a, b) => Math.max(a, b), -Infinity);
  const bins = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const x of finite) bins[Math.min(HISTOGRAM_BINS - 1, Math.floor(((x - min) / (max - min)) * HISTOGRAM_BINS))]!++;
  return {
    finite: finite.length,
    mean,
    std,
    min,
    max,
    nanCount: Array.from(values).filter(Number.isNaN).length,
    infCount: Array.from(values).filter((x) => x === Infinity || x === -Infinity).length,
    outlierFraction: finite.filter((x) => Math.abs(x - mean) > OUTLIER_STDS * std).length / finite.length,
    bins,
  };
}

function expectMatchesDirect(type: GgmlTypeTraits, bytes: Uint8Array, values: Float32Array): void {
  const stats = tensorStats(type, bytes, values.length);
  const direct = directStats(values);
  expect(stats.count).toBe(values.length);
  expect(stats.min).toBe(direct.min);
  expect(stats.max).toBe(direct.max);
  expect(stats.mean).toBeCloseTo(direct.mean, 12);
  expect(stats.std / direct.std).toBeCloseTo(1, 12);
  expect(stats.nanCount).toBe(direct.nanCount);
  expect(stats.infCount).toBe(direct.infCount);
  expect(stats.outlierFraction).toBe(direct.outlierFraction);
  expect(stats.histogram).toEqual({ min: direct.min, max: direct.max, bins: direct.bins });
  expect(stats.histogram.bins.reduce((a, b) => a + b, 0)).toBe(direct.finite);
}

/** Deterministic heavy-tailed values (a ratio of uniforms), so that some are outliers. */
function heavyTailed(count: number, seed: number): Float32Array {
  let state = seed;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  return Float32Array.from({ length: count }, () => (uniform() - 0.5) / uniform() + 3);
}

describe('tensorStats', () => {
  it('agrees with a direct computation over several chunks, NaN and Inf included', () => {
    const values = heavyTailed(150_001, 7);
    values[10] = NaN;
    values[70_000] = Infinity;
    values[140_000] = -Infinity;
    values[140_001] = NaN;
    const stats = tensorStats(F32, new Uint8Array(values.buffer), values.length);
    expect([stats.nanCount, stats.infCount]).toEqual([2, 2]);
    expect(stats.outlierFraction).toBeGreaterThan(0);
    expectMatchesDirect(F32, new Uint8Array(values.buffer), values);
  });

  it('decodes quantized tensors block by block', async () => {
    const blob = await fixtureBlob('quant/random-llama-256x4/pure/random-llama-256x4-Q4_K.gguf');
    const gguf = await readGguf(blob);
    const info = gguf.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')!;
    const bytes = await readTensorBytes(blob, info);
    expect(info.type.name).toBe('Q4_K');
    expectMatchesDirect(info.type, bytes, dequantize(info.type, bytes, info.elements));
  });

  it('reads an unaligned F16 view', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7e, 0x00, 0x7c]).subarray(1); // 1, −2, NaN, +Inf
    const stats = tensorStats(ggmlTypeByName('F16')!, bytes, 4);
    expect(stats).toMatchObject({ count: 4, min: -2, max: 1, mean: -0.5, std: 1.5, nanCount: 1, infCount: 1 });
    expect(stats.histogram.bins[0]).toBe(1);
    expect(stats.histogram.bins[HISTOGRAM_BINS - 1]).toBe(1);
  });

  it('handles constant and all-NaN tensors', () => {
    const constant = new Float32Array(100).fill(2.5);
    const stats = tensorStats(F32, new Uint8Array(constant.buffer), 100);
    expect(stats).toMatchObject({ min: 2.5, max: 2.5, mean: 2.5, std: 0, outlierFraction: 0 });
    expect(stats.histogram.bins[0]).toBe(100);

    const nans = new Float32Array(10).fill(NaN);
    const empty = tensorStats(F32, new Uint8Array(nans.buffer), 10);
    expect(empty).toMatchObject({ count: 10, nanCount: 10, min: NaN, max: NaN, mean: NaN, std: NaN });
    expect(empty.histogram.bins.every((b) => b === 0)).toBe(true);
  });

  it('rejects unsupported types and short input', () => {
    expect(() => tensorStats(ggmlTypeByName('I64')!, new Uint8Array(8), 1)).toThrow(UnsupportedTypeError);
    expect(() => tensorStats(F32, new Uint8Array(7), 2)).toThrow(RangeError);
    expect(() => tensorStats(ggmlTypeByName('Q8_0')!, new Uint8Array(34), 31)).toThrow(RangeError);
  });
});
