// What the engine needs from a loaded model, and loading one from a GGUF file.

import { readGguf } from '../formats/gguf';
import { topValuesOf, type Backend, type BackendKvCache, type TopValues } from '../backend/backend';
import type { LlamaHparams } from './hparams';
import { LlamaModel } from './llama';
import type { LoadProgress } from './tensors';

export type { LoadProgress };

export interface CausalLM {
  readonly hparams: LlamaHparams;
  readonly backend: Backend;
  /** Tokens evaluated per backend pass; longer inputs are split. */
  readonly maxBatch: number;
  /** A KV cache for up to nCtx positions. */
  createCache(nCtx: number): BackendKvCache;
  /**
   * Evaluates tokens at positions startPos, startPos+1, … (the cache must hold positions
   * before startPos) and returns logits: of the last token (nVocab values), or of every
   * token (tokens.length × nVocab, row-major).
   */
  forward(tokens: ArrayLike<number>, startPos: number, cache: BackendKvCache, outputs: 'last' | 'all'): Promise<Float32Array>;
  /**
   * forward(…, 'last') reduced to what sampling needs, so that a GPU reads back only that: the k largest logits
   * (k = Infinity: all), the logits of `extraIds` and the row's softmax normalizer (see Backend.topK). Models
   * without it are served by `forwardTop` from the whole row.
   */
  forwardTop?(tokens: ArrayLike<number>, startPos: number, cache: BackendKvCache, k: number, extraIds: readonly number[]): Promise<TopValues>;
}

/** model.forwardTop, or the same selection on the host from forward(…, 'last'). */
export async function forwardTop(model: CausalLM, tokens: ArrayLike<number>, startPos: number, cache: BackendKvCache, k: number, extraIds: readonly number[]): Promise<TopValues> {
  if (model.forwardTop) return model.forwardTop(tokens, startPos, cache, k, extraIds);
  return topValuesOf(await model.forward(tokens, startPos, cache, 'last'), k, extraIds);
}

export interface LoadOptions {
  /** Tokens per backend pass (default 128). */
  readonly maxBatch?: number;
  /** Called after each tensor is uploaded. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Aborting stops the load between tensors (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/**
 * Reads a GGUF model and uploads its weights to the backend. Every tensor the model needs is checked (present,
 * shape, type the backend runs) from the header before the first weight is read.
 */
export async function loadModel(blob: Blob, backend: Backend, options: LoadOptions = {}): Promise<CausalLM> {
  const file = await readGguf(blob);
  return LlamaModel.load(blob, file, backend, options.maxBatch ?? 128, options);
}
