// What the Node bench script asks the bench page for, and what comes back.
// The page exposes `window.runtimeBench` (see bench-page.ts); Playwright calls it.

import type { EngineSpeed, WebGpuAdapterSummary, WebGpuSpeed } from '../runtime-report';

/** One model, prompt and decode length to measure. */
export interface GenerationRequest {
  /** URL of the GGUF file, served by the same dev server. */
  url: string;
  /** Token ids of the prompt (BOS first), evaluated as one prefill. */
  prompt: number[];
  /** Greedy decode steps after the prompt. */
  decodeTokens: number;
  /** Timed runs; the best is kept. */
  repeats: number;
}

/** A request for the CPU engines (our WASM backend, wllama), which run on `threads` threads. */
export interface SpeedRequest extends GenerationRequest {
  threads: number;
  /** The prompt as text, for engines that tokenize it themselves (wllama); it encodes to `prompt`. */
  promptText: string;
}

/** The page's WebGPU adapter as our runtime finds it, or why there is none. */
export type WebGpuProbe = { available: true; adapter: WebGpuAdapterSummary } | { available: false; reason: string };

export interface RuntimeBenchApi {
  /** Our runtime (createBackend('wasm') + loadModel + generate) in a Worker. */
  ours(request: SpeedRequest): Promise<EngineSpeed>;
  /** Our runtime on createBackend('webgpu'), in a Worker like `ours`. */
  webgpu(request: GenerationRequest): Promise<WebGpuSpeed>;
  /** The WebGPU adapter a worker of this page gets. */
  webgpuAdapter(): Promise<WebGpuProbe>;
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
  | { kind: 'webgpu'; request: GenerationRequest }
  | { kind: 'webgpu-adapter' }
  | {
    kind: 'bandwidth';
    bytes: number;
    repeats: number;
    /** An Int32 counter shared by the `parties` workers that measure at once; each adds 1 and waits for the rest. */
    barrier: SharedArrayBuffer;
    parties: number;
  };

/** What a bench worker measured or found. */
export type WorkerValue = EngineSpeed | WebGpuSpeed | WebGpuProbe | number;

export type WorkerReply = { ok: true; value: WorkerValue } | { ok: false; error: string };
