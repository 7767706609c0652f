// Whole-model quantization: plans each tensor's type like llama-quantize, then
// streams a new GGUF to the sink tensor by tensor. Each tensor is split into
// jobs of whole rows (read → f32 → quantize, src/quant/quantize-pool-job.ts)
// that run on a pool of `threads` threads; tensors are converted a little ahead
// of the writer so the threads stay busy, yet memory stays near a few tensors.
// Reports progress and can be cancelled between jobs.

import { GgufValueType, metaNumber, metaString, readTensorBytes, type GgufFile, type GgufKV, type GgufTensorInfo } from '../formats/gguf';
import { writeGguf } from '../formats/gguf-writer';
import type { ByteSink } from '../formats/sink';
import { startDevicePool, startRowsPool, type DeviceQuantizer, type RowsPool } from './quantize-pool';
import { checkConvertible } from './quantize-pool-job';
import { fileTypeOf, planQuantization, type QuantizeOptions, type TensorPlanEntry } from './recipes';
import { GgmlType, ggmlType, tensorBytes, type GgmlTypeTraits } from './types';

/** ggml's quantization format version that llama-quantize stamps on its output. */
export const GGML_QUANTIZATION_VERSION = 2;
/** Rows are quantized in jobs of about this many values: enough to share a tensor between threads, small enough for responsive progress. */
export const JOB_ELEMENTS = 1 << 18;
/** Source bytes of the tensors converted ahead of the one being written, at most (that one always starts). */
const LOOKAHEAD_BYTES = 64 << 20;

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
  /** Aborting stops the run promptly (workers are terminated); it then rejects with QuantizeCancelledError. */
  signal?: AbortSignal;
  /**
   * Threads that quantize, a positive integer (default 1). 1 quantizes on the calling thread; more start that many
   * workers (Web Workers in the browser, worker_threads in Node) for the run. Every count writes the same bytes.
   */
  threads?: number;
  /** Encode on this accelerator (WebGPU) the types it supports, instead of on the threads; same bytes either way. */
  device?: DeviceQuantizer;
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
  const planByName = new Map(plan.map((p) => [p.name, p.to]));
  const tensors = outputOrder(gguf.tensors);
  const started = performance.now();
  const bytesTotal = gguf.tensors.reduce((s, t) => s + t.bytes, 0);
  let bytesDone = 0;
  let tensorsDone = 0;

  const report = (currentTensor: string) => {
    if (!run.signal?.aborted) {
      run.onProgress?.({ tensorsDone, tensorsTotal: tensors.length, bytesDone, bytesTotal, elapsedMs: performance.now() - started, currentTensor });
    }
  };
  const checkCancelled = () => {
    if (run.signal?.aborted) throw new QuantizeCancelledError();
  };

  checkCancelled();
  const pool = run.device ? await startDevicePool(run.device) : await startRowsPool(run.threads ?? 1);
  const cancel = () => pool.close(new QuantizeCancelledError());
  run.signal?.addEventListener('abort', cancel);

  // Tensors being converted, by output index; started in order, ahead of the writer within LOOKAHEAD_BYTES.
  const converting = new Map<number, Promise<Uint8Array>>();
  let nextToStart = 0;
  let bytesAhead = 0;
  const startAhead = (needed: number) => {
    while (nextToStart < tensors.length && (nextToStart <= needed || bytesAhead + tensors[nextToStart]!.bytes <= LOOKAHEAD_BYTES)) {
      const t = tensors[nextToStart]!;
      const conversion = convertTensor(blob, t, planByName.get(t.name)!, pool, (bytes) => {
        bytesDone += bytes;
        report(t.name);
      });
      // Awaited when the writer reaches it; a failure of one it never reaches (after an error) must not go unhandled.
      conversion.catch(() => undefined);
      converting.set(nextToStart++, conversion);
      bytesAhead += t.bytes;
    }
  };

  try {
    return await writeGguf(sink, {
      version: 3,
      kv: outputMetadata(gguf.kv, fileType),
      tensors: tensors.map((t, index) => ({
        name: t.name,
        shape: t.shape,
        type: planByName.get(t.name)!,
        data: async () => {
          checkCancelled();
          startAhead(index);
          const bytes = await converting.get(index)!;
          converting.delete(index);
          bytesAhead -= t.bytes;
          tensorsDone++;
          report(t.name);
          startAhead(index + 1);
          return bytes;
        },
      })),
    });
  } finally {
    run.signal?.removeEventListener('abort', cancel);
    pool.close();
  }
}

/**
 * One tensor converted to `to` by jobs of whole rows on the pool; `progress` gets the source bytes of each finished
 * job. Each job reads its own rows, so their buffers go to the workers without a copy on this thread.
 */
async function convertTensor(blob: Blob, t: GgufTensorInfo, to: GgmlTypeTraits, pool: RowsPool, progress: (bytes: number) => void): Promise<Uint8Array> {
  if (to.id === t.type.id) {
    const bytes = await readTensorBytes(blob, t);
    progress(t.bytes);
    return bytes;
  }
  const rowLength = t.shape[0]!;
  checkConvertible(to, rowLength, t.name);
  const rows = t.elements / rowLength;
  const rowsPerJob = Math.max(1, Math.floor(JOB_ELEMENTS / rowLength));
  const sourceRowBytes = tensorBytes(t.type, rowLength);
  const outRowBytes = tensorBytes(to, rowLength);
  const out = new Uint8Array(outRowBytes * rows);
  const jobs: Promise<void>[] = [];
  for (let firstRow = 0; firstRow < rows; firstRow += rowsPerJob) {
    const start = t.offset + firstRow * sourceRowBytes;
    const end = t.offset + Math.min(rows, firstRow + rowsPerJob) * sourceRowBytes;
    jobs.push(
      blob.slice(start, end).arrayBuffer()
        .then((source) => pool.run({ tensorName: t.name, from: t.type.id, to: to.id, rowLength, firstRow, source: new Uint8Array(source) }))
        .then((bytes) => {
          out.set(bytes, firstRow * outRowBytes);
          progress(end - start);
        }),
    );
  }
  await Promise.all(jobs);
  return out;
}
