// Runs one measurement per worker (the page starts a fresh worker each time, so
// every run starts with cold memory, like a fresh page load): our runtime on a
// GGUF, or the WASM SIMD memory read loop.

import { WasmBackend } from '../../backend/wasm/wasm-backend';
import { generateAll } from '../../engine/generate';
import { loadModel } from '../../model/model';
import type { EngineSpeed } from '../runtime-report';
import type { SpeedRequest, WorkerReply, WorkerRequest } from './protocol';
import { measureWasmReadBandwidth } from './wasm-read-bandwidth';

/** Tokens of the warm-up pass that compiles the kernels' hot paths and grows memory before timing. */
const WARMUP_TOKENS = 8;

async function benchOurs(request: SpeedRequest): Promise<EngineSpeed> {
  const response = await fetch(request.url);
  if (!response.ok) throw new Error(`cannot fetch ${request.url}: HTTP ${response.status}`);
  const blob = await response.blob();
  const backend = await WasmBackend.create({ threads: request.threads });
  const model = await loadModel(blob, backend);
  const nCtx = request.prompt.length + request.decodeTokens + 1;
  let best = { prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 };
  const greedy = async (prompt: number[], maxTokens: number) => (await generateAll(model, prompt, { maxTokens, temperature: 0, stopTokens: [], nCtx })).stats;
  await greedy(request.prompt.slice(0, WARMUP_TOKENS), WARMUP_TOKENS);
  for (let r = 0; r < request.repeats; r++) {
    // maxTokens counts the token sampled from the prompt's logits, which needs no decode pass.
    const stats = await greedy(request.prompt, request.decodeTokens + 1);
    best = {
      prefillTokensPerSecond: Math.max(best.prefillTokensPerSecond, (stats.promptTokens * 1000) / stats.promptMs),
      decodeTokensPerSecond: Math.max(best.decodeTokensPerSecond, ((stats.generatedTokens - 1) * 1000) / stats.generateMs),
    };
  }
  const threadsUsed = backend.threads;
  backend.dispose();
  return { ...best, threadsUsed, promptTokens: request.prompt.length, build: backend.name };
}

/** Blocks until all `parties` workers sharing `barrier` have arrived. */
function waitForAll(barrier: SharedArrayBuffer, parties: number): void {
  const arrived = new Int32Array(barrier);
  if (Atomics.add(arrived, 0, 1) + 1 === parties) {
    Atomics.notify(arrived, 0);
    return;
  }
  for (let seen = Atomics.load(arrived, 0); seen < parties; seen = Atomics.load(arrived, 0)) Atomics.wait(arrived, 0, seen);
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const message = event.data;
  let reply: WorkerReply;
  try {
    const value = message.kind === 'ours'
      ? await benchOurs(message.request)
      : await measureWasmReadBandwidth(message.bytes, message.repeats, () => waitForAll(message.barrier, message.parties));
    reply = { ok: true, value };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  self.postMessage(reply);
};
