// Entry point of the WASM kernels. The module owns no heap: the TypeScript side
// places weights, activations and caches in memory above heapBase() and passes
// pointers.

export { quantizeRowQ8, quantizeRowQ8K, roundRowF16, roundRowBf16 } from './activations';
export { matmul, weightLayout, repack, rowBytes, activationRowBytes } from './matmul';
export { relaxedSimdIsExact } from './simd';
// Exported only so that no compiler treats them as constants (see constants.ts).
export * from './constants';
export { dequantizeRow } from './dequantize';
export { rmsNorm, add, addRows, siluMul, rope, attention, attentionScratchFloats, storeValueBlocks, maxOf, sumExpBelow } from './ops';

/** First free byte after the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}
