// What the progress bar of a quantization run shows, computed from the
// worker's progress reports: share done, throughput and time left.

import type { QuantizeProgress } from '../quant/quantize-model';
import { durationText } from './format';

export interface ProgressFigures {
  /** 0..1, by input bytes: tensors differ a lot in size, so counting tensors would jump. */
  fraction: number;
  tensors: string;
  /** Input megabytes (10^6 bytes) read and converted per second. */
  rate: string;
  timeLeft: string;
}

/** Below this much elapsed time the rate is mostly noise, so no estimate is shown yet. */
const MIN_ELAPSED_MS = 200;

export function progressFigures(p: QuantizeProgress): ProgressFigures {
  const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : p.tensorsTotal > 0 ? p.tensorsDone / p.tensorsTotal : 0;
  const tensors = `${p.tensorsDone} / ${p.tensorsTotal} tensors`;
  if (p.elapsedMs < MIN_ELAPSED_MS || p.bytesDone === 0) return { fraction, tensors, rate: '— MB/s', timeLeft: 'estimating…' };
  const bytesPerSecond = p.bytesDone / (p.elapsedMs / 1000);
  const secondsLeft = Math.max(0, p.bytesTotal - p.bytesDone) / bytesPerSecond;
  return { fraction, tensors, rate: `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`, timeLeft: `${durationText(secondsLeft)} left` };
}
