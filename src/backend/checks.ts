// The argument checks every backend makes before it touches memory: one set of rules and messages,
// so that the same mistake reads the same on WASM and on WebGPU.

import { GgmlType } from '../quant/types';
import { BackendError, type BackendBuffer, type BackendKvCache, type BackendWeight, type WeightInfo } from './backend';

/** The weight types whose matrices every backend multiplies and gathers (matmul, embed). */
export const WEIGHT_TYPES: ReadonlySet<number> = new Set([
  GgmlType.F32, GgmlType.F16, GgmlType.BF16,
  GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
  GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
]);

export function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new BackendError(`${what} must be a positive integer, got ${n}`);
}

/** `value` as the backend's own class, or a BackendError naming what came from elsewhere. */
export function ownedBy<T>(value: unknown, type: abstract new (...args: never[]) => T, what: string, backend: string): T {
  if (!(value instanceof type)) throw new BackendError(`${what} does not belong to the ${backend} backend`);
  return value;
}

/** Rows, row length and bytes per row of a weight's GGUF bytes, checked against its shape and type. */
export function weightGeometry(info: WeightInfo, bytes: Uint8Array): { cols: number; rows: number; rowBytes: number } {
  const { type, shape } = info;
  if (shape.length === 0 || shape.length > 2 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new BackendError(`${info.name}: expected a vector or matrix, got shape [${shape.join(', ')}]`);
  }
  const cols = shape[0]!;
  const rows = shape[1] ?? 1;
  if (cols % type.blockSize !== 0) throw new BackendError(`${info.name}: row length ${cols} is not a multiple of ${type.name}'s block size ${type.blockSize}`);
  const rowBytes = (cols / type.blockSize) * type.bytesPerBlock;
  if (bytes.byteLength !== rowBytes * rows) throw new BackendError(`${info.name}: expected ${rowBytes * rows} bytes, got ${bytes.byteLength}`);
  return { cols, rows, rowBytes };
}

/** Norm weights and biases: one row of F32. */
export function checkVector(weight: BackendWeight): void {
  if (weight.info.type.id !== GgmlType.F32 || weight.rows !== 1) {
    throw new BackendError(`${weight.info.name}: expected an F32 vector, got ${weight.info.type.name} [${weight.info.shape.join(', ')}]`);
  }
}

/** A cache layer and the positions startPos … startPos + nTokens − 1 within it. */
export function checkKvRange(cache: BackendKvCache, layer: number, startPos: number, nTokens: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= cache.nLayers) throw new BackendError(`layer ${layer} is outside the cache's ${cache.nLayers} layers`);
  checkCount('token count', nTokens);
  if (!Number.isInteger(startPos) || startPos < 0 || startPos + nTokens > cache.nCtx) {
    throw new BackendError(`positions ${startPos}..${startPos + nTokens - 1} exceed the context of ${cache.nCtx}`);
  }
}

export function needLength(buffer: BackendBuffer, length: number, what: string): void {
  if (buffer.length < length) throw new BackendError(`${what}: needs ${length} values, buffer holds ${buffer.length}`);
}

/** A window [offset, offset + length) of a buffer of `bufferLength` values. */
export function checkView(bufferLength: number, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > bufferLength) {
    throw new BackendError(`view [${offset}, ${offset + length}) is outside a buffer of ${bufferLength}`);
  }
}
