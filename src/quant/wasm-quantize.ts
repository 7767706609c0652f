// The SIMD quantizers of src/quant/assembly, compiled to
// src/backend/wasm/build/quantize.wasm (`npx tsx src/backend/wasm/build.ts`).
// Input goes through the module's memory in chunks, so a tensor of any size
// needs only a fixed few megabytes of WASM memory.

import { readWasmAsset } from '../backend/wasm/load-wasm';
import { UnsupportedTypeError } from './errors';
import { tensorBytes, type GgmlTypeTraits } from './types';

export interface WasmQuantizer {
  /** True for the types `quantize` encodes: F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K. */
  supports(type: GgmlTypeTraits): boolean;
  /** `src` encoded as `type`, byte for byte what llama.cpp's reference quantizer writes. */
  quantize(type: GgmlTypeTraits, src: Float32Array): Uint8Array;
}

/** The exports of src/quant/assembly/index.ts. Pointers are byte offsets into `memory`. */
interface QuantizeExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  supports(type: number): boolean;
  quantize(type: number, src: number, dst: number, n: number): void;
}

/** Elements per call into the module: a multiple of every block size (32, and 256 for the k-quants), small enough to stay in cache. */
const CHUNK_ELEMENTS = 1 << 16;
/** No supported type takes more than 2 bytes per element (F16, BF16; the k-quants take at most 210 bytes per 256). */
const MAX_BYTES_PER_ELEMENT = 2;
const WASM_PAGE_BYTES = 65536;

/** A block count that is not whole: llama.cpp refuses such rows too. */
export class QuantizeLengthError extends Error {
  override readonly name = 'QuantizeLengthError';
  constructor(readonly typeName: string, readonly elements: number, readonly blockSize: number) {
    super(`cannot quantize ${elements} values to ${typeName}: not a multiple of its block size ${blockSize}`);
  }
}

let cached: Promise<WasmQuantizer> | undefined;

/** The WASM quantizer, compiled and instantiated on first use. */
export function loadWasmQuantizer(): Promise<WasmQuantizer> {
  cached ??= instantiate().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function instantiate(): Promise<WasmQuantizer> {
  const bytes = await readWasmAsset(new URL('../backend/wasm/build/quantize.wasm', import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const wasm = instance.exports as unknown as QuantizeExports;

  // Layout above the static data: one chunk of f32 input, then its output.
  const srcPtr = alignTo(wasm.heapBase(), 16);
  const dstPtr = srcPtr + CHUNK_ELEMENTS * 4;
  const end = dstPtr + CHUNK_ELEMENTS * MAX_BYTES_PER_ELEMENT;
  const missing = end - wasm.memory.buffer.byteLength;
  if (missing > 0) wasm.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));

  const supports = (type: GgmlTypeTraits) => wasm.supports(type.id);

  function quantize(type: GgmlTypeTraits, src: Float32Array): Uint8Array {
    if (!supports(type)) throw new UnsupportedTypeError(type.name, 'quantize');
    if (src.length % type.blockSize !== 0) throw new QuantizeLengthError(type.name, src.length, type.blockSize);
    const out = new Uint8Array(tensorBytes(type, src.length));
    // The memory never grows after setup, so these views stay valid.
    const input = new Float32Array(wasm.memory.buffer, srcPtr, CHUNK_ELEMENTS);
    const output = new Uint8Array(wasm.memory.buffer, dstPtr, CHUNK_ELEMENTS * MAX_BYTES_PER_ELEMENT);
    let written = 0;
    for (let start = 0; start < src.length; start += CHUNK_ELEMENTS) {
      const chunk = src.subarray(start, start + CHUNK_ELEMENTS);
      input.set(chunk);
      wasm.quantize(type.id, srcPtr, dstPtr, chunk.length);
      const chunkBytes = tensorBytes(type, chunk.length);
      out.set(output.subarray(0, chunkBytes), written);
      written += chunkBytes;
    }
    return out;
  }

  return { supports, quantize };
}

function alignTo(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
