// What the engine needs from a loaded model, and loading one from a GGUF file.

import { readGguf } from '../formats/gguf';
import type { Backend, BackendKvCache } from '../backend/backend';
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
