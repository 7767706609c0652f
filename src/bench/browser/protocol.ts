// What the Node bench script asks the bench page for, and what comes back.
// The page exposes `window.runtimeBench` (see bench-page.ts); Playwright calls it.

import type { EngineSpeed } from '../runtime-report';

export interface SpeedRequest {
  /** URL of the GGUF file, served by the same dev server. */
  url: string;
  threads: number;
  /** Token ids of the prompt (BOS first), evaluated as one prefill. */
  prompt: number[];
  /** The prompt as text, for engines that tokenize it themselves (wllama); it encodes to `prompt`. */
  promptText: string;
  /** Greedy decode steps after the prompt. */
  decodeTokens: number;
  /** Timed runs; the best is kept. */
  repeats: number;
}

export interface RuntimeBenchApi {
  /** Our runtime (loadModel + WasmBackend + generate) in a Worker. */
  ours(request: SpeedRequest): Promise<EngineSpeed>;
  /** wllama (llama.cpp compiled to WASM), CPU only, on the same file. */
  wllama(request: SpeedRequest): Promise<EngineSpeed>;
  /** Memory read bandwidth in bytes per second, with `threads` workers reading at once. */
  bandwidth(threads: number): Promise<number>;
  /** Whether the page is cross-origin isolated (threads need it). */
  readonly crossOriginIsolated: boolean;
}

/** Messages to bench.worker.ts. */
export type WorkerRequest =
  | { kind: 'ours'; request: SpeedRequest }
  | {
    kind: 'bandwidth';
    bytes: number;
    repeats: number;
    /** An Int32 counter shared by the `parties` workers that measure at once; each adds 1 and waits for the rest. */
    barrier: SharedArrayBuffer;
    parties: number;
  };

export type WorkerReply = { ok: true; value: EngineSpeed | number } | { ok: false; error: string };
