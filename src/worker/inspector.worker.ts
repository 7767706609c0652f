// The inspector worker: parses model headers, computes tensor statistics, and
// plans and runs quantizations (converting safetensors models to GGUF first), all off the UI thread. The page reaches it
// through comlink (see src/app/inspector-client.ts). Files arrive as File/Blob
// objects (cloned cheaply, not copied); only the header bytes and the bytes of
// the tensors being inspected or converted are ever read.

import { expose } from 'comlink';
import { readGguf, type GgufFile } from '../formats/gguf';
import { convertedLayout, convertHfToGguf, type ConvertOptions } from '../formats/convert-hf';
import { openModels, type ModelHandle, type ModelView, type NamedBlob, type OpenError } from '../formats/model';
import { planModel, plannedBytes, quantizeModel, QuantizeCancelledError, type QuantizeProgress, type QuantizeRun } from '../quant/quantize-model';
import { createGpuQuantizer } from '../backend/webgpu/gpu-quantize';
import { findAdapter, requestFullDevice } from '../backend/webgpu/adapter';
import type { QuantizeOptions } from '../quant/recipes';
import { convertedFileName, isConversionOnly } from '../app/quantize-form';
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
  | { status: 'done'; model: ModelView; file: File; storage: QuantizeOutput['storage']; engine: string }
  | { status: 'cancelled' };

/** Loaded models by ModelView.id, kept so that tensors can be read back later. */
const handles = new Map<string, ModelHandle>();
/** Files written by quantization runs, by the id of the model opened from them. */
const outputs = new Map<string, QuantizeOutput>();
/** The running quantization, if any: one at a time, so the machine is not oversubscribed. */
let running: AbortController | null = null;
/** Progress reports sent to the page at most this often (plus one when a run ends). */
const PROGRESS_INTERVAL_MS = 100;

interface QuantizeEngine {
  run: Pick<QuantizeRun, 'threads' | 'device'>;
  /** Shown with the result, e.g. "WebGPU (nvidia ampere)" or "WASM SIMD, 8 threads". */
  description: string;
}

let engine: Promise<QuantizeEngine> | undefined;

/**
 * Where quantization runs: on a hardware GPU when the page has one; otherwise on WASM threads (several only when the
 * page is cross-origin isolated, as nested workers then share the work). A software adapter (SwiftShader) is slower
 * than WASM, so it is not used.
 */
function quantizeEngine(): Promise<QuantizeEngine> {
  engine ??= (async () => {
    const gpu = await findAdapter();
    if (gpu && !gpu.software) {
      return { run: { device: createGpuQuantizer(await requestFullDevice(gpu.adapter)) }, description: `WebGPU (${gpu.label})` };
    }
    const threads = self.crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency) : 1;
    return { run: { threads }, description: `WASM SIMD, ${threads} thread${threads > 1 ? 's' : ''}` };
  })();
  return engine;
}

function handleOf(modelId: string): ModelHandle {
  const handle = handles.get(modelId);
  if (!handle) throw new RangeError(`model ${modelId} is not loaded (it may have been closed)`);
  return handle;
}

/** A safetensors model's files by name, and how its conversion to GGUF is done: F16, as convert_hf_to_gguf.py's default. */
function conversionOf(handle: ModelHandle): { files: Map<string, Blob>; options: ConvertOptions } {
  // The converter names the model after its folder; files picked one by one have none to go by.
  const folder = handle.blobs[0]?.path?.split('/').slice(-2, -1)[0];
  const name = folder || handle.view.name.replace(/\.safetensors$/i, '');
  return { files: new Map(handle.blobs.map((f) => [f.name, f.blob])), options: { outtype: 'f16', name } };
}

/** The GGUF a model is or, for a safetensors model, the one its conversion will produce (nothing is converted). */
async function layoutOf(modelId: string): Promise<GgufFile> {
  const handle = handleOf(modelId);
  if (handle.gguf) return handle.gguf;
  const { files, options } = conversionOf(handle);
  return convertedLayout(files, options);
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
  async planQuantization(modelId: string, options: QuantizeOptions): Promise<QuantizePlan> {
    const gguf = await layoutOf(modelId);
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
   * Quantizes a loaded model into a new file `fileName` and opens the result as a new model. A
   * safetensors model is first converted to an F16 GGUF (which is the result itself when the
   * settings ask for plain F16). Progress goes to `onProgress` (a comlink proxy);
   * cancelQuantization() stops the run and removes what was written.
   */
  async quantize(modelId: string, options: QuantizeOptions, fileName: string, onProgress: (p: QuantizeProgress) => void): Promise<QuantizeOutcome> {
    if (running) throw new Error('a quantization is already running: wait for it or cancel it');
    const handle = handleOf(modelId);
    const controller = new AbortController();
    running = controller;
    let lastReport = -Infinity;
    const report = (p: QuantizeProgress) => {
      if (p.elapsedMs - lastReport < PROGRESS_INTERVAL_MS && p.tensorsDone < p.tensorsTotal) return;
      lastReport = p.elapsedMs;
      void onProgress(p);
    };
    let converted: QuantizeOutput | null = null;
    let output: QuantizeOutput | null = null;
    try {
      let source = { blob: handle.blobs[0]!.blob as Blob, gguf: handle.gguf };
      if (!source.gguf) {
        const { files, options: conversion } = conversionOf(handle);
        converted = await createOutput(convertedFileName(handle.view.name));
        await convertHfToGguf(files, converted.sink, {
          ...conversion,
          signal: controller.signal,
          onProgress: (p) => report({ ...p, currentTensor: p.currentTensor && `converting ${p.currentTensor}` }),
        });
        const file = await converted.finish();
        source = { blob: file, gguf: await readGguf(file) };
      }
      let file: File;
      const { run, description } = await quantizeEngine();
      if (converted && isConversionOnly(options)) {
        [output, converted] = [converted, null];
        file = new File([source.blob], fileName);
      } else {
        output = await createOutput(fileName);
        lastReport = -Infinity;
        await quantizeModel(source.blob, source.gguf!, options, output.sink, { ...run, signal: controller.signal, onProgress: report });
        file = await output.finish();
      }
      const { handles: opened, errors } = await openModels([{ name: fileName, blob: file }]);
      const result = opened[0];
      if (!result) throw new Error(`the quantized file could not be read back: ${errors[0]?.message ?? 'unknown error'}`);
      handles.set(result.view.id, result);
      outputs.set(result.view.id, output);
      return { status: 'done', model: result.view, file, storage: output.storage, engine: description };
    } catch (e) {
      await output?.discard();
      if (e instanceof QuantizeCancelledError || controller.signal.aborted) return { status: 'cancelled' };
      throw e;
    } finally {
      await converted?.discard();
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
