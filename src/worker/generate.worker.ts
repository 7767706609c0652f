// The generate worker: holds one model loaded for inference and runs prompts on it,
// off the UI thread. The page reaches it through comlink (src/app/generate-client.ts):
// load() with progress and cancel, generate() streaming text through a callback, and
// cancelGeneration(). Failures come back as plain-words messages (describeFailure).
// When WebGPU fails under a model (device lost, allocation refused), the model is reopened on
// WASM with the same threads (src/engine/runtime.ts), and the description or the message says why.

import { expose } from 'comlink';
import type { BackendChoice } from '../backend/create-backend';
import { WasmBackend } from '../backend/wasm/wasm-backend';
import type { Backend } from '../backend/backend';
import { EngineError } from '../engine/errors';
import { isWebGpuFailure, openModel } from '../engine/runtime';
import { describeFailure, ModelSession, type PromptInput, type RunOptions, type RunResult, type StreamUpdate } from '../engine/session';
import { metaString, readGguf, type GgufTensorInfo } from '../formats/gguf';
import { readLlamaHparams } from '../model/hparams';
import type { LoadProgress } from '../model/model';
import { tokenizerFromGguf, type Tokenizer } from '../tokenizer';

/** A model file, or the address of one (the bundled demo model). */
export type ModelSource = Blob | string;

export interface LoadSettings {
  backend: BackendChoice;
  /** WASM threads wanted; the backend may run fewer (see the description it reports). */
  threads: number;
  /** Context length: the KV cache is reserved for this many positions. */
  nCtx: number;
}

export interface LoadRequest extends LoadSettings {
  source: ModelSource;
}

export type { LoadProgress };

/** The loaded model as the page describes it. */
export interface LoadedModel {
  /** What runs and why, e.g. "WASM SIMD, 2 threads". */
  backend: string;
  weightsBytes: number;
  kvCacheBytes: number;
  nCtx: number;
  hasChatTemplate: boolean;
}

export type LoadOutcome = { status: 'loaded'; model: LoadedModel } | { status: 'cancelled' };

export interface GenerateRequest {
  input: PromptInput;
  options: RunOptions;
}

/** Progress reports go to the page at most this often. */
const PROGRESS_INTERVAL_MS = 100;
/** wasm32 addresses 4 GiB: weights and KV cache of a WASM model must fit in it together. */
const WASM_MEMORY_LIMIT = 2 ** 32;

/** A loaded model, with what reopening it on WASM takes (after a WebGPU failure while generating). */
interface Loaded {
  session: ModelSession;
  backend: Backend;
  blob: Blob;
  tokenizer: Tokenizer;
  chatTemplate: string | undefined;
  request: LoadRequest;
}

let current: Loaded | null = null;
let loading: AbortController | null = null;
let running: { controller: AbortController; done: Promise<unknown> } | null = null;

async function blobOf(source: ModelSource): Promise<Blob> {
  if (typeof source !== 'string') return source;
  const response = await fetch(source);
  if (!response.ok) throw new Error(`could not download ${source}: HTTP ${response.status} ${response.statusText}`);
  return response.blob();
}

/** Refuses a WASM backend for weights and a KV cache that do not fit in the memory WebAssembly addresses. */
function checkWasmMemory(backend: Backend, tensors: readonly GgufTensorInfo[], kvBytes: number, nCtx: number): void {
  if (!(backend instanceof WasmBackend)) return;
  const weightsBytes = tensors.reduce((sum, tensor) => sum + backend.uploadedBytes(tensor, tensor.bytes), 0);
  if (weightsBytes + kvBytes <= WASM_MEMORY_LIMIT) return;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  throw new EngineError(
    `the weights (${gib(weightsBytes)}) and a KV cache for ${nCtx} tokens (${gib(kvBytes)}) do not fit in the 4 GiB that WebAssembly can address: ` +
      'choose a shorter context or a smaller (quantized) model',
  );
}

function release(): void {
  current?.backend.dispose();
  current = null;
}

async function load(request: LoadRequest, onProgress: (progress: LoadProgress) => void): Promise<LoadOutcome> {
  if (loading || running) throw new Error('the model is busy: wait for the current load or generation, or stop it');
  release();
  const controller = new AbortController();
  loading = controller;
  let backend: Backend | null = null;
  try {
    // Everything that can reject the model is checked before the weights are read.
    const blob = await blobOf(request.source);
    const gguf = await readGguf(blob);
    const tokenizer = tokenizerFromGguf(gguf);
    const hparams = readLlamaHparams(gguf, tokenizer.vocabSize);
    if (!Number.isInteger(request.nCtx) || request.nCtx < 2) throw new EngineError(`the context length must be an integer of at least 2, got ${request.nCtx}`);
    const kvBytesOn = (candidate: Backend) => candidate.kvCacheBytes(hparams.nLayers, request.nCtx, hparams.nKvHeads * hparams.headDim);
    let lastReport = -Infinity;
    let weightsBytes = 0;
    const { model, description } = await openModel(blob, request.backend, {
      threads: request.threads,
      signal: controller.signal,
      onProgress: (progress) => {
        weightsBytes = progress.bytesLoaded;
        if (performance.now() - lastReport < PROGRESS_INTERVAL_MS && progress.tensorsLoaded < progress.tensorsTotal) return;
        lastReport = performance.now();
        void onProgress(progress);
      },
      beforeLoad: (candidate) => checkWasmMemory(candidate, gguf.tensors, kvBytesOn(candidate), request.nCtx),
    });
    backend = model.backend;
    const chatTemplate = metaString(gguf, 'tokenizer.chat_template');
    const session = new ModelSession(model, tokenizer, chatTemplate, request.nCtx);
    current = { session, backend, blob, tokenizer, chatTemplate, request };
    backend = null;
    return {
      status: 'loaded',
      model: { backend: description, weightsBytes, kvCacheBytes: kvBytesOn(model.backend), nCtx: request.nCtx, hasChatTemplate: session.chatTemplate !== undefined },
    };
  } catch (error) {
    if (controller.signal.aborted) return { status: 'cancelled' };
    throw new Error(describeFailure(error));
  } finally {
    backend?.dispose();
    loading = null;
  }
}

async function generate(request: GenerateRequest, onUpdate: (update: StreamUpdate) => void): Promise<RunResult> {
  const loaded = current;
  if (!loaded) throw new Error('Load a model first');
  if (running) throw new Error('A generation is already running: wait for it or stop it');
  const controller = new AbortController();
  const done = loaded.session.run(request.input, request.options, { signal: controller.signal, onUpdate: (update) => void onUpdate(update) });
  running = { controller, done };
  try {
    return await done;
  } catch (error) {
    // Not after unload() (it aborts the run): the model it frees must stay freed.
    if (!controller.signal.aborted && isWebGpuFailure(loaded.backend, error)) throw new Error(await reopenOnWasm(loaded, error));
    throw new Error(describeFailure(error));
  } finally {
    running = null;
  }
}

/** After WebGPU failed under the loaded model: the same model on WASM with the same threads, and what to tell the page. */
async function reopenOnWasm(loaded: Loaded, failure: Error): Promise<string> {
  const { blob, tokenizer, chatTemplate, request } = loaded;
  release();
  try {
    const { model, description } = await openModel(blob, 'wasm', { threads: request.threads, fallbackReason: failure.message });
    current = { session: new ModelSession(model, tokenizer, chatTemplate, request.nCtx), backend: model.backend, blob, tokenizer, chatTemplate, request };
    return `WebGPU failed while generating (${failure.message}); the model now runs on ${description}: run the prompt again`;
  } catch (error) {
    return `WebGPU failed while generating (${failure.message}), and reopening the model on WASM failed too: ${describeFailure(error)}`;
  }
}

const api = {
  load,
  /** Stops a load; it resolves with status 'cancelled' and nothing stays loaded. */
  cancelLoad(): void {
    loading?.abort();
  },
  generate,
  /** Stops the running generation after the current token; it resolves with what it generated and stopped: 'cancelled'. */
  cancelGeneration(): void {
    running?.controller.abort();
  },
  /** Frees the loaded model, once a running generation has stopped. */
  async unload(): Promise<void> {
    loading?.abort();
    if (running) {
      running.controller.abort();
      await running.done.catch(() => undefined);
    }
    release();
  },
};

export type GenerateApi = typeof api;

expose(api);
