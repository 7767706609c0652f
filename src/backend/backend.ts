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
  /** Bytes of memory createKvCache takes for these sizes (each backend lays its cache out its own way). */
  kvCacheBytes(nLayers: number, nCtx: number, kvDim: number): number;

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

  /**
   * What sampling needs from a row of logits, without reading the row back: see TopValues; `topValuesOf` is the
   * reference (and what the engine runs on the host for backends without this op). k ≥ 1 (larger than the row: all).
   */
  topK?(buffer: BackendBuffer, k: number, extraIds: readonly number[]): Promise<TopValues>;

  /** Releases everything this backend holds. */
  dispose(): void;
}

/** The softmax of a row is exp(v − max) / sumExp: log p(i) = v[i] − max − log(sumExp). */
export interface SoftmaxNormalizer {
  readonly max: number;
  readonly sumExp: number;
}

/** The k largest values of a row, the values at some extra indices, and the row's softmax normalizer. */
export interface TopValues extends SoftmaxNormalizer {
  /** Indices of the k largest values: largest first, the lower index first on ties. */
  readonly ids: Int32Array;
  /** The values at `ids`. */
  readonly values: Float32Array;
  /** The values at the extra indices asked for, in their order. */
  readonly extraValues: Float32Array;
}

/** Throws unless k is a positive integer (or Infinity: all) and every extra index lies in a row of n values. */
export function checkTopRequest(n: number, k: number, extraIds: readonly number[]): void {
  if (!(k === Infinity || (Number.isInteger(k) && k >= 1))) throw new BackendError(`top-k needs a positive integer k, got ${k}`);
  for (const id of extraIds) if (!Number.isInteger(id) || id < 0 || id >= n) throw new BackendError(`index ${id} is outside a row of ${n} values`);
}

/** max and Σ exp(v − max) of `n` values of `row` from `offset`, the sum in double precision (as llama-perplexity). */
export function softmaxNormalizer(row: ArrayLike<number>, offset = 0, n = row.length - offset): SoftmaxNormalizer {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, row[offset + i]!);
  let sumExp = 0;
  for (let i = 0; i < n; i++) sumExp += Math.exp(row[offset + i]! - max);
  return { max, sumExp };
}

/**
 * Backend.topK on the host, over a row that was read back (k = Infinity: every value, in order); a backend
 * that computes the row's normalizer faster passes it.
 */
export function topValuesOf(row: Float32Array, k: number, extraIds: readonly number[], normalizer: SoftmaxNormalizer = softmaxNormalizer(row)): TopValues {
  checkTopRequest(row.length, k, extraIds);
  const count = Math.min(k, row.length);
  // Order of the result: larger value first, lower index first on ties.
  const before = (a: number, b: number) => row[a]! > row[b]! || (row[a] === row[b] && a < b);
  let ids: Int32Array;
  if (count === row.length) {
    ids = Int32Array.from(row.keys());
  } else {
    // A heap of the best `count` seen so far, the one ranked last at its root: O(n log k).
    ids = new Int32Array(count);
    const siftDown = (at: number) => {
      for (;;) {
        const left = 2 * at + 1;
        if (left >= count) return;
        const child = left + 1 < count && before(ids[left]!, ids[left + 1]!) ? left + 1 : left;
        if (!before(ids[at]!, ids[child]!)) return;
        [ids[at], ids[child]] = [ids[child]!, ids[at]!];
        at = child;
      }
    };
    for (let i = 0; i < count; i++) ids[i] = i;
    for (let i = (count >> 1) - 1; i >= 0; i--) siftDown(i);
    // A later index never ranks before an equal value already held: only a larger value gets in.
    let lastKept = row[ids[0]!]!;
    for (let i = count; i < row.length; i++) {
      if (row[i]! > lastKept) {
        ids[0] = i;
        siftDown(0);
        lastKept = row[ids[0]!]!;
      }
    }
  }
  ids.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  return {
    ids,
    values: Float32Array.from(ids, (id) => row[id]!),
    extraValues: Float32Array.from(extraIds, (id) => row[id]!),
    max: normalizer.max,
    sumExp: normalizer.sumExp,
  };
}

/** Misuse of a backend: wrong handle, unsupported type, out-of-range sizes. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}
