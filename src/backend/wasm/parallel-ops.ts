// The ops that threads share, described as a flat list of numbers so that the
// calling thread can pass them to the pool through shared memory. Every thread
// runs the same function with its own index and computes a disjoint part of the
// output (rows of a matmul, heads of attention) with the same kernel code, so
// the result does not depend on the number of threads.

import type { KernelExports } from './load-kernels';

export const OP_MATMUL = 1;
export const OP_ATTENTION = 2;

/** Most numbers an op takes, its code included. */
export const MAX_OP_ARGS = 16;

/** [start, end) of thread `index`'s share of `total` items, shares starting on multiples of `align`. */
export function shareOf(total: number, index: number, count: number, align = 1): [number, number] {
  const boundary = (i: number) => (i === count ? total : Math.floor((total * i) / count / align) * align);
  return [boundary(index), boundary(index + 1)];
}

/** Runs thread `index`'s share (of `count`) of the op in `args`. */
export function runShare(kernels: KernelExports, args: Float64Array, index: number, count: number): void {
  const op = args[0];
  if (op === OP_MATMUL) {
    const [type, w, rows, cols, act, nTokens, out] = args.subarray(1, 8);
    // Whole groups of 4 rows, as the grouped Q4_0 and Q4_K layouts keep them.
    const [start, end] = shareOf(rows!, index, count, 4);
    if (start < end) kernels.matmul(type!, w!, rows!, cols!, act!, nTokens!, out!, start, end);
  } else if (op === OP_ATTENTION) {
    const [q, keys, values, valueBlockBytes, out, nTokens, startPos, nHeads, nKvHeads, headDim, scale, scratch, scratchBytes] = args.subarray(1, 14);
    const [start, end] = shareOf(nHeads!, index, count);
    const ownScratch = scratch! + index * scratchBytes!;
    if (start < end) kernels.attention(q!, keys!, values!, valueBlockBytes!, out!, nTokens!, startPos!, nHeads!, nKvHeads!, headDim!, scale!, ownScratch, start, end);
  } else {
    throw new Error(`unknown parallel op ${op}`);
  }
}
