// The pure parts of the runtime benchmark: the fixed prompt, the bytes a decode
// step reads, the roofline arithmetic, and the table that shows the results.

import type { Tokenizer } from '../tokenizer';

/** Prefill and decode speed of one engine on one model, type and thread count. */
export interface EngineSpeed {
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** Threads the engine reports using (fewer than asked where it cannot share memory, e.g. without cross-origin isolation). */
  threadsUsed: number;
  /** Prompt tokens the engine evaluated (wllama tokenizes the prompt text itself). */
  promptTokens: number;
  /** Which build ran, as the engine names it (e.g. our backend's name, wllama's llama.cpp version). */
  build: string;
}

export type EngineName = 'ours' | 'wllama' | 'native';
const ENGINES: readonly EngineName[] = ['ours', 'wllama', 'native'];

export interface RuntimeBenchResult {
  model: string;
  /** Quantization recipe or type, e.g. "Q4_K_M". */
  type: string;
  threads: number;
  promptTokens: number;
  decodeTokens: number;
  /** Timed runs per engine; speeds are the best of them. */
  repeats: number;
  fileBytes: number;
  /** Weight bytes one decode step reads (see weightBytesPerToken). */
  weightBytesPerToken: number;
  /** Memory read bandwidth measured in the bench page with this many threads, bytes per second. */
  memoryReadBytesPerSecond: number;
  /** Decode speed if every step only streamed the weights at that bandwidth. */
  rooflineDecodeTokensPerSecond: number;
  /** null where the engine did not run; `notes` says why. */
  ours: EngineSpeed | null;
  wllama: EngineSpeed | null;
  native: EngineSpeed | null;
  /** Decode speed as a percentage of the roofline, per engine. */
  decodeRooflinePercent: Record<EngineName, number | null>;
  notes: string[];
}

/**
 * Decode tokens per second measured earlier on the development machine (2 cores, quieter) on the
 * same 60M Llama shape, 1 thread: wllama 3.13 in Chromium, and native llama-bench (llama.cpp v0.5.0).
 * Shown beside live numbers, which the machine's load makes noisy.
 */
export const REFERENCE_DECODE_1T: Record<string, { wllama: number; native: number }> = {
  Q4_0: { wllama: 39, native: 611 },
  Q8_0: { wllama: 54, native: 346 },
  Q4_K_M: { wllama: 59, native: 671 },
};

/** Targets of the issue: our decode against wllama and native, our prefill against native. */
export const TARGETS = { decodeVsWllama: 3, decodeVsNative: 0.6, prefillVsNative: 0.5 } as const;

/**
 * The fixed benchmark prompt: the longest start of `source` (repeated, one copy per line, as
 * often as needed) that encodes to at most `length` tokens, BOS included. Returns the text
 * (wllama tokenizes text) and its tokens as `tokenizer`, which behaves like llama.cpp's, encodes it.
 */
export function benchPrompt(tokenizer: Pick<Tokenizer, 'encode'>, source: string, length: number): { text: string; tokens: number[] } {
  if (!Number.isInteger(length) || length < 2) throw new RangeError(`prompt length must be an integer of at least 2, got ${length}`);
  if (tokenizer.encode(source, { addSpecial: false }).length === 0) throw new RangeError('the prompt source text has no tokens');
  let long = source;
  while (tokenizer.encode(long).length <= length) long += `\n${source}`;
  // Binary search over prefix lengths: tokens never decrease as the text grows.
  let fits = 0;
  let tooLong = long.length;
  while (tooLong - fits > 1) {
    const mid = (fits + tooLong) >> 1;
    if (tokenizer.encode(long.slice(0, mid)).length <= length) fits = mid;
    else tooLong = mid;
  }
  const text = long.slice(0, fits);
  return { text, tokens: tokenizer.encode(text) };
}

export interface TensorSize {
  name: string;
  /** GGUF order: shape[0] is the row length. */
  shape: number[];
  bytes: number;
}

/**
 * Bytes of weights one decode step reads: every tensor once, except the token
 * embedding table, of which only the token's row is read (unless the model has no
 * output.weight, in which case the table doubles as the output matrix and is read whole).
 */
export function weightBytesPerToken(tensors: readonly TensorSize[]): number {
  const tiedOutput = !tensors.some((t) => t.name === 'output.weight');
  return tensors.reduce((sum, t) => {
    if (t.name !== 'token_embd.weight' || tiedOutput) return sum + t.bytes;
    const rows = t.shape.slice(1).reduce((a, b) => a * b, 1);
    return sum + t.bytes / rows;
  }, 0);
}

export function rooflineTokensPerSecond(bytesPerToken: number, bandwidthBytesPerSecond: number): number {
  return bandwidthBytesPerSecond / bytesPerToken;
}

export function rooflinePercent(decodeTokensPerSecond: number, bytesPerToken: number, bandwidthBytesPerSecond: number): number {
  return (100 * decodeTokensPerSecond * bytesPerToken) / bandwidthBytesPerSecond;
}

/** A speed as the table shows it: whole from 100 up, one decimal from 10, two below; "-" for none. */
export function formatSpeed(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRatio(numerator: number | undefined, denominator: number | undefined): string {
  if (numerator === undefined || denominator === undefined || denominator <= 0) return '-';
  return `${(numerator / denominator).toFixed(2)}×`;
}

const COLUMNS: { title: string; width: number; cell: (r: RuntimeBenchResult) => string }[] = [
  { title: 'model', width: 12, cell: (r) => r.model },
  { title: 'type', width: 7, cell: (r) => r.type },
  { title: 'thr', width: 3, cell: (r) => String(r.threads) },
  { title: 'ours pp', width: 8, cell: (r) => formatSpeed(r.ours?.prefillTokensPerSecond) },
  { title: 'ours tg', width: 8, cell: (r) => formatSpeed(r.ours?.decodeTokensPerSecond) },
  { title: 'wllama pp', width: 9, cell: (r) => formatSpeed(r.wllama?.prefillTokensPerSecond) },
  { title: 'wllama tg', width: 9, cell: (r) => formatSpeed(r.wllama?.decodeTokensPerSecond) },
  { title: 'native pp', width: 9, cell: (r) => formatSpeed(r.native?.prefillTokensPerSecond) },
  { title: 'native tg', width: 9, cell: (r) => formatSpeed(r.native?.decodeTokensPerSecond) },
  { title: 'tg/wllama', width: 9, cell: (r) => formatRatio(r.ours?.decodeTokensPerSecond, r.wllama?.decodeTokensPerSecond) },
  { title: 'tg/native', width: 9, cell: (r) => formatRatio(r.ours?.decodeTokensPerSecond, r.native?.decodeTokensPerSecond) },
  { title: 'pp/native', width: 9, cell: (r) => formatRatio(r.ours?.prefillTokensPerSecond, r.native?.prefillTokensPerSecond) },
  { title: 'MB/tok', width: 7, cell: (r) => (r.weightBytesPerToken / 1e6).toFixed(1) },
  { title: 'roof tg', width: 8, cell: (r) => formatSpeed(r.rooflineDecodeTokensPerSecond) },
  { title: 'ours %roof', width: 10, cell: (r) => formatPercent(r.decodeRooflinePercent.ours) },
  { title: 'wllama %', width: 8, cell: (r) => formatPercent(r.decodeRooflinePercent.wllama) },
  { title: 'native %', width: 8, cell: (r) => formatPercent(r.decodeRooflinePercent.native) },
];

function formatPercent(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(1)}%`;
}

/** Cells padded to their columns: the two name columns left-aligned, numbers right-aligned. */
function tableLine(cells: string[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(COLUMNS[i]!.width) : c.padStart(COLUMNS[i]!.width))).join(' ');
}

/** One result as a row of the table (for progress output). */
export function formatRuntimeRow(result: RuntimeBenchResult): string {
  return tableLine(COLUMNS.map((c) => c.cell(result)));
}

/** The results as a text table (one row per model × type × threads), then the notes. */
export function formatRuntimeTable(results: readonly RuntimeBenchResult[]): string {
  const notes = [...new Set(results.flatMap((r) => r.notes))];
  return [tableLine(COLUMNS.map((c) => c.title)), ...results.map(formatRuntimeRow), ...notes.map((n) => `note: ${n}`)].join('\n');
}

/** What was measured and how, the bandwidths, then the table. */
export function formatRuntimeReport(results: readonly RuntimeBenchResult[]): string {
  const first = results[0];
  if (!first) return 'no runtime results';
  const bandwidths = [...new Map(results.map((r) => [r.threads, r.memoryReadBytesPerSecond]))];
  return [
    `prompt ${first.promptTokens} tokens (pp), then ${first.decodeTokens} greedy decode steps (tg); tokens per second, best of ${first.repeats}`,
    `memory read bandwidth in the page (WASM SIMD loop): ${bandwidths.map(([t, b]) => `${t}T ${(b / 1e9).toFixed(2)} GB/s`).join(', ')}`,
    'roof tg = that bandwidth ÷ weight bytes per token (MB/tok); % = decode speed as a share of roof tg',
    'timing: ours = wall time around generate() in a page worker; wllama = the timings its llama-server reports; native = llama.cpp\'s perf counters (time in llama_decode, as llama-bench)',
    `builds: ${ENGINES.map((e) => `${e} ${results.find((r) => r[e])?.[e]?.build ?? '-'}`).join('; ')}`,
    `targets: ours tg ≥ ${TARGETS.decodeVsWllama}× wllama and ≥ ${TARGETS.decodeVsNative}× native; ours pp ≥ ${TARGETS.prefillVsNative}× native`,
    `earlier reference, llama-60M 1T tg (quieter machine): ${Object.entries(REFERENCE_DECODE_1T).map(([type, r]) => `${type} wllama ${r.wllama}, native ${r.native}`).join('; ')}`,
    '',
    formatRuntimeTable(results),
  ].join('\n');
}
