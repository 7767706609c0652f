// The pure parts of the runtime benchmark: the fixed prompt, the bytes a decode
// step reads, the roofline arithmetic, and the tables that show the results (the
// WASM rows beside wllama and native llama.cpp, then the WebGPU rows).

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

/** Our runtime's speed on WebGPU, where no thread count applies. */
export type WebGpuSpeed = Omit<EngineSpeed, 'threadsUsed'>;

/** One row of the runtime benchmark: our WASM backend at one thread count beside the peers, or our WebGPU backend. */
export type RuntimeBenchRow = RuntimeBenchResult | WebGpuBenchResult;

export interface RuntimeBenchResult {
  backend: 'wasm';
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

/** The WebGPU adapter our runtime's createBackend('webgpu') ran on. */
export interface WebGpuAdapterSummary {
  vendor: string;
  architecture: string;
  /** Often empty (SwiftShader leaves it so). */
  description: string;
  /** A CPU implementation such as SwiftShader: far slower than a GPU, so its runs are shortened. */
  software: boolean;
  /** createBackend's description of the backend: adapter and kernels. */
  backend: string;
}

/** Our runtime on one model with the WebGPU backend (one row per model: threads do not apply). */
export interface WebGpuBenchResult {
  backend: 'webgpu';
  model: string;
  type: string;
  promptTokens: number;
  decodeTokens: number;
  repeats: number;
  fileBytes: number;
  weightBytesPerToken: number;
  /** null where the page has no WebGPU; `unavailableReason` says why. */
  adapter: WebGpuAdapterSummary | null;
  unavailableReason: string | null;
  /** null where WebGPU is not available or the run failed; `notes` says why. */
  ours: WebGpuSpeed | null;
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
  const ratio = numerator / denominator;
  // Two significant digits below 1, so that a far slower engine (WebGPU on SwiftShader) does not show as 0.00×.
  return `${ratio < 1 ? ratio.toPrecision(2) : ratio.toFixed(2)}×`;
}

interface Column<Row> {
  title: string;
  width: number;
  /** Names are left-aligned, numbers right-aligned. */
  text?: true;
  cell: (row: Row) => string;
}

const COLUMNS: Column<RuntimeBenchResult>[] = [
  { title: 'model', width: 12, text: true, cell: (r) => r.model },
  { title: 'type', width: 7, text: true, cell: (r) => r.type },
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

type Speeds = Pick<EngineSpeed, 'prefillTokensPerSecond' | 'decodeTokensPerSecond'>;

/** A WebGPU row with our fastest WASM speeds on the same model and type beside it. */
interface WebGpuRowWithWasm {
  result: WebGpuBenchResult;
  wasm: Speeds | undefined;
}

const WEBGPU_COLUMNS: Column<WebGpuRowWithWasm>[] = [
  { title: 'backend', width: 7, text: true, cell: () => 'webgpu' },
  { title: 'model', width: 12, text: true, cell: (r) => r.result.model },
  { title: 'type', width: 7, text: true, cell: (r) => r.result.type },
  { title: 'pp', width: 8, cell: (r) => formatSpeed(r.result.ours?.prefillTokensPerSecond) },
  { title: 'tg', width: 8, cell: (r) => formatSpeed(r.result.ours?.decodeTokensPerSecond) },
  { title: 'wasm pp', width: 8, cell: (r) => formatSpeed(r.wasm?.prefillTokensPerSecond) },
  { title: 'wasm tg', width: 8, cell: (r) => formatSpeed(r.wasm?.decodeTokensPerSecond) },
  { title: 'pp/wasm', width: 8, cell: (r) => formatRatio(r.result.ours?.prefillTokensPerSecond, r.wasm?.prefillTokensPerSecond) },
  { title: 'tg/wasm', width: 8, cell: (r) => formatRatio(r.result.ours?.decodeTokensPerSecond, r.wasm?.decodeTokensPerSecond) },
  { title: 'MB/tok', width: 7, cell: (r) => (r.result.weightBytesPerToken / 1e6).toFixed(1) },
];

function formatPercent(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(1)}%`;
}

function tableLine<Row>(columns: readonly Column<Row>[], cells: readonly string[]): string {
  return cells.map((c, i) => (columns[i]!.text ? c.padEnd(columns[i]!.width) : c.padStart(columns[i]!.width))).join(' ');
}

function table<Row>(columns: readonly Column<Row>[], rows: readonly Row[], notes: readonly string[]): string {
  const lines = [tableLine(columns, columns.map((c) => c.title)), ...rows.map((row) => tableLine(columns, columns.map((c) => c.cell(row))))];
  // A note repeated by several rows (a skipped engine) is shown once.
  return [...lines, ...[...new Set(notes)].map((n) => `note: ${n}`)].join('\n');
}

/** One WASM result as a row of the table (for progress output). */
export function formatRuntimeRow(result: RuntimeBenchResult): string {
  return tableLine(COLUMNS, COLUMNS.map((c) => c.cell(result)));
}

/** The WASM results as a text table (one row per model × type × threads), then the notes. */
export function formatRuntimeTable(results: readonly RuntimeBenchResult[]): string {
  return table(COLUMNS, results, results.flatMap((r) => r.notes));
}

/** Our fastest WASM prefill and decode (over the thread counts) on this model and type, if it ran. */
function fastestWasm(wasmResults: readonly RuntimeBenchResult[], model: string, type: string): Speeds | undefined {
  const speeds = wasmResults.filter((r) => r.model === model && r.type === type).flatMap((r) => (r.ours ? [r.ours] : []));
  if (speeds.length === 0) return undefined;
  return {
    prefillTokensPerSecond: Math.max(...speeds.map((s) => s.prefillTokensPerSecond)),
    decodeTokensPerSecond: Math.max(...speeds.map((s) => s.decodeTokensPerSecond)),
  };
}

/** One WebGPU result as a row of its table, beside our fastest WASM speeds on the same model among `wasmResults`. */
export function formatWebGpuRow(result: WebGpuBenchResult, wasmResults: readonly RuntimeBenchResult[] = []): string {
  const row = { result, wasm: fastestWasm(wasmResults, result.model, result.type) };
  return tableLine(WEBGPU_COLUMNS, WEBGPU_COLUMNS.map((c) => c.cell(row)));
}

/** "google swiftshader, software (WebGPU on the CPU)": vendor, architecture and description, and whether it is software. */
export function formatAdapter(adapter: WebGpuAdapterSummary): string {
  const name = [`${adapter.vendor} ${adapter.architecture}`.trim() || 'unknown adapter', adapter.description].filter(Boolean).join(', ');
  return adapter.software ? `${name}, software (WebGPU on the CPU)` : name;
}

/**
 * The WebGPU rows: how they ran, on which adapter, and a table beside our fastest WASM row of each model;
 * or "webgpu: not available (reason)".
 */
export function formatWebGpuSection(results: readonly WebGpuBenchResult[], wasmResults: readonly RuntimeBenchResult[]): string {
  const ran = results.find((r) => r.adapter);
  if (!ran?.adapter) return `webgpu: not available (${results[0]?.unavailableReason ?? 'not measured'})`;
  const shortened = ran.adapter.software ? ', shortened because the adapter is software' : '';
  const rows = results.map((result) => ({ result, wasm: fastestWasm(wasmResults, result.model, result.type) }));
  return [
    `webgpu: our runtime on createBackend('webgpu') in a page worker, timed as ours above; one row per model (threads do not apply)`,
    `adapter: ${formatAdapter(ran.adapter)}; backend: ${ran.adapter.backend}`,
    `prompt ${ran.promptTokens} tokens (pp), then ${ran.decodeTokens} greedy decode steps (tg); best of ${ran.repeats}${shortened}`,
    'wasm pp, wasm tg: our fastest WASM row of the same model and type (its own prompt length)',
    '',
    table(WEBGPU_COLUMNS, rows, results.flatMap((r) => r.notes)),
  ].join('\n');
}

/** What was measured and how, the bandwidths, the WASM table, then the WebGPU rows. */
export function formatRuntimeReport(rows: readonly RuntimeBenchRow[]): string {
  const results = rows.filter((r) => r.backend === 'wasm');
  const webgpu = rows.filter((r) => r.backend === 'webgpu');
  const first = results[0];
  if (!first) return 'no runtime results';
  const bandwidths = [...new Map(results.map((r) => [r.threads, r.memoryReadBytesPerSecond]))];
  const lines = [
    `prompt ${first.promptTokens} tokens (pp), then ${first.decodeTokens} greedy decode steps (tg); tokens per second, best of ${first.repeats}`,
    `memory read bandwidth in the page (WASM SIMD loop): ${bandwidths.map(([t, b]) => `${t}T ${(b / 1e9).toFixed(2)} GB/s`).join(', ')}`,
    'roof tg = that bandwidth ÷ weight bytes per token (MB/tok); % = decode speed as a share of roof tg',
    'timing: ours = wall time around generate() in a page worker; wllama = the timings its llama-server reports; native = llama.cpp\'s perf counters (time in llama_decode, as llama-bench)',
    `builds: ${ENGINES.map((e) => `${e} ${results.find((r) => r[e])?.[e]?.build ?? '-'}`).join('; ')}`,
    `targets: ours tg ≥ ${TARGETS.decodeVsWllama}× wllama and ≥ ${TARGETS.decodeVsNative}× native; ours pp ≥ ${TARGETS.prefillVsNative}× native`,
    `earlier reference, llama-60M 1T tg (quieter machine): ${Object.entries(REFERENCE_DECODE_1T).map(([type, r]) => `${type} wllama ${r.wllama}, native ${r.native}`).join('; ')}`,
    '',
    formatRuntimeTable(results),
  ];
  if (webgpu.length > 0) lines.push('', formatWebGpuSection(webgpu, results));
  return lines.join('\n');
}
