// Runtime speed benchmark: prefill and decode tokens per second of our runtime in
// a real page (headless Chromium, served by Vite's dev server with cross-origin
// isolation), beside llama.cpp compiled to WASM (wllama) in the same page and
// native llama.cpp (node-llama-cpp) on the same GGUF, prompt and thread count,
// and the decode roofline: weight bytes per token ÷ memory bandwidth measured in
// the same page. Then our runtime on its WebGPU backend in the same page, one row
// per model (on a software adapter, such as headless Chromium's SwiftShader, with
// a shorter prompt and fewer decode steps).
//
// Standalone: npx tsx src/bench/runtime-bench.ts [--quick] [--json]

import { openAsBlob, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';
import { readGguf } from '../formats/gguf';
import { tokenizerFromGguf } from '../tokenizer';
import { FIXTURES, prepareBenchModels, type BenchModel } from './bench-models';
import type { GenerationRequest, RuntimeBenchApi, SpeedRequest, WebGpuProbe, WorkerValue } from './browser/protocol';
import { NativeBench, resolveNodeLlamaCpp } from './native-bench';
import {
  benchPrompt,
  formatAdapter,
  formatRuntimeReport,
  formatRuntimeRow,
  formatWebGpuRow,
  rooflinePercent,
  rooflineTokensPerSecond,
  weightBytesPerToken,
  type EngineName,
  type EngineSpeed,
  type RuntimeBenchResult,
  type RuntimeBenchRow,
  type WebGpuBenchResult,
} from './runtime-report';

export type { RuntimeBenchResult, RuntimeBenchRow, WebGpuBenchResult } from './runtime-report';

/** The prompt's text: an English children's story (fixture of the inference goldens). */
const PROMPT_SOURCE = path.join(FIXTURES, 'golden/story.txt');
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BENCH_PAGE = '/src/bench/browser/bench.html';
/** One page call (load + prefill + decode of one engine) may take this long before it counts as hung. */
const CALL_TIMEOUT_MS = 180_000;
/** `--enable-unsafe-webgpu` gives headless Chromium on Linux a WebGPU adapter (SwiftShader where there is no GPU). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu'];
/**
 * The WebGPU run on a software adapter (SwiftShader runs every shader on the CPU: on 2 cores a decode step of the
 * 60M model takes about 2 s, a prompt token 0.4 s): short, so that each such model adds about a minute, warm-up included.
 */
const SOFTWARE_WEBGPU_RUN: RunLength = { promptTokens: 64, decodeTokens: 8, repeats: 1 };

/** Prompt tokens, greedy decode steps, and timed runs (the best counts) of one measurement. */
interface RunLength {
  promptTokens: number;
  decodeTokens: number;
  repeats: number;
}

export interface RuntimeBenchOptions {
  /** Fewer tokens (prompt 128, decode 32) and one timed run instead of two: about a minute, plus the WebGPU rows. */
  quick?: boolean;
  threadCounts?: number[];
  /** Default: prepareBenchModels() (the random 60M Llama in Q4_0, Q8_0, Q4_K_M, and stories260K). */
  models?: BenchModel[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * Measures every model × thread count on our runtime (WASM), wllama and native llama.cpp, then every model on our
 * runtime's WebGPU backend (rows with backend 'webgpu'; without WebGPU they say why).
 */
export async function benchRuntime(options: RuntimeBenchOptions = {}): Promise<RuntimeBenchRow[]> {
  const log = options.log ?? (() => {});
  const threadCounts = options.threadCounts ?? [1, 2];
  if (threadCounts.length === 0 || threadCounts.some((t) => !Number.isInteger(t) || t < 1)) {
    throw new RangeError(`thread counts must be positive integers, got [${threadCounts.join(', ')}]`);
  }
  const run: RunLength = { promptTokens: options.quick ? 128 : 512, decodeTokens: options.quick ? 32 : 128, repeats: options.quick ? 1 : 2 };
  const models = options.models ?? (await prepareBenchModels(log));
  const promptSource = await readFile(PROMPT_SOURCE, 'utf8');
  const facts = new Map<BenchModel, ModelFacts>();
  for (const model of models) facts.set(model, await modelFacts(model, promptSource));

  const session = await BenchSession.start(models, log);
  try {
    const bandwidth = new Map<number, number>();
    for (const threads of threadCounts) {
      bandwidth.set(threads, await session.callPage({ method: 'bandwidth', arg: threads }));
      log(`memory read bandwidth, ${threads} thread(s): ${(bandwidth.get(threads)! / 1e9).toFixed(2)} GB/s`);
    }
    const results: RuntimeBenchResult[] = [];
    for (const model of models) {
      const { prompt, fileBytes, weightBytesPerToken: bytesPerToken } = facts.get(model)!;
      const { text, tokens } = prompt(run.promptTokens);
      for (const threads of threadCounts) {
        const request: SpeedRequest = { url: modelUrl(model), threads, prompt: tokens, promptText: text, decodeTokens: run.decodeTokens, repeats: run.repeats };
        const { speeds, notes } = await session.measure(model, request);
        const memoryReadBytesPerSecond = bandwidth.get(threads)!;
        const percent = (speed: EngineSpeed | null) => (speed ? rooflinePercent(speed.decodeTokensPerSecond, bytesPerToken, memoryReadBytesPerSecond) : null);
        const result: RuntimeBenchResult = {
          backend: 'wasm',
          model: model.model,
          type: model.type,
          threads,
          promptTokens: tokens.length,
          decodeTokens: run.decodeTokens,
          repeats: run.repeats,
          fileBytes,
          weightBytesPerToken: bytesPerToken,
          memoryReadBytesPerSecond,
          rooflineDecodeTokensPerSecond: rooflineTokensPerSecond(bytesPerToken, memoryReadBytesPerSecond),
          ...speeds,
          decodeRooflinePercent: { ours: percent(speeds.ours), wllama: percent(speeds.wllama), native: percent(speeds.native) },
          notes,
        };
        results.push(result);
        log(formatRuntimeRow(result));
      }
    }
    return [...results, ...(await benchWebGpuRows(session, models, facts, run, results))];
  } finally {
    await session.close();
  }
}

/** What the rows of one model need: its prompt of a given length, its size and the weight bytes a decode step reads. */
interface ModelFacts {
  prompt: (length: number) => { text: string; tokens: number[] };
  fileBytes: number;
  weightBytesPerToken: number;
}

async function modelFacts(model: BenchModel, promptSource: string): Promise<ModelFacts> {
  const gguf = await readGguf(await openAsBlob(model.path));
  const tokenizer = tokenizerFromGguf(gguf);
  return {
    prompt: (length) => benchPrompt(tokenizer, promptSource, length),
    fileBytes: statSync(model.path).size,
    weightBytesPerToken: weightBytesPerToken(gguf.tensors),
  };
}

/** The model file as the dev server serves it. */
function modelUrl(model: BenchModel): string {
  return `/@fs${model.path}`;
}

/**
 * One WebGPU row per model: the run of the WASM rows (`run`), or SOFTWARE_WEBGPU_RUN on a software adapter.
 * Without WebGPU every row has no speed and says why; `wasmResults` are for the progress lines.
 */
async function benchWebGpuRows(
  session: BenchSession,
  models: readonly BenchModel[],
  facts: ReadonlyMap<BenchModel, ModelFacts>,
  run: RunLength,
  wasmResults: readonly RuntimeBenchResult[],
): Promise<WebGpuBenchResult[]> {
  const probe = await session.callPage({ method: 'webgpuAdapter' }).catch((error: unknown): WebGpuProbe => ({ available: false, reason: errorLine(error) }));
  const log = session.log;
  log(probe.available ? `webgpu adapter: ${formatAdapter(probe.adapter)}; ${probe.adapter.backend}` : `webgpu: not available (${probe.reason})`);
  const webgpuRun = probe.available && probe.adapter.software ? SOFTWARE_WEBGPU_RUN : run;
  const rows: WebGpuBenchResult[] = [];
  for (const model of models) {
    const { prompt, fileBytes, weightBytesPerToken: bytesPerToken } = facts.get(model)!;
    const { tokens } = prompt(webgpuRun.promptTokens);
    const notes: string[] = [];
    const request: GenerationRequest = { url: modelUrl(model), prompt: tokens, decodeTokens: webgpuRun.decodeTokens, repeats: webgpuRun.repeats };
    const speed = probe.available ? await session.attempt(`${model.model} ${model.type} webgpu`, notes, () => session.callPage({ method: 'webgpu', arg: request })) : null;
    const row: WebGpuBenchResult = {
      backend: 'webgpu',
      model: model.model,
      type: model.type,
      promptTokens: tokens.length,
      decodeTokens: webgpuRun.decodeTokens,
      repeats: webgpuRun.repeats,
      fileBytes,
      weightBytesPerToken: bytesPerToken,
      adapter: probe.available ? probe.adapter : null,
      unavailableReason: probe.available ? null : probe.reason,
      ours: speed,
      notes,
    };
    rows.push(row);
    if (probe.available) log(formatWebGpuRow(row, wasmResults));
  }
  return rows;
}

/** The first line of an error's message (page errors go on with the worker's stack). */
function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** The dev server, the browser with the bench page, and native llama.cpp where available, for one benchmark run. */
class BenchSession {
  private constructor(
    private readonly server: ViteDevServer,
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly pageUrl: string,
    private readonly native: NativeBench | { skipped: string },
    readonly log: (line: string) => void,
  ) {}

  static async start(models: BenchModel[], log: (line: string) => void): Promise<BenchSession> {
    const server = await startServer(models);
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
      const page = await browser.newPage();
      page.on('pageerror', (error) => log(`page error: ${error.message}`));
      const pageUrl = new URL(BENCH_PAGE, server.resolvedUrls?.local[0]).href;
      await openBenchPage(page, pageUrl);
      const native = await startNative();
      log(native instanceof NativeBench ? `native llama.cpp: node-llama-cpp from ${native.source}` : `native column skipped: ${native.skipped}`);
      return new BenchSession(server, browser, page, pageUrl, native, log);
    } catch (error) {
      await browser?.close();
      await server.close();
      throw error;
    }
  }

  /** One run of an engine, labelled e.g. "llama-60M Q4_0 1T wllama"; a failure gives null and a note. */
  async attempt<T>(label: string, notes: string[], run: () => Promise<T>): Promise<T | null> {
    this.log(`${label}…`);
    try {
      return await run();
    } catch (error) {
      notes.push(`${label} failed: ${errorLine(error)}`);
      return null;
    }
  }

  /** One model and thread count on each engine; an engine that fails gets null and a note. */
  async measure(model: BenchModel, request: SpeedRequest): Promise<{ speeds: Record<EngineName, EngineSpeed | null>; notes: string[] }> {
    const label = `${model.model} ${model.type} ${request.threads}T`;
    const notes: string[] = [];
    const attempt = (engine: EngineName, run: () => Promise<EngineSpeed>) => this.attempt(`${label} ${engine}`, notes, run);

    const ours = await attempt('ours', () => this.callPage({ method: 'ours', arg: request }));
    const wllama = await attempt('wllama', () => this.callPage({ method: 'wllama', arg: request }));
    if (wllama && wllama.promptTokens !== request.prompt.length) {
      notes.push(`${label}: wllama tokenized the prompt to ${wllama.promptTokens} tokens, ours to ${request.prompt.length}`);
    }
    const native = this.native;
    let nativeSpeed: EngineSpeed | null = null;
    if (native instanceof NativeBench) {
      nativeSpeed = await attempt('native', () => native.measure({ path: model.path, ...request }));
    } else {
      notes.push(`native column skipped: ${native.skipped}`);
    }
    const speeds = { ours, wllama, native: nativeSpeed };
    for (const [engine, speed] of Object.entries(speeds)) {
      if (speed && speed.threadsUsed !== request.threads) notes.push(`${label}: ${engine} ran on ${speed.threadsUsed} thread(s)`);
    }
    return { speeds, notes };
  }

  /**
   * Calls a method of the page's bench API. A call that takes longer than CALL_TIMEOUT_MS fails,
   * and the page is reloaded so that its workers stop and later calls start clean.
   */
  async callPage<C extends PageCall>(call: C): Promise<PageAnswer<C>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the bench page within ${CALL_TIMEOUT_MS / 1000} s`)), CALL_TIMEOUT_MS);
    });
    try {
      const answer = this.page.evaluate<WorkerValue, PageCall>((pageCall) => {
        const api = window.runtimeBench!;
        switch (pageCall.method) {
          case 'bandwidth':
            return api.bandwidth(pageCall.arg);
          case 'webgpuAdapter':
            return api.webgpuAdapter();
          case 'webgpu':
            return api.webgpu(pageCall.arg);
          default:
            return api[pageCall.method](pageCall.arg);
        }
      }, call);
      return (await Promise.race([answer, timeout])) as PageAnswer<C>;
    } catch (error) {
      await openBenchPage(this.page, this.pageUrl);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.native instanceof NativeBench) await this.native.dispose();
    await this.browser.close();
    await this.server.close();
  }
}

async function openBenchPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => window.runtimeBench !== undefined, undefined, { timeout: 60_000 });
  if (!(await page.evaluate(() => window.runtimeBench!.crossOriginIsolated))) {
    throw new Error('the bench page is not cross-origin isolated (COOP/COEP headers missing): threads cannot work');
  }
}

/** Native llama.cpp, or why its column stays empty. */
async function startNative(): Promise<NativeBench | { skipped: string }> {
  const runtime = await resolveNodeLlamaCpp();
  if (!runtime.available) return { skipped: runtime.reason };
  try {
    return await NativeBench.start(runtime.module, runtime.source);
  } catch (error) {
    return { skipped: `node-llama-cpp from ${runtime.source} did not start: ${error instanceof Error ? error.message : String(error)}` };
  }
}

type PageCall =
  | { method: 'ours' | 'wllama'; arg: SpeedRequest }
  | { method: 'webgpu'; arg: GenerationRequest }
  | { method: 'webgpuAdapter' }
  | { method: 'bandwidth'; arg: number };
type PageAnswer<C extends PageCall> = Awaited<ReturnType<RuntimeBenchApi[C['method']]>>;

/** Vite's dev server on a free port, with the project's config (COOP/COEP headers) and read access to the model files. */
async function startServer(models: BenchModel[]): Promise<ViteDevServer> {
  const server = await createServer({
    root: REPO_ROOT,
    logLevel: 'warn',
    clearScreen: false,
    // Its own dependency cache, pre-bundled from the bench page before it loads (no reload mid-run),
    // so that the app's dev server and this one never rewrite each other's cache.
    cacheDir: 'node_modules/.vite-bench',
    optimizeDeps: { entries: [BENCH_PAGE.slice(1)] },
    server: {
      host: '127.0.0.1',
      port: 0,
      // Others edit the tree while the bench runs: no file watching, no hot reloads mid-measurement.
      watch: null,
      hmr: false,
      fs: { allow: [REPO_ROOT, FIXTURES, ...models.map((m) => path.dirname(m.path))] },
    },
  });
  await server.listen();
  return server;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const log = (line: string) => console.error(line);
  const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadAverageBefore: os.loadavg() };
  const results = await benchRuntime({ quick, log });
  const loadAverageAfter = os.loadavg();
  if (json) {
    console.log(JSON.stringify({ machine: { ...machine, loadAverageAfter }, results }, null, 1));
    return;
  }
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores; load average before ${load(machine.loadAverageBefore)}, after ${load(loadAverageAfter)}`);
  console.log(formatRuntimeReport(results));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
