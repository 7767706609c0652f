// Whole-model quantization: plans each tensor's type like llama-quantize, then
// streams a new GGUF to the sink tensor by tensor (read → f32 → quantize →
// write), so memory stays near the size of the largest tensor. Reports progress
// and can be cancelled between row chunks.

import { GgufValueType, metaNumber, metaString, readTensorBytes, type GgufFile, type GgufKV, type GgufTensorInfo } from '../formats/gguf';
import { writeGguf } from '../formats/gguf-writer';
import type { ByteSink } from '../formats/sink';
import { dequantize } from './dequantize';
import { quantizeTensor } from './quantize';
import { fileTypeOf, planQuantization, type QuantizeOptions, type TensorPlanEntry } from './recipes';
import { GgmlType, ggmlType, tensorBytes, type GgmlTypeTraits } from './types';

/** ggml's quantization format version that llama-quantize stamps on its output. */
export const GGML_QUANTIZATION_VERSION = 2;
/** Rows are quantized in chunks of about this many values, so progress and cancellation stay responsive. */
const CHUNK_ELEMENTS = 1 << 20;

export interface QuantizeProgress {
  tensorsDone: number;
  tensorsTotal: number;
  /** Input bytes processed so far and in all. */
  bytesDone: number;
  bytesTotal: number;
  elapsedMs: number;
  currentTensor: string;
}

export interface QuantizeRun {
  onProgress?: (p: QuantizeProgress) => void;
  signal?: AbortSignal;
}

export class QuantizeCancelledError extends Error {
  override readonly name = 'QuantizeCancelledError';
  constructor() {
    super('quantization was cancelled');
  }
}

/** The plan llama-quantize would follow for this model and these options. */
export function planModel(gguf: GgufFile, options: QuantizeOptions): TensorPlanEntry[] {
  const arch = metaString(gguf, 'general.architecture') ?? 'llama';
  return planQuantization({
    arch,
    nLayer: metaNumber(gguf, `${arch}.block_count`) ?? 0,
    nHead: metaNumber(gguf, `${arch}.attention.head_count`),
    nHeadKv: metaNumber(gguf, `${arch}.attention.head_count_kv`),
    nExpert: metaNumber(gguf, `${arch}.expert_count`),
    tensors: gguf.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type })),
  }, options);
}

/** Size of the output a plan produces, in tensor bytes (header excluded). */
export function plannedBytes(plan: TensorPlanEntry[]): number {
  return plan.reduce((sum, p) => sum + tensorBytes(p.to, p.shape.reduce((a, b) => a * b, 1)), 0);
}

/** llama-quantize writes tensors grouped by layer (non-layer tensors first), by name within a group. */
function outputOrder(tensors: GgufTensorInfo[]): GgufTensorInfo[] {
  const layer = (name: string) => {
    const m = /^blk\.(\d+)\./.exec(name);
    return m ? Number(m[1]) : -1;
  };
  return [...tensors].sort((a, b) => layer(a.name) - layer(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The source metadata with llama-quantize's stamps appended last, as it does. */
function outputMetadata(kv: GgufKV[], fileType: number): GgufKV[] {
  const stamped = new Set(['general.quantization_version', 'general.file_type']);
  return [
    ...kv.filter((e) => !stamped.has(e.key)),
    { key: 'general.quantization_version', type: GgufValueType.U32, value: GGML_QUANTIZATION_VERSION },
    { key: 'general.file_type', type: GgufValueType.U32, value: fileType },
  ];
}

/** Converts a tensor's f32 values to `to`, in row chunks. */
async function encode(values: Float32Array, rowLength: number, to: GgmlTypeTraits, name: string, step: (elements: number) => Promise<void>): Promise<Uint8Array> {
  const out = new Uint8Array(tensorBytes(to, values.length));
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLength));
  const rowBytes = tensorBytes(to, rowLength);
  for (let row = 0; row * rowLength < values.length; row += rowsPerChunk) {
    const chunk = values.subarray(row * rowLength, Math.min(values.length, (row + rowsPerChunk) * rowLength));
    out.set(to.id === GgmlType.F32 ? new Uint8Array(chunk.slice().buffer) : quantizeTensor(to, chunk, rowLength, name), row * rowBytes);
    await step(chunk.length);
  }
  return out;
}

/** Quantizes a GGUF model per `options` (a recipe or type, overrides) and streams the result to `sink`. */
export function quantizeModel(blob: Blob, gguf: GgufFile, options: QuantizeOptions, sink: ByteSink, run: QuantizeRun = {}): Promise<number> {
  return writePlannedModel(blob, gguf, planModel(gguf, options), fileTypeOf(options.recipe), sink, run);
}

/** Expands every tensor to F32 (the `dequantize` command). */
export function dequantizeModel(blob: Blob, gguf: GgufFile, sink: ByteSink, run: QuantizeRun = {}): Promise<number> {
  const f32 = ggmlType(GgmlType.F32);
  const plan = gguf.tensors.map((t) => ({ name: t.name, shape: t.shape, from: t.type, to: f32, reason: 'dequantize to F32' }));
  return writePlannedModel(blob, gguf, plan, LLAMA_FTYPE_ALL_F32, sink, run);
}

const LLAMA_FTYPE_ALL_F32 = 0;

/**
 * Streams a GGUF whose tensors are converted per `plan` to `sink`.
 * Throws QuantizeCancelledError if the signal aborts; the caller discards the partial output.
 */
async function writePlannedModel(blob: Blob, gguf: GgufFile, plan: TensorPlanEntry[], fileType: number, sink: ByteSink, run: QuantizeRun): Promise<number> {
  const planByName = new Map(plan.map((p) => [p.name, p]));
  const tensors = outputOrder(gguf.tensors);
  const started = performance.now();
  const bytesTotal = gguf.tensors.reduce((s, t) => s + t.bytes, 0);
  let bytesDone = 0;
  let tensorsDone = 0;

  const report = (currentTensor: string) =>
    run.onProgress?.({ tensorsDone, tensorsTotal: tensors.length, bytesDone, bytesTotal, elapsedMs: performance.now() - started, currentTensor });
  const checkCancelled = () => {
    if (run.signal?.aborted) throw new QuantizeCancelledError();
  };

  return writeGguf(sink, {
    version: 3,
    kv: outputMetadata(gguf.kv, fileType),
    tensors: tensors.map((t) => {
      const to = planByName.get(t.name)!.to;
      return {
        name: t.name,
        shape: t.shape,
        type: to,
        data: async () => {
          checkCancelled();
          const raw = await readTensorBytes(blob, t);
          let result: Uint8Array;
          if (to.id === t.type.id) {
            result = raw;
            bytesDone += t.bytes;
          } else {
            const bytesPerElement = t.bytes / t.elements;
            result = await encode(dequantize(t.type, raw, t.elements), t.shape[0]!, to, t.name, async (elements) => {
              bytesDone += elements * bytesPerElement;
              report(t.name);
              // Let the event loop run so a cancel message can arrive between chunks.
              await new Promise((resolve) => setTimeout(resolve, 0));
              checkCancelled();
            });
          }
          tensorsDone++;
          report(t.name);
          return result;
        },
      };
    }),
  });
}
