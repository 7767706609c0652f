// The inspector worker: parses model headers, computes tensor statistics, and
// plans and runs quantizations, all off the UI thread. The page reaches it
// through comlink (see src/app/inspector-client.ts). Files arrive as File/Blob
// objects (cloned cheaply, not copied); only the header bytes and the bytes of
// the tensors being inspected or converted are ever read.

import { expose } from 'comlink';
import type { GgufFile } from '../formats/gguf';
import { openModels, type ModelHandle, type ModelView, type NamedBlob, type OpenError } from '../formats/model';
import { planModel, plannedBytes, quantizeModel, QuantizeCancelledError, type QuantizeProgress } from '../quant/quantize-model';
import type { QuantizeOptions } from '../quant/recipes';
import type { TensorStats } from '../quant/tensor-stats';
import { createOutput, type QuantizeOutput } from './quantize-output';

export interface OpenResult {
  models: ModelView[];
  errors: OpenError[];
}

/** One tensor of a quantization plan, as the page shows it. */
export interface PlannedTensor {
  name: string;
  shape: number[];
  from: string;
  to: string;
  reason: string;
}

export interface QuantizePlan {
  tensors: PlannedTensor[];
  /** Bytes of tensor data the output will have. */
  tensorBytes: number;
  /** Tensor data plus the header, estimated from the source's header. */
  estimatedFileBytes: number;
  bitsPerWeight: number;
}

export type QuantizeOutcome =
  | { status: 'done'; model: ModelView; file: File; storage: QuantizeOutput['storage'] }
  | { status: 'cancelled' };

/** Loaded models by ModelView.id, kept so that tensors can be read back later. */
const handles = new Map<string, ModelHandle>();
/** Files written by quantization runs, by the id of the model opened from them. */
const outputs = new Map<string, QuantizeOutput>();
/** The running quantization, if any: one at a time, so the machine is not oversubscribed. */
let running: AbortController | null = null;
/** Progress reports sent to the page at most this often (plus one when a run ends). */
const PROGRESS_INTERVAL_MS = 100;

function handleOf(modelId: string): ModelHandle {
  const handle = handles.get(modelId);
  if (!handle) throw new RangeError(`model ${modelId} is not loaded (it may have been closed)`);
  return handle;
}

function ggufOf(modelId: string): { blob: Blob; gguf: GgufFile } {
  const handle = handleOf(modelId);
  const blob = handle.blobs[0]?.blob;
  if (!handle.gguf || !blob) throw new TypeError(`${handle.view.name} is not a GGUF model: converting safetensors is not available yet`);
  return { blob, gguf: handle.gguf };
}

async function open(files: NamedBlob[]): Promise<OpenResult> {
  const { models, handles: opened, errors } = await openModels(files);
  for (const handle of opened) handles.set(handle.view.id, handle);
  return { models, errors };
}

const inspector = {
  open,

  /** Downloads a model (the bundled demo) inside the worker and opens it. */
  async openUrl(url: string, name: string): Promise<OpenResult> {
    let blob: Blob;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      blob = await response.blob();
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return { models: [], errors: [{ file: name, message: `could not download ${url}: ${reason}`, field: null, offset: null }] };
    }
    return open([{ name, blob }]);
  },

  tensorStats(modelId: string, tensorName: string): Promise<TensorStats> {
    return handleOf(modelId).tensorStats(tensorName);
  },

  metadataArray(modelId: string, key: string, start: number, count: number): Promise<(string | number | boolean)[]> {
    return handleOf(modelId).metadataArray(key, start, count);
  },

  /** What quantizing with `options` would do to each tensor, and how big the result would be. */
  planQuantization(modelId: string, options: QuantizeOptions): QuantizePlan {
    const { gguf } = ggufOf(modelId);
    const plan = planModel(gguf, options);
    const tensorBytes = plannedBytes(plan);
    const elements = plan.reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
    return {
      tensors: plan.map((p) => ({ name: p.name, shape: p.shape, from: p.from.name, to: p.to.name, reason: p.reason })),
      tensorBytes,
      // The output's header is the source's (same metadata and tensor list) plus two small quantization stamps.
      estimatedFileBytes: gguf.dataOffset + tensorBytes,
      bitsPerWeight: elements > 0 ? (tensorBytes * 8) / elements : 0,
    };
  },

  /**
   * Quantizes a loaded GGUF model into a new file `fileName` and opens the
   * result as a new model. Progress goes to `onProgress` (a comlink proxy);
   * cancelQuantization() stops the run and removes what was written.
   */
  async quantize(modelId: string, options: QuantizeOptions, fileName: string, onProgress: (p: QuantizeProgress) => void): Promise<QuantizeOutcome> {
    if (running) throw new Error('a quantization is already running: wait for it or cancel it');
    const { blob, gguf } = ggufOf(modelId);
    const controller = new AbortController();
    running = controller;
    let output: QuantizeOutput | null = null;
    try {
      output = await createOutput(fileName);
      let lastReport = -Infinity;
      await quantizeModel(blob, gguf, options, output.sink, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.elapsedMs - lastReport < PROGRESS_INTERVAL_MS && p.tensorsDone < p.tensorsTotal) return;
          lastReport = p.elapsedMs;
          void onProgress(p);
        },
      });
      const file = await output.finish();
      const { handles: opened, errors } = await openModels([{ name: fileName, blob: file }]);
      const handle = opened[0];
      if (!handle) throw new Error(`the quantized file could not be read back: ${errors[0]?.message ?? 'unknown error'}`);
      handles.set(handle.view.id, handle);
      outputs.set(handle.view.id, output);
      return { status: 'done', model: handle.view, file, storage: output.storage };
    } catch (e) {
      await output?.discard();
      if (e instanceof QuantizeCancelledError) return { status: 'cancelled' };
      throw e;
    } finally {
      running = null;
    }
  },

  /** Stops the running quantization; it ends with status 'cancelled'. */
  cancelQuantization(): void {
    running?.abort();
  },

  /** Forgets a model; a quantization result's file is deleted with it. */
  async close(modelId: string): Promise<void> {
    handles.delete(modelId);
    const output = outputs.get(modelId);
    outputs.delete(modelId);
    await output?.discard();
  },
};

export type InspectorApi = typeof inspector;

expose(inspector);
