// One unit of whole-model quantization: a run of whole rows of one tensor,
// converted from the type it has in the source file to its planned type. The
// same function runs inline (one thread) and inside every pool worker, so any
// thread count writes the same bytes. The WASM SIMD quantizer encodes the
// types it supports; ggml's reference port in TypeScript encodes the rest.

import { dequantize } from './dequantize';
import { UnsupportedTypeError } from './errors';
import { canQuantize, QuantizeInputError, quantizeRow } from './quantize';
import { GgmlType, ggmlType, tensorBytes, type GgmlTypeTraits } from './types';
import { loadWasmQuantizer, type WasmQuantizer } from './wasm-quantize';

export interface RowsJob {
  /** For error messages. */
  tensorName: string;
  /** GGUF type ids: the rows are stored as `from` and are wanted as `to`. */
  from: number;
  to: number;
  rowLength: number;
  /** Index of the job's first row in its tensor, so that errors give the tensor's row number. */
  firstRow: number;
  /** The rows' bytes in `from`. A pool takes over a buffer that holds exactly these bytes (it is detached). */
  source: Uint8Array;
}

export type RowsConverter = (job: RowsJob) => Uint8Array;

/** A converter backed by this thread's own instance of the WASM quantizer. Jobs must pass checkConvertible. */
export async function loadRowsConverter(): Promise<RowsConverter> {
  const wasm = await loadWasmQuantizer();
  return (job) => convertRows(wasm, job);
}

/**
 * Rejects a tensor whose rows cannot be encoded as `to` at all: no encoder, or a row length that the type's blocks
 * do not divide. Checked once per tensor, before it is split into jobs.
 */
export function checkConvertible(to: GgmlTypeTraits, rowLength: number, tensorName: string): void {
  // The reference encoders cover every type the WASM quantizer does.
  if (!canQuantize(to)) throw new UnsupportedTypeError(to.name, 'quantize');
  if (!Number.isInteger(rowLength) || rowLength <= 0) {
    throw new QuantizeInputError(tensorName, `row length ${rowLength} is not a positive integer`);
  }
  if (rowLength % to.blockSize !== 0) {
    throw new QuantizeInputError(tensorName, `row length ${rowLength} is not a multiple of ${to.name}'s block size ${to.blockSize}`);
  }
}

/** What a job must encode: its rows as f32 values, checked finite unless the target is F32 itself. */
export function rowsToEncode(job: RowsJob): { to: GgmlTypeTraits; values: Float32Array } {
  const to = ggmlType(job.to);
  const values = f32Values(ggmlType(job.from), job);
  if (to.id !== GgmlType.F32) checkFinite(values, job);
  return { to, values };
}

/** F32 values as the bytes GGUF stores (hosts, like GGUF, are little-endian). */
function f32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function convertRows(wasm: WasmQuantizer, job: RowsJob): Uint8Array {
  const { to, values } = rowsToEncode(job);
  if (to.id === GgmlType.F32) return f32Bytes(values);
  if (wasm.supports(to)) return wasm.quantize(to, values);
  const out = new Uint8Array(tensorBytes(to, values.length));
  quantizeRow(to, values, out);
  return out;
}

/** The job's rows as f32: F32 rows in place where aligned (the common case, saving a copy), others decoded. */
function f32Values(from: GgmlTypeTraits, job: RowsJob): Float32Array {
  const { source } = job;
  if (from.id === GgmlType.F32 && source.byteOffset % 4 === 0) return new Float32Array(source.buffer, source.byteOffset, source.length / 4);
  return dequantize(from, source, (source.length / tensorBytes(from, job.rowLength)) * job.rowLength);
}

/** NaN or ±Infinity cannot be quantized: name the tensor, row and column of the first one. */
function checkFinite(values: Float32Array, job: RowsJob): void {
  if (allFinite(values)) return;
  const i = values.findIndex((v) => !Number.isFinite(v));
  const row = Math.floor(i / job.rowLength);
  throw new QuantizeInputError(job.tensorName, `value ${values[i]} at row ${job.firstRow + row}, column ${i - row * job.rowLength} is not finite`);
}

/**
 * v * 0 is 0 for every finite v and NaN for NaN and ±Infinity, so a sum of them is 0 exactly when all values are
 * finite: a branch-free loop, kept fast with four independent sums.
 */
function allFinite(values: Float32Array): boolean {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const whole = values.length - (values.length % 4);
  for (let i = 0; i < whole; i += 4) {
    s0 += values[i]! * 0;
    s1 += values[i + 1]! * 0;
    s2 += values[i + 2]! * 0;
    s3 += values[i + 3]! * 0;
  }
  for (let i = whole; i < values.length; i++) s0 += values[i]! * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** An error as it crosses from a worker to the pool: plain data, rebuilt there as the same class. */
export type WorkerError =
  | { kind: 'input'; tensorName: string | undefined; reason: string }
  | { kind: 'unsupported'; typeName: string; operation: 'dequantize' | 'quantize' }
  | { kind: 'other'; message: string };

export function toWorkerError(error: unknown): WorkerError {
  if (error instanceof QuantizeInputError) return { kind: 'input', tensorName: error.tensorName, reason: error.reason };
  if (error instanceof UnsupportedTypeError) return { kind: 'unsupported', typeName: error.typeName, operation: error.operation };
  return { kind: 'other', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
}

export function fromWorkerError(error: WorkerError): Error {
  switch (error.kind) {
    case 'input': return new QuantizeInputError(error.tensorName, error.reason);
    case 'unsupported': return new UnsupportedTypeError(error.typeName, error.operation);
    case 'other': return new Error(`quantize worker: ${error.message}`);
  }
}

/** What a worker answers to one job. */
export type RowsReply = { bytes: Uint8Array } | { error: WorkerError };
