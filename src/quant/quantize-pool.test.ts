import { describe, expect, it } from 'vitest';
import { UnsupportedTypeError } from './errors';
import { PoolClosedError, startRowsPool } from './quantize-pool';
import type { RowsJob } from './quantize-pool-job';
import { quantizeTensor } from './quantize';
import { GgmlType, ggmlType } from './types';

const rowLength = 256;
const values = Float32Array.from({ length: rowLength * 8 }, (_, i) => Math.cos(i * 0.11) * (i % 13));
/** A job with its own copy of the rows, since a pool takes their buffer over. */
const job = (to: number): RowsJob => ({ tensorName: 't', from: GgmlType.F32, to, rowLength, firstRow: 0, source: new Uint8Array(values.buffer.slice(0)) });

describe('startRowsPool', () => {
  it.each([1, 2])('converts rows like the reference and keeps its errors\' classes on %i threads', async (threads) => {
    const pool = await startRowsPool(threads);
    try {
      expect(await pool.run(job(GgmlType.Q5_K))).toEqual(quantizeTensor(ggmlType(GgmlType.Q5_K), values, rowLength));
      await expect(pool.run(job(GgmlType.IQ2_XXS))).rejects.toBeInstanceOf(UnsupportedTypeError);
      // Rows within a larger buffer are copied for a worker, leaving that buffer intact.
      const within = new Uint8Array(values.byteLength + 4);
      within.set(new Uint8Array(values.buffer), 4);
      const rows = within.subarray(4);
      expect(await pool.run({ ...job(GgmlType.Q8_0), source: rows })).toEqual(quantizeTensor(ggmlType(GgmlType.Q8_0), values, rowLength));
      expect(rows.byteLength).toBe(values.byteLength);
    } finally {
      pool.close();
    }
  });

  it.each([1, 2])('rejects pending and later jobs once closed on %i threads', async (threads) => {
    const pool = await startRowsPool(threads);
    const pending = pool.run(job(GgmlType.Q6_K));
    const reason = new Error('stop');
    pool.close(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(pool.run(job(GgmlType.Q6_K))).rejects.toBe(reason);
  });

  it('closes with PoolClosedError by default and refuses bad thread counts', async () => {
    const pool = await startRowsPool(1);
    pool.close();
    await expect(pool.run(job(GgmlType.Q8_0))).rejects.toBeInstanceOf(PoolClosedError);
    await expect(startRowsPool(1.5)).rejects.toBeInstanceOf(RangeError);
  });
});
