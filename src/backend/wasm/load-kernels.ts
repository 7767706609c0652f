// Loads the compiled kernel module in Node (from disk) or the browser (fetch).
// Prefers the relaxed-SIMD build and falls back to plain SIMD where the engine
// rejects it (e.g. Node 20 without flags) or computes its byte dot products wrongly. Each build comes in two flavours: for
// a private memory and for a shared one (threads). Compiled once per process.

import { BackendError } from '../backend';
import { readWasmAsset } from './load-wasm';

/** The exports of src/backend/wasm/assembly/index.ts. Pointers are byte offsets into the imported memory. */
export interface KernelExports {
  heapBase(): number;
  relaxedSimdIsExact(): boolean;
  quantizeRowQ8(x: number, out: number, n: number): void;
  quantizeRowQ8K(x: number, out: number, n: number): void;
  roundRowF16(x: number, out: number, n: number): void;
  roundRowBf16(x: number, out: number, n: number): void;
  matmul(type: number, w: number, rows: number, cols: number, act: number, nTokens: number, out: number, rowStart: number, rowEnd: number): void;
  /** The layout id the backend keeps a weight of this type and row count in: the type's own, or a group-of-4-rows layout (Q4_0, Q4_K). */
  weightLayout(type: number, rows: number): number;
  /** Writes GGUF rows at src into a group-of-4-rows layout at dst (src may lie at the end of dst's bytes); scratch: 4 source rows. */
  repack(layout: number, dst: number, src: number, rows: number, cols: number, scratch: number): void;
  rowBytes(type: number, cols: number): number;
  activationRowBytes(type: number, cols: number): number;
  dequantizeRow(type: number, w: number, cols: number, row: number, out: number): void;
  rmsNorm(x: number, weight: number, out: number, n: number, rows: number, eps: number): void;
  add(a: number, b: number, out: number, n: number): void;
  addRows(x: number, bias: number, n: number, rows: number): void;
  siluMul(gate: number, up: number, out: number, n: number): void;
  rope(x: number, nTokens: number, nHeads: number, headDim: number, ropeDims: number, cosSin: number, neox: boolean): void;
  attentionScratchFloats(nSeen: number, headDim: number, nHeads: number): number;
  storeValueBlocks(x: number, values: number, startPos: number, nTokens: number, width: number, blockBytes: number): void;
  attention(
    q: number, kCache: number, vCache: number, vBlockBytes: number, out: number, nTokens: number, startPos: number,
    nHeads: number, nKvHeads: number, headDim: number, scale: number, scratch: number, headStart: number, headEnd: number,
  ): void;
  maxOf(x: number, n: number): number;
  sumExpBelow(x: number, n: number, maxValue: number): number;
}

export interface KernelModule {
  readonly module: WebAssembly.Module;
  /** True when the relaxed-SIMD build was accepted. */
  readonly relaxedSimd: boolean;
  /** True for the build that imports a shared memory. */
  readonly shared: boolean;
}

const PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB; the shared build declares this maximum. */
export const MAX_MEMORY_PAGES = 65536;

const cached = new Map<boolean, Promise<KernelModule>>();

/** The compiled kernels for a private (`shared` false) or shared memory, loaded on first use. */
export function loadKernelModule(shared: boolean): Promise<KernelModule> {
  let module = cached.get(shared);
  if (!module) {
    module = compileKernels(shared).catch((error: unknown) => {
      cached.delete(shared);
      throw error;
    });
    cached.set(shared, module);
  }
  return module;
}

async function compileKernels(shared: boolean): Promise<KernelModule> {
  // Literal URLs so that bundlers (Vite) emit every file as an asset.
  const relaxed = await readWasmAsset(shared ? new URL('./build/kernels-relaxed-shared.wasm', import.meta.url) : new URL('./build/kernels-relaxed.wasm', import.meta.url));
  if (WebAssembly.validate(relaxed)) {
    const module = await WebAssembly.compile(relaxed);
    // Relaxed byte dot products must give the exact sums with our operands and multiply-add must be fused; an engine that does not gets the plain build.
    const probe = await instantiateKernels(module, createKernelMemory(shared));
    if (probe.relaxedSimdIsExact()) return { module, relaxedSimd: true, shared };
  }
  const plain = await readWasmAsset(shared ? new URL('./build/kernels-shared.wasm', import.meta.url) : new URL('./build/kernels.wasm', import.meta.url));
  if (!WebAssembly.validate(plain)) throw new BackendError('this JavaScript engine does not support WebAssembly SIMD');
  return { module: await WebAssembly.compile(plain), relaxedSimd: false, shared };
}

/** A memory for the kernels: shared ones must declare their maximum. */
export function createKernelMemory(shared: boolean, initialBytes = PAGE_BYTES): WebAssembly.Memory {
  const initial = Math.max(1, Math.ceil(initialBytes / PAGE_BYTES));
  return shared ? new WebAssembly.Memory({ initial, maximum: MAX_MEMORY_PAGES, shared: true }) : new WebAssembly.Memory({ initial });
}

/** An instance of the kernels working on `memory` (of the module's flavour). */
export async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
