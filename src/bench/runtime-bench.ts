// Runtime speed benchmark: prefill and decode tokens per second of our runtime in
// a real page (headless Chromium, served by Vite's dev server with cross-origin
// isolation), beside llama.cpp compiled to WASM (wllama) in the same page and
// native llama.cpp (node-llama-cpp) on the same GGUF, prompt and thread count,
// and the decode roofline: weight bytes per token ÷ memory bandwidth measured in
// the same page.
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
import type { RuntimeBenchApi, SpeedRequest } from './browser/protocol';
import { NativeBench, resolveNodeLlamaCpp } from './native-bench';
import {
  benchPrompt,
  formatRuntimeReport,
  formatRuntimeRow,
  rooflinePercent,
  rooflineTokensPerSecond,
  weightBytesPerToken,
  type EngineName,
  type EngineSpeed,
  type RuntimeBenchResult,
} from './runtime-report';

export type { RuntimeBenchResult } from './runtime-report';

/** The prompt's text: an English children's story (fixture of the inference goldens). */
const PROMPT_SOURCE = path.join(FIXTURES, 'golden/story.txt');
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BENCH_PAGE = '/src/bench/browser/bench.html';
/** One page call (load + prefill + decode of one engine) may take this long before it counts as hung. */
const CALL_TIMEOUT_MS = 180_000;
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu'];

export interface RuntimeBenchOptions {
  /** Fewer tokens (prompt 128, decode 32) and one timed run instead of two: about a minute. */
  quick?: boolean;
  threadCounts?: number[];
  /** Default: prepareBenchModels() (the random 60M Llama in Q4_0, Q8_0, Q4_K_M, and stories260K). */
  models?: BenchModel[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Measures every model × thread count on our runtime, wllama and native llama.cpp. */
export async function benchRuntime(options: RuntimeBenchOptions = {}): Promise<RuntimeBenchResult[]> {
  const log = options.log ?? (() => {});
  const threadCounts = options.threadCounts ?? [1, 2];
  if (threadCounts.length === 0 || threadCounts.some((t) => !Number.isInteger(t) || t < 1)) {
    throw new RangeError(`thread counts must be positive integers, got [${threadCounts.join(', ')}]`);
  }
  const promptTokens = options.quick ? 128 : 512;
  const counts = { decodeTokens: options.quick ? 32 : 128, repeats: options.quick ? 1 : 2 };
  const models = options.models ?? (await prepareBenchModels(log));
  const promptSource = await readFile(PROMPT_SOURCE, 'utf8');

  const session = await BenchSession.start(models, log);
  try {
    const bandwidth = new Map<number, number>();
    for (const threads of threadCounts) {
      bandwidth.set(threads, await session.callPage({ method: 'bandwidth', arg: threads }));
      log(`memory read bandwidth, ${threads} thread(s): ${(bandwidth.get(threads)! / 1e9).toFixed(2)} GB/s`);
    }
    const results: RuntimeBenchResult[] = [];
    for (const model of models) {
      const gguf = await readGguf(await openAsBlob(model.path));
      const { text, tokens } = benchPrompt(tokenizerFromGguf(gguf), promptSource, promptTokens);
      const bytesPerToken = weightBytesPerToken(gguf.tensors);
      for (const threads of threadCounts) {
        const request: SpeedRequest = { url: `/@fs${model.path}`, threads, prompt: tokens, promptText: text, ...counts };
        const { speeds, notes } = await session.measure(model, request);
        const memoryReadBytesPerSecond = bandwidth.get(threads)!;
        const percent = (speed: EngineSpeed | null) => (speed ? rooflinePercent(speed.decodeTokensPerSecond, bytesPerToken, memoryReadBytesPerSecond) : null);
        const result: RuntimeBenchResult = {
          model: model.model,
          type: model.type,
          threads,
          promptTokens: tokens.length,
          decodeTokens: counts.decodeTokens,
          repeats: counts.repeats,
          fileBytes: statSync(model.path).size,
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
    return results;
  } finally {
    await session.close();
  }
}

/** The dev server, the browser with the bench page, and native llama.cpp where available, for one benchmark run. */
class BenchSession {
  private constructor(
    private readonly server: ViteDevServer,
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly pageUrl: string,
    private readonly native: NativeBench | { skipped: string },
    private readonly log: (line: string) => void,
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

  /** One model and thread count on each engine; an engine that fails gets null and a note. */
  async measure(model: BenchModel, request: SpeedRequest): Promise<{ speeds: Record<EngineName, EngineSpeed | null>; notes: string[] }> {
    const label = `${model.model} ${model.type} ${request.threads}T`;
    const notes: string[] = [];
    const attempt = async (engine: EngineName, run: () => Promise<EngineSpeed>): Promise<EngineSpeed | null> => {
      this.log(`${label}: ${engine}…`);
      try {
        return await run();
      } catch (error) {
        // The first line says what went wrong; page errors go on with the worker's stack.
        notes.push(`${label} ${engine} failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
        return null;
      }
    };

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
      const answer = this.page.evaluate<EngineSpeed | number, PageCall>(({ method, arg }) => {
        const api = window.runtimeBench!;
        return method === 'bandwidth' ? api.bandwidth(arg as number) : api[method](arg as SpeedRequest);
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
