// Native llama.cpp (through node-llama-cpp, which bundles the same llama.cpp
// release as our fixtures) on the same GGUF, prompt and thread count: the column
// that says how far a browser runtime is from the metal. Speeds come from
// llama.cpp's own performance counters (time spent in llama_decode, as
// llama-bench reports), not from wall time around node-llama-cpp's JS API, whose
// per-token overhead would otherwise count against llama.cpp.

import type { EngineSpeed } from './runtime-report';

/** The parts of node-llama-cpp's API the benchmark uses. */
interface NodeLlamaCpp {
  getLlama(options: { gpu: false; build: 'never'; logLevel: string; logger: (level: string, message: string) => void }): Promise<Llama>;
  LlamaLogLevel: { info: string };
}
interface Llama {
  readonly llamaCppRelease: { release: string };
  loadModel(options: { modelPath: string }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}
interface LlamaModel {
  createContext(options: {
    contextSize: number;
    batchSize: number;
    threads: { ideal: number; min: number };
    sequences: number;
    performanceTracking: true;
  }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface LlamaContext {
  getSequence(): LlamaSequence;
  readonly currentThreads: number;
  /** Logs llama.cpp's performance counters (llama_perf_context_print) at info level, then resets them. */
  printTimings(): Promise<void>;
  dispose(): Promise<void>;
}
interface LlamaSequence {
  evaluateWithoutGeneratingNewTokens(tokens: number[]): Promise<void>;
  evaluate(tokens: number[], options: { temperature: number }): AsyncGenerator<number, void, void>;
  clearHistory(): Promise<void>;
}

export type NativeRuntime = { available: true; source: string; module: NodeLlamaCpp } | { available: false; reason: string };

/**
 * The first of `candidates` that imports: by default node-llama-cpp from the project's dev dependencies. A platform
 * it has no build for leaves the native column out, with the reason.
 */
export async function resolveNodeLlamaCpp(candidates: readonly string[] = ['node-llama-cpp']): Promise<NativeRuntime> {
  // The specifiers are data, not literals: neither tsc nor Vite should pull node-llama-cpp into a bundle.
  const failures: string[] = [];
  for (const source of candidates) {
    try {
      return { available: true, source, module: (await import(/* @vite-ignore */ source)) as NodeLlamaCpp };
    } catch (error) {
      failures.push(`${source}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  return { available: false, reason: `node-llama-cpp not found (${failures.join('; ')})` };
}

export interface NativeSpeedRequest {
  path: string;
  threads: number;
  prompt: number[];
  decodeTokens: number;
  repeats: number;
}

export interface PerfTimings {
  promptTokens: number;
  promptMs: number;
  /** Single-token llama_decode calls. */
  evalRuns: number;
  evalMs: number;
}

/** Reads the prompt-eval and eval lines that llama_perf_context_print logs. */
export function parsePerfTimings(lines: readonly string[]): PerfTimings {
  const find = (pattern: RegExp, what: string) => {
    for (const line of lines) {
      const match = pattern.exec(line);
      if (match) return { ms: Number(match[1]), count: Number(match[2]) };
    }
    throw new Error(`llama.cpp logged no ${what} timing (looked in ${lines.length} lines)`);
  };
  const prompt = find(/prompt eval time =\s*([\d.]+) ms \/\s*(\d+) tokens/, 'prompt eval');
  const decode = find(/:\s+eval time =\s*([\d.]+) ms \/\s*(\d+) runs/, 'eval');
  return { promptTokens: prompt.count, promptMs: prompt.ms, evalRuns: decode.count, evalMs: decode.ms };
}

/** A llama.cpp instance (CPU build), started once for all measurements. */
/** A llama.cpp instance (CPU build), started once for all measurements. */
export class NativeBench {
  private constructor(
    private readonly llama: Llama,
    /** Where node-llama-cpp was loaded from. */
    readonly source: string,
    /** What llama.cpp logs about performance; printTimings fills it. */
    private readonly perfLines: string[],
  ) {}

  /** Uses an existing build only: `build: 'never'` keeps node-llama-cpp from compiling llama.cpp mid-benchmark. */
  static async start(runtime: NodeLlamaCpp, source: string): Promise<NativeBench> {
    const perfLines: string[] = [];
    const llama = await runtime.getLlama({
      gpu: false,
      build: 'never',
      // Info level carries the performance counters; other logs are dropped.
      logLevel: runtime.LlamaLogLevel.info,
      logger: (_level, message) => {
        if (message.includes('llama_perf_context_print')) perfLines.push(message);
      },
    });
    return new NativeBench(llama, source, perfLines);
  }

  /** Prefill of the whole prompt in one batch, then greedy decode steps; best of `repeats`. */
  async measure(request: NativeSpeedRequest): Promise<EngineSpeed> {
    const model = await this.llama.loadModel({ modelPath: request.path });
    const context = await model.createContext({
      contextSize: request.prompt.length + request.decodeTokens + 16,
      batchSize: request.prompt.length,
      threads: { ideal: request.threads, min: request.threads },
      sequences: 1,
      performanceTracking: true,
    });
    try {
      const sequence = context.getSequence();
      await this.run(context, sequence, request.prompt.slice(0, 8), 8); // warm-up
      let best = { prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 };
      for (let r = 0; r < request.repeats; r++) {
        const timings = await this.run(context, sequence, request.prompt, request.decodeTokens);
        best = {
          prefillTokensPerSecond: Math.max(best.prefillTokensPerSecond, (timings.promptTokens * 1000) / timings.promptMs),
          decodeTokensPerSecond: Math.max(best.decodeTokensPerSecond, (timings.evalRuns * 1000) / timings.evalMs),
        };
      }
      const build = `llama.cpp ${this.llama.llamaCppRelease.release} (node-llama-cpp, CPU)`;
      return { ...best, threadsUsed: context.currentThreads, promptTokens: request.prompt.length, build };
    } finally {
      await context.dispose();
      await model.dispose();
    }
  }

  /**
   * Evaluates the prompt (all but its last token in one batch: llama.cpp counts that batch as
   * prompt eval), then feeds greedy tokens back until `decodeTokens` single-token passes have
   * run after the one that takes the prompt's last token. Returns llama.cpp's counters for it.
   */
  private async run(context: LlamaContext, sequence: LlamaSequence, prompt: number[], decodeTokens: number): Promise<PerfTimings> {
    await sequence.clearHistory();
    await context.printTimings(); // resets the counters
    await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
    const steps = sequence.evaluate(prompt.slice(-1), { temperature: 0 });
    for (let pass = 0; pass <= decodeTokens; pass++) {
      if ((await steps.next()).done) throw new Error(`node-llama-cpp stopped after ${pass} decode passes`);
    }
    await steps.return();
    this.perfLines.length = 0;
    await context.printTimings();
    return parsePerfTimings(this.perfLines);
  }

  async dispose(): Promise<void> {
    await this.llama.dispose();
  }
}
