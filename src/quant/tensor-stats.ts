// Summary statistics of a tensor's values (any decodable type), for the UI's per-tensor statistics. The tensor is
// decoded in chunks of blocks into one reused buffer, so even a huge tensor never needs a full f32 copy: a first pass
// gathers range, non-finite counts, mean and variance (per chunk, merged with Chan et al.'s parallel formula); a
// second pass, which needs the mean, spread and range, counts outliers and fills the histogram.

import { canDequantize, dequantizeRow } from './dequantize';
import { UnsupportedTypeError } from './errors';
import { tensorBytes, type GgmlTypeTraits } from './types';

export interface TensorStats {
  /** All values, non-finite ones included. */
  count: number;
  /** min, max, mean and std (population) are over the finite values; NaN when there are none. */
  min: number;
  max: number;
  mean: number;
  std: number;
  nanCount: number;
  infCount: number;
  /** Fraction of the finite values with |x − mean| > 6 std. */
  outlierFraction: number;
  /** 64 equal bins over [min, max] of the finite values (the last bin includes max; equal values all land in bin 0). */
  histogram: { min: number; max: number; bins: number[] };
}

export const HISTOGRAM_BINS = 64;
/** A value further than this many standard deviations from the mean is an outlier. */
export const OUTLIER_STDS = 6;
/** About this many values are decoded at a time. */
const CHUNK_VALUES = 1 << 16;

/** Decodes the tensor chunk by chunk (whole blocks) into one reused buffer and hands each chunk to `visit`. */
function forEachChunk(type: GgmlTypeTraits, bytes: Uint8Array, elements: number, visit: (values: Float32Array) => void): void {
  const blocksPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / type.blockSize));
  const buffer = new Float32Array(Math.min(elements, blocksPerChunk * type.blockSize));
  for (let start = 0, offset = 0; start < elements; start += buffer.length) {
    const values = buffer.subarray(0, Math.min(buffer.length, elements - start));
    const chunkBytes = (values.length / type.blockSize) * type.bytesPerBlock;
    dequantizeRow(type, bytes.subarray(offset, offset + chunkBytes), values);
    offset += chunkBytes;
    visit(values);
  }
}

/** Streams over the tensor in chunks of rows (so a huge tensor never needs one f32 copy), two passes or Welford. */
export function tensorStats(type: GgmlTypeTraits, bytes: Uint8Array, elements: number): TensorStats {
  if (!canDequantize(type)) throw new UnsupportedTypeError(type.name, 'dequantize');
  const needed = tensorBytes(type, elements);
  if (bytes.length < needed) throw new RangeError(`${type.name}: ${elements} values need ${needed} bytes, got ${bytes.length}`);

  // Pass 1: range, non-finite counts, and mean / sum of squared deviations merged chunk by chunk.
  let finite = 0;
  let mean = 0;
  let squaredDeviations = 0;
  let min = Infinity;
  let max = -Infinity;
  let nanCount = 0;
  let infCount = 0;
  forEachChunk(type, bytes, elements, (values) => {
    let chunkFinite = 0;
    let chunkSum = 0;
    for (const x of values) {
      if (Number.isNaN(x)) nanCount++;
      else if (x === Infinity || x === -Infinity) infCount++;
      else {
        chunkFinite++;
        chunkSum += x;
        if (x < min) min = x;
        if (x > max) max = x;
      }
    }
    if (chunkFinite === 0) return;
    const chunkMean = chunkSum / chunkFinite;
    let chunkSquares = 0;
    for (const x of values) {
      if (Number.isFinite(x)) chunkSquares += (x - chunkMean) ** 2;
    }
    const total = finite + chunkFinite;
    const delta = chunkMean - mean;
    mean += (delta * chunkFinite) / total;
    squaredDeviations += chunkSquares + (delta * delta * finite * chunkFinite) / total;
    finite = total;
  });

  const bins = new Array<number>(HISTOGRAM_BINS).fill(0);
  if (finite === 0) {
    return { count: elements, min: NaN, max: NaN, mean: NaN, std: NaN, nanCount, infCount, outlierFraction: 0, histogram: { min: NaN, max: NaN, bins } };
  }
  const std = Math.sqrt(squaredDeviations / finite);

  // Pass 2: outliers and histogram.
  const outlierDistance = OUTLIER_STDS * std;
  const binsPerUnit = max > min ? HISTOGRAM_BINS / (max - min) : 0;
  let outliers = 0;
  forEachChunk(type, bytes, elements, (values) => {
    for (const x of values) {
      if (!Number.isFinite(x)) continue;
      if (Math.abs(x - mean) > outlierDistance) outliers++;
      bins[Math.min(HISTOGRAM_BINS - 1, Math.floor((x - min) * binsPerUnit))]!++;
    }
  });

  return { count: elements, min, max, mean, std, nanCount, infCount, outlierFraction: outliers / finite, histogram: { min, max, bins } };
}
