// Entry point of the WASM quantizers. Like the kernels module it owns no heap:
// the TypeScript side (src/quant/wasm-quantize.ts) places the f32 input and the
// output above heapBase() and passes pointers and element counts.

import { convertBf16, convertF16 } from './floats';
import { quantizeQ2_K, quantizeQ3_K, quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from './k-quants';
import { quantizeQ4_0, quantizeQ4_1, quantizeQ5_0, quantizeQ5_1, quantizeQ8_0 } from './legacy';

// Exported only so that no compiler treats them as constants (see the kernels' constants.ts).
export * from '../../backend/wasm/assembly/constants';
export * from './constants';

// GGUF type ids (src/quant/types.ts).
const F16: i32 = 1;
const Q4_0: i32 = 2;
const Q4_1: i32 = 3;
const Q5_0: i32 = 6;
const Q5_1: i32 = 7;
const Q8_0: i32 = 8;
const Q2_K: i32 = 10;
const Q3_K: i32 = 11;
const Q4_K: i32 = 12;
const Q5_K: i32 = 13;
const Q6_K: i32 = 14;
const BF16: i32 = 30;

/** True when `quantize` handles this type id. */
export function supports(type: i32): bool {
  return type == F16 || type == BF16 || type == Q8_0 || type == Q4_0 || type == Q4_1 || type == Q5_0 || type == Q5_1
    || type == Q2_K || type == Q3_K || type == Q4_K || type == Q5_K || type == Q6_K;
}

/** Encodes n floats at x as `type` at y. n must be a multiple of the type's block size (32 for the legacy Q types, 256 for the k-quants). */
export function quantize(type: i32, x: usize, y: usize, n: i32): void {
  if (type == F16) convertF16(x, y, n);
  else if (type == BF16) convertBf16(x, y, n);
  else if (type == Q8_0) quantizeQ8_0(x, y, n);
  else if (type == Q4_0) quantizeQ4_0(x, y, n);
  else if (type == Q4_1) quantizeQ4_1(x, y, n);
  else if (type == Q5_0) quantizeQ5_0(x, y, n);
  else if (type == Q5_1) quantizeQ5_1(x, y, n);
  else if (type == Q2_K) quantizeQ2_K(x, y, n);
  else if (type == Q3_K) quantizeQ3_K(x, y, n);
  else if (type == Q4_K) quantizeQ4_K(x, y, n);
  else if (type == Q5_K) quantizeQ5_K(x, y, n);
  else if (type == Q6_K) quantizeQ6_K(x, y, n);
  else unreachable();
}

/** First free byte after the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}
