// Loads the compiled kernel module in Node (from disk) or the browser (fetch).
// Prefers the relaxed-SIMD build and falls back to plain SIMD where the engine
// rejects it (e.g. Node 20 without flags). Compiled once per process.

import { BackendError } from '../backend';
import { readWasmAsset } from './load-wasm';

/** The exports of src/backend/wasm/assembly/index.ts. Pointers are byte offsets into `memory`. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  quantizeRowQ8(x: number, out: number, n: number): void;
  quantizeRowQ8K(x: number, out: number, n: number): void;
  roundRowF16(x: number, out: number, n: number): void;
  roundRowBf16(x: number, out: number, n: number): void;
  storeRowF16(x: number, out: number, n: number): void;
  matmul(type: number, w: number, rows: number, cols: number, act: number, nTokens: number, out: number, rowStart: number, rowEnd: number): void;
  rowBytes(type: number, cols: number): number;
  activationRowBytes(type: number, cols: number): number;
  dequantizeRow(type: number, w: number, cols: number, row: number, out: number): void;
  rmsNorm(x: number, weight: number, out: number, n: number, rows: number, eps: number): void;
  add(a: number, b: number, out: number, n: number): void;
  addRows(x: number, bias: number, n: number, rows: number): void;
  siluMul(gate: number, up: number, out: number, n: number): void;
  rope(x: number, nTokens: number, nHeads: number, headDim: number, ropeDims: number, cosSin: number, neox: boolean): void;
  attention(q: number, kCache: number, vCache: number, out: number, nTokens: number, startPos: number, nHeads: number, nKvHeads: number, headDim: number, scale: number, scratch: number): void;
}

export interface KernelModule {
  readonly module: WebAssembly.Module;
  /** True when the relaxed-SIMD build was accepted. */
  readonly relaxedSimd: boolean;
}

let cached: Promise<KernelModule> | undefined;

/** The compiled kernels, loaded on first use. */
export function loadKernelModule(): Promise<KernelModule> {
  cached ??= compileKernels().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function compileKernels(): Promise<KernelModule> {
  // Literal URLs so that bundlers (Vite) emit both files as assets.
  const relaxed = await readWasmAsset(new URL('./build/kernels-relaxed.wasm', import.meta.url));
  if (WebAssembly.validate(relaxed)) return { module: await WebAssembly.compile(relaxed), relaxedSimd: true };
  const plain = await readWasmAsset(new URL('./build/kernels.wasm', import.meta.url));
  if (!WebAssembly.validate(plain)) throw new BackendError('this JavaScript engine does not support WebAssembly SIMD');
  return { module: await WebAssembly.compile(plain), relaxedSimd: false };
}

/** A fresh instance with its own memory. */
export async function instantiateKernels(): Promise<{ exports: KernelExports; relaxedSimd: boolean }> {
  const { module, relaxedSimd } = await loadKernelModule();
  const instance = await WebAssembly.instantiate(module, {});
  return { exports: instance.exports as unknown as KernelExports, relaxedSimd };
}
