// Quantization throughput per type, in MB of f32 input per second.

import { quantizeTensor } from '../quant/quantize';
import { ggmlTypeByName } from '../quant/types';
import { loadWasmQuantizer } from '../quant/wasm-quantize';

export const QUANT_BENCH_TYPES = ['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

export interface QuantBenchResult {
  type: string;
  mbPerSecond: number;
  seconds: number;
}

/** Heavy-tailed random weights, like real ones, in rows of 4096. */
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

export function benchQuantize(types = QUANT_BENCH_TYPES, elements = 4096 * 1024, rowLength = 4096): QuantBenchResult[] {
  const weights = randomWeights(elements);
  return types.map((name) => {
    const type = ggmlTypeByName(name)!;
    quantizeTensor(type, weights.subarray(0, rowLength * 16), rowLength); // warm up the JIT
    const t0 = performance.now();
    quantizeTensor(type, weights, rowLength);
    const seconds = (performance.now() - t0) / 1000;
    return { type: name, seconds, mbPerSecond: (elements * 4) / 1e6 / seconds };
  });
}

/** The same measurement for the WASM SIMD quantizers, on the types they support. */
export async function benchWasmQuantize(types = QUANT_BENCH_TYPES, elements = 4096 * 1024): Promise<QuantBenchResult[]> {
  const quantizer = await loadWasmQuantizer();
  const weights = randomWeights(elements);
  const supported = types.map((name) => ggmlTypeByName(name)!).filter((type) => quantizer.supports(type));
  return supported.map((type) => {
    quantizer.quantize(type, weights.subarray(0, 4096 * 16)); // warm up
    const t0 = performance.now();
    quantizer.quantize(type, weights);
    const seconds = (performance.now() - t0) / 1000;
    return { type: type.name, seconds, mbPerSecond: (elements * 4) / 1e6 / seconds };
  });
}
