// What the Generate panel's status lines say: load progress, the stats of a run
// (time to first token, prefill and decode speeds, tokens, memory, backend) and why
// a run stopped.

import type { RunTiming, StopReason } from '../engine/session';
import type { LoadedModel, LoadProgress } from '../worker/generate.worker';
import { exact, humanBytes } from './format';

export interface StatFigure {
  label: string;
  value: string;
  /** The data-testid of the value. */
  testId: string;
}

/** Milliseconds below 1 s, seconds above: "38 ms", "1.24 s". */
export function msText(ms: number): string {
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Three significant figures without exponent: "1234 tok/s", "56.7 tok/s", "0.812 tok/s". */
export function rateText(tokensPerSecond: number): string {
  const digits = tokensPerSecond >= 100 ? 0 : tokensPerSecond >= 10 ? 1 : tokensPerSecond >= 1 ? 2 : 3;
  return `${tokensPerSecond.toFixed(digits)} tok/s`;
}

export function memoryText(model: Pick<LoadedModel, 'weightsBytes' | 'kvCacheBytes'>): string {
  return `${humanBytes(model.weightsBytes)} weights + ${humanBytes(model.kvCacheBytes)} KV cache`;
}

/** The stats line of a run on a loaded model. */
export function runFigures(timing: RunTiming, model: LoadedModel, seed: number | null): StatFigure[] {
  const figures: StatFigure[] = [
    { label: 'Time to first token', value: msText(timing.timeToFirstTokenMs), testId: 'stat-ttft' },
    { label: 'Prefill', value: rateText(timing.prefillTokensPerSecond), testId: 'stat-prefill' },
    { label: 'Decode', value: timing.decodeTokensPerSecond === null ? '—' : rateText(timing.decodeTokensPerSecond), testId: 'stat-decode' },
    { label: 'Tokens', value: `${exact(timing.promptTokens)} prompt + ${exact(timing.generatedTokens)} generated`, testId: 'stat-tokens' },
    { label: 'Memory', value: memoryText(model), testId: 'stat-memory' },
    { label: 'Backend', value: model.backend, testId: 'stat-backend' },
  ];
  if (seed !== null) figures.push({ label: 'Seed', value: String(seed), testId: 'stat-seed' });
  return figures;
}

const STOP_REASONS: Record<StopReason, string> = {
  eos: 'the model ended the text',
  'stop-string': 'a stop string was reached',
  'max-tokens': 'the token limit was reached',
  'context-full': 'the context is full',
  cancelled: 'cancelled',
};

export function stopReasonText(reason: StopReason): string {
  return STOP_REASONS[reason];
}

/** "12 / 48 tensors · 0.52 / 1.13 MiB" */
export function loadProgressText(p: LoadProgress): string {
  return `${p.tensorsLoaded} / ${p.tensorsTotal} tensors · ${humanBytes(p.bytesLoaded)} / ${humanBytes(p.bytesTotal)}`;
}

/** Share of the bytes loaded, 0..1. */
export function loadFraction(p: LoadProgress): number {
  return p.bytesTotal > 0 ? Math.min(1, p.bytesLoaded / p.bytesTotal) : 0;
}
