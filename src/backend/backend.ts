// The operations a transformer forward pass needs, independent of where they
// run (WASM SIMD on the CPU, WebGPU). Model code holds opaque handles for
// weights, activation buffers and KV caches and calls these ops; each backend
// keeps weights in their quantized GGUF layout.

import type { GgmlTypeTraits } from '../quant/types';

/** A tensor as the model describes it: GGUF name, type and shape (ne order: shape[0] is the row length). */
export interface WeightInfo {
  readonly name: string;
  readonly type: GgmlTypeTraits;
  readonly shape: readonly number[];
}

/** A weight uploaded to the backend. A matrix has `rows` rows of `cols` elements. */
export interface BackendWeight {
  readonly info: WeightInfo;
  readonly cols: number;
  readonly rows: number;
}

/** A backend-resident f32 array of `length` elements. */
export interface BackendBuffer {
  readonly length: number;
}

/**
 * Bytes a KV cache spends per key or value in every backend: f32 words holding values rounded to f16
 * (llama.cpp's F16 cache has those values; f32 words spare the kernels a conversion on every read).
 */
export const KV_BYTES_PER_VALUE = 4;

/** Keys and values of every layer for up to `nCtx` positions, `kvDim` values per position. */
export interface BackendKvCache {
  readonly nLayers: number;
  readonly nCtx: number;
  readonly kvDim: number;
}

export interface RopeParams {
  readonly nHeads: number;
  readonly headDim: number;
  /** Leading dimensions of each head that are rotated (the rest pass through). */
  readonly ropeDims: number;
  readonly freqBase: number;
  /** Position multiplier (1 / linear scaling factor). */
  readonly freqScale: number;
  /** NeoX ordering rotates pairs (i, i + ropeDims/2); normal ordering rotates adjacent pairs. */
  readonly neox: boolean;
  /** Per-pair divisors of the angle (ropeDims/2 values: a GGUF's rope_freqs.weight, as Llama 3.1 scaling writes it). */
  readonly freqFactors?: Float32Array | undefined;
}

export interface AttentionParams {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Multiplier of q·k before the softmax, usually 1/sqrt(headDim). */
  readonly scale: number;
}

export interface Backend {
  readonly name: string;
  /** Weight types `matmul` and `embed` accept. */
  supports(type: GgmlTypeTraits): boolean;

  /** Copies a tensor's GGUF bytes into the backend, unchanged. */
  uploadWeight(info: WeightInfo, bytes: Uint8Array): BackendWeight;
  createBuffer(length: number): BackendBuffer;
  /** A window of `length` elements of a buffer, starting at element `offset`. */
  view(buffer: BackendBuffer, offset: number, length: number): BackendBuffer;
  write(buffer: BackendBuffer, data: Float32Array): void;
  /** A copy of the buffer's values, once every op recorded before the call has run. */
  read(buffer: BackendBuffer): Promise<Float32Array>;
  createKvCache(nLayers: number, nCtx: number, kvDim: number): BackendKvCache;

  /** out[t] = row tokens[t] of the embedding matrix, as f32. */
  embed(weight: BackendWeight, tokens: ArrayLike<number>, out: BackendBuffer): void;
  /** out[t] = weight · x[t] for nTokens rows: x is nTokens × cols, out is nTokens × rows. */
  matmul(weight: BackendWeight, x: BackendBuffer, out: BackendBuffer, nTokens: number): void;
  /** RMS normalization of `rows` rows of n = weight.cols values, times the weight. */
  rmsNorm(x: BackendBuffer, weight: BackendWeight, out: BackendBuffer, rows: number, eps: number): void;
  /** x[t] += bias for nTokens rows of bias.cols values. */
  addBias(x: BackendBuffer, bias: BackendWeight, nTokens: number): void;
  /** out = a + b, element-wise. */
  add(a: BackendBuffer, b: BackendBuffer, out: BackendBuffer): void;
  /** out = silu(gate) ⊙ up, element-wise. */
  siluMul(gate: BackendBuffer, up: BackendBuffer, out: BackendBuffer): void;
  /** Rotary embedding in place of nTokens rows of nHeads·headDim values at positions startPos, startPos+1, … */
  rope(x: BackendBuffer, nTokens: number, startPos: number, params: RopeParams): void;
  /** Writes nTokens rows of keys and values into a layer of the cache at startPos. */
  storeKv(cache: BackendKvCache, layer: number, k: BackendBuffer, v: BackendBuffer, startPos: number, nTokens: number): void;
  /** Causal attention of nTokens query rows (positions startPos…) over the cache of one layer. */
  attention(q: BackendBuffer, cache: BackendKvCache, layer: number, out: BackendBuffer, startPos: number, nTokens: number, params: AttentionParams): void;

  /** Releases everything this backend holds. */
  dispose(): void;
}

/** Misuse of a backend: wrong handle, unsupported type, out-of-range sizes. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}
