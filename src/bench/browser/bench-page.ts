// The bench page: measures our runtime (in a Worker, on the WASM or the WebGPU
// backend), wllama (llama.cpp compiled to WASM, in its own worker) and the memory
// read bandwidth, all in this page, on request of the Node bench script (see protocol.ts).

import { LoggerWithoutDebug, Wllama, type RawCompletionParams } from '@wllama/wllama';
import wllamaWasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import type { EngineSpeed } from '../runtime-report';
import type { RuntimeBenchApi, SpeedRequest, WorkerReply, WorkerRequest, WorkerValue } from './protocol';

/** Bytes read per bandwidth measurement, in all threads together: far larger than the caches. */
const BANDWIDTH_BYTES = 256 << 20;
const BANDWIDTH_REPEATS = 5;

/** Runs one request on a fresh bench worker and ends the worker. */
function inWorker<T extends WorkerValue>(message: WorkerRequest): Promise<T> {
  const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
  return new Promise<T>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      if (reply.ok) resolve(reply.value as T);
      else reject(new Error(reply.error));
    };
    worker.onerror = (event) => reject(new Error(`bench worker failed: ${event.message}`));
    worker.postMessage(message);
  }).finally(() => worker.terminate());
}

async function benchWllama(request: SpeedRequest): Promise<EngineSpeed> {
  const response = await fetch(request.url);
  if (!response.ok) throw new Error(`cannot fetch ${request.url}: HTTP ${response.status}`);
  const blob = await response.blob();
  // Room for a tokenization of the text one or two tokens longer than ours.
  const contextSize = request.prompt.length + request.decodeTokens + 16;
  const wllama = new Wllama({ default: wllamaWasmUrl }, { logger: LoggerWithoutDebug, suppressNativeLog: true });
  try {
    await wllama.loadModel([blob], {
      n_threads: request.threads,
      n_ctx: contextSize,
      // The whole prompt in one pass, as llama-bench does.
      n_batch: contextSize,
      n_ubatch: contextSize,
      n_gpu_layers: 0,
      n_parallel: 1,
    });
    const complete = (prompt: string, maxTokens: number) => wllama.createCompletion({
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      ignore_eos: true,
      // Re-evaluate the whole prompt on every run instead of reusing the previous run's cache.
      cache_prompt: false,
    } as RawCompletionParams & { stream?: false });
    await complete(request.promptText.slice(0, 32), 8);
    let best = { prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 };
    let promptTokens = 0;
    for (let r = 0; r < request.repeats; r++) {
      const { timings } = await complete(request.promptText, request.decodeTokens);
      if (!timings) throw new Error('wllama returned no timings');
      best = {
        prefillTokensPerSecond: Math.max(best.prefillTokensPerSecond, (timings.prompt_n * 1000) / timings.prompt_ms),
        // The first predicted token comes from the prompt's logits: predicted_n tokens take predicted_n − 1 decode passes.
        decodeTokensPerSecond: Math.max(best.decodeTokensPerSecond, ((timings.predicted_n - 1) * 1000) / timings.predicted_ms),
      };
      promptTokens = timings.prompt_n;
    }
    return { ...best, threadsUsed: wllama.getNumThreads(), promptTokens, build: `wllama (llama.cpp ${Wllama.getLibllamaVersion()})` };
  } finally {
    await wllama.exit();
  }
}

/** Total bytes per second of `threads` workers reading their own buffers at the same time. */
async function bandwidth(threads: number): Promise<number> {
  const message: WorkerRequest = { kind: 'bandwidth', bytes: BANDWIDTH_BYTES / threads, repeats: BANDWIDTH_REPEATS, barrier: new SharedArrayBuffer(4), parties: threads };
  const perWorker = await Promise.all(Array.from({ length: threads }, () => inWorker<number>(message)));
  return perWorker.reduce((a, b) => a + b, 0);
}

const api: RuntimeBenchApi = {
  ours: (request) => inWorker({ kind: 'ours', request }),
  webgpu: (request) => inWorker({ kind: 'webgpu', request }),
  webgpuAdapter: () => inWorker({ kind: 'webgpu-adapter' }),
  wllama: benchWllama,
  bandwidth,
  crossOriginIsolated: self.crossOriginIsolated,
};

declare global {
  interface Window {
    runtimeBench?: RuntimeBenchApi;
  }
}
window.runtimeBench = api;
