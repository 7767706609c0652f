// Quantization throughput per type, in MB of f32 input per second: the TS
// reference on one thread, and the path whole-model quantization takes (rows
// jobs on a pool: WASM SIMD where supported, else the reference) on 1 and on
// more threads. llama-quantize's figures on the development machine sit beside them.

import { JOB_ELEMENTS } from '../quant/quantize-model';
import { startRowsPool } from '../quant/quantize-pool';
import { quantizeTensor } from '../quant/quantize';
import { GgmlType, ggmlTypeNamed } from '../quant/types';
import { loadWasmQuantizer, type WasmQuantizer } from '../quant/wasm-quantize';

export const QUANT_BENCH_TYPES = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'F16', 'BF16'];

/**
 * llama-quantize (llama.cpp v0.5.0, CPU build) on the development machine, in MB of f32 input per second, by thread
 * count. Measured whole-model, so Q4_K_M (a mix of Q4_K and Q6_K) stands in for Q4_K on 2 threads.
 */
export const LLAMA_QUANTIZE_MB_PER_SECOND: Record<number, Record<string, { type: string; mbPerSecond: number }>> = {
  1: Object.fromEntries(
    Object.entries({ Q8_0: 580, Q4_0: 1620, Q4_1: 2048, Q5_0: 1265, Q5_1: 1510, Q2_K: 70, Q3_K: 334, Q4_K: 60, Q5_K: 70, Q6_K: 124 })
      .map(([type, mbPerSecond]) => [type, { type, mbPerSecond }]),
  ),
  2: {
    Q8_0: { type: 'Q8_0', mbPerSecond: 893 },
    Q2_K: { type: 'Q2_K', mbPerSecond: 105 },
    Q4_K: { type: 'Q4_K_M', mbPerSecond: 114 },
    Q6_K: { type: 'Q6_K', mbPerSecond: 247 },
  },
};

export interface QuantBenchResult {
  type: string;
  /** The TS reference encoder, one thread. */
  referenceMbPerSecond: number;
  /** Whether the pool path runs the WASM SIMD quantizer for this type (else the reference). */
  wasm: boolean;
  /** The WASM quantizer alone (WasmQuantizer.quantize on one buffer, one thread), where it supports the type. */
  kernelMbPerSecond: number | undefined;
  /** The pool path, by thread count. */
  poolMbPerSecond: Record<number, number>;
}

/** Heavy-tailed random weights, like real ones. */
function randomWeights(elements: number): Float32Array {
  const out = new Float32Array(elements);
  let seed = 12345;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < elements; i++) {
    const u = next() - 0.5;
    out[i] = (u * 0.05) / Math.max(0.05, Math.sqrt(next()));
  }
  return out;
}

function mbPerSecond(elements: number, ms: number): number {
  return (elements * 4) / 1e6 / (ms / 1000);
}

/** The TS reference on `elements` values in rows of `rowLength`, after a short warm-up of the JIT. */
function benchReference(name: string, weights: Float32Array, rowLength: number): number {
  const type = ggmlTypeNamed(name);
  quantizeTensor(type, weights.subarray(0, rowLength * 8), rowLength);
  const t0 = performance.now();
  quantizeTensor(type, weights, rowLength);
  return mbPerSecond(weights.length, performance.now() - t0);
}

/** The WASM quantizer on the whole buffer, after a warm-up: the kernel without the pool path's reading and checks. */
function benchKernel(wasm: WasmQuantizer, name: string, weights: Float32Array): number | undefined {
  const type = ggmlTypeNamed(name);
  if (!wasm.supports(type)) return undefined;
  wasm.quantize(type, weights.subarray(0, JOB_ELEMENTS));
  const t0 = performance.now();
  wasm.quantize(type, weights);
  return mbPerSecond(weights.length, performance.now() - t0);
}

/**
 * F32 rows through a pool of `threads`, in jobs the size quantizeModel uses, each with its own buffer as quantizeModel
 * reads them; workers are started and warmed first.
 */
async function benchPool(names: string[], weights: Float32Array, rowLength: number, threads: number): Promise<number[]> {
  const pool = await startRowsPool(threads);
  const rowsPerJob = JOB_ELEMENTS / rowLength;
  const jobs = (type: number, rows: number) =>
    Array.from({ length: Math.ceil(rows / rowsPerJob) }, (_, j) => ({
      tensorName: 'bench',
      from: GgmlType.F32,
      to: type,
      rowLength,
      firstRow: j * rowsPerJob,
      source: new Uint8Array(weights.buffer.slice(j * JOB_ELEMENTS * 4, Math.min(rows * rowLength, (j + 1) * JOB_ELEMENTS) * 4)),
    }));
  try {
    const results: number[] = [];
    for (const name of names) {
      const type = ggmlTypeNamed(name).id;
      await Promise.all(jobs(type, rowsPerJob * threads).map((job) => pool.run(job))); // warm-up: one job per thread
      const timed = jobs(type, weights.length / rowLength);
      const t0 = performance.now();
      await Promise.all(timed.map((job) => pool.run(job)));
      results.push(mbPerSecond(weights.length, performance.now() - t0));
    }
    return results;
  } finally {
    pool.close();
  }
}

/**
 * Every type on `threadCounts`. The reference runs on fewer values (its k-quants are slow); the pool path on
 * `elements` values (64 MB of f32 by default), rows of 4096.
 */
export async function benchQuantize(threadCounts = [1, 2], types = QUANT_BENCH_TYPES, elements = 4096 * 4096, referenceElements = 4096 * 256): Promise<QuantBenchResult[]> {
  const rowLength = 4096;
  const weights = randomWeights(elements);
  const wasm = await loadWasmQuantizer();
  const pool: Record<number, number[]> = {};
  for (const threads of threadCounts) pool[threads] = await benchPool(types, weights, rowLength, threads);
  return types.map((type, i) => ({
    type,
    referenceMbPerSecond: benchReference(type, weights.subarray(0, referenceElements), rowLength),
    wasm: wasm.supports(ggmlTypeNamed(type)),
    kernelMbPerSecond: benchKernel(wasm, type, weights),
    poolMbPerSecond: Object.fromEntries(threadCounts.map((threads) => [threads, pool[threads]![i]!])),
  }));
}
