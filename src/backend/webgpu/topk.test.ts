// WebGpuBackend.topK (shaders/topk.wgsl, Dawn on SwiftShader) against the host's topValuesOf: the same indices in the
// same order, ties broken by the lower index, and the softmax normalizer in f32.

import { beforeAll, describe, expect, it } from 'vitest';
import { BackendError, topValuesOf } from '../backend';
import { createRng } from '../../engine/sampling';
import { createTestDevice, uncapturedErrors } from './test-gpu';
import { WebGpuBackend } from './webgpu-backend';

let backend: WebGpuBackend;
beforeAll(async () => {
  backend = await WebGpuBackend.create({ device: await createTestDevice() });
});

/** Logits-like values in [-8, 8) on a coarse grid, so that many are tied. */
function tiedRow(n: number, seed: number): Float32Array {
  const random = createRng(seed);
  return Float32Array.from({ length: n }, () => Math.floor(random() * 512) / 32 - 8);
}

const logSumExp = ({ max, sumExp }: { max: number; sumExp: number }) => max + Math.log(sumExp);

describe('WebGpuBackend.topK', () => {
  it.each([
    [32000, 1],
    [32000, 40],
    [32000, 300],
    [1000, 1],
    [1000, 40],
    [1000, 300],
    // Above TOPK_MAX: the row comes back and the host selects.
    [32000, 2000],
  ])('row of %i, k = %i: the host selection, ties by lower index', { timeout: 30_000 }, async (n, k) => {
    const row = tiedRow(n, n + k);
    // The row sits after other values in its buffer, as a view would.
    const buffer = backend.createBuffer(n + 5);
    backend.write(buffer, Float32Array.from({ length: n + 5 }, (_, i) => (i < 5 ? 100 : row[i - 5]!)));
    const extraIds = [0, 17, n - 1, 17, 123];
    const gpu = await backend.topK(backend.view(buffer, 5, n), k, extraIds);
    const cpu = topValuesOf(row, k, extraIds);
    expect(Array.from(gpu.ids)).toEqual(Array.from(cpu.ids));
    expect(gpu.values).toEqual(cpu.values);
    expect(gpu.extraValues).toEqual(cpu.extraValues);
    expect(gpu.max).toBe(cpu.max);
    expect(Math.abs(logSumExp(gpu) - logSumExp(cpu))).toBeLessThan(1e-5 * Math.abs(logSumExp(cpu)));
    expect(uncapturedErrors).toEqual([]);
  });

  it('clamps k to the row and rejects bad requests', async () => {
    const row = Float32Array.from([3, -1, 3, 7]);
    const buffer = backend.createBuffer(4);
    backend.write(buffer, row);
    expect(Array.from((await backend.topK(buffer, 10, [])).ids)).toEqual([3, 0, 2, 1]);
    await expect(backend.topK(buffer, 0, [])).rejects.toThrow(BackendError);
    await expect(backend.topK(buffer, 2, [4])).rejects.toThrow(/outside a row of 4/);
  });
});
