// Runs one measurement per worker (the page starts a fresh worker each time, so
// every run starts with cold memory, like a fresh page load): our runtime on a
// GGUF with the WASM or the WebGPU backend, the WebGPU adapter the runtime finds,
// or the WASM SIMD memory read loop.

import type { Backend } from '../../backend/backend';
import { createBackend } from '../../backend/create-backend';
import { WasmBackend } from '../../backend/wasm/wasm-backend';
import { isSoftwareAdapter } from '../../backend/webgpu/adapter';
import { WebGpuBackend } from '../../backend/webgpu/webgpu-backend';
import { generateAll } from '../../engine/generate';
import { loadModel } from '../../model/model';
import type { EngineSpeed, WebGpuSpeed } from '../runtime-report';
import type { GenerationRequest, SpeedRequest, WebGpuProbe, WorkerReply, WorkerRequest, WorkerValue } from './protocol';
import { measureWasmReadBandwidth } from './wasm-read-bandwidth';

/** The untimed run before timing: a prompt longer than a decoding batch (so that the prefill paths run too), then decode steps. */
interface Warmup {
  promptTokens: number;
  decodeSteps: number;
}
/** Several decode steps, so that the JavaScript engine compiles the kernels' hot paths and memory grows before timing. */
const WASM_WARMUP: Warmup = { promptTokens: 8, decodeSteps: 7 };
/** WebGPU compiles each pipeline at its first use: one decode step does (on SwiftShader a step of the 60M model takes seconds). */
const WEBGPU_WARMUP: Warmup = { promptTokens: 8, decodeSteps: 1 };

/** The best prefill and decode speeds of `repeats` greedy runs of the model on `backend`, after a warm-up run. */
async function bestSpeeds(backend: Backend, request: GenerationRequest, warmup: Warmup): Promise<Pick<EngineSpeed, 'prefillTokensPerSecond' | 'decodeTokensPerSecond'>> {
  const response = await fetch(request.url);
  if (!response.ok) throw new Error(`cannot fetch ${request.url}: HTTP ${response.status}`);
  const model = await loadModel(await response.blob(), backend);
  const nCtx = request.prompt.length + request.decodeTokens + 1;
  let best = { prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 };
  const greedy = async (prompt: number[], maxTokens: number) => (await generateAll(model, prompt, { maxTokens, temperature: 0, stopTokens: [], nCtx })).stats;
  // maxTokens counts the token sampled from the prompt's logits, which needs no decode pass.
  await greedy(request.prompt.slice(0, warmup.promptTokens), warmup.decodeSteps + 1);
  for (let r = 0; r < request.repeats; r++) {
    const stats = await greedy(request.prompt, request.decodeTokens + 1);
    best = {
      prefillTokensPerSecond: Math.max(best.prefillTokensPerSecond, (stats.promptTokens * 1000) / stats.promptMs),
      decodeTokensPerSecond: Math.max(best.decodeTokensPerSecond, ((stats.generatedTokens - 1) * 1000) / stats.generateMs),
    };
  }
  return best;
}

async function benchWasm(request: SpeedRequest): Promise<EngineSpeed> {
  const backend = await WasmBackend.create({ threads: request.threads });
  try {
    const best = await bestSpeeds(backend, request, WASM_WARMUP);
    return { ...best, threadsUsed: backend.threads, promptTokens: request.prompt.length, build: backend.name };
  } finally {
    backend.dispose();
  }
}

async function benchWebGpu(request: GenerationRequest): Promise<WebGpuSpeed> {
  const { backend, description } = await createBackend('webgpu');
  try {
    const best = await bestSpeeds(backend, request, WEBGPU_WARMUP);
    return { ...best, promptTokens: request.prompt.length, build: description };
  } finally {
    backend.dispose();
  }
}

/** The adapter behind createBackend('webgpu'), or the reason it throws. */
async function probeWebGpu(): Promise<WebGpuProbe> {
  let created;
  try {
    created = await createBackend('webgpu');
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const { backend, description } = created;
  try {
    if (!(backend instanceof WebGpuBackend)) throw new Error(`createBackend('webgpu') gave a ${backend.name} backend`);
    const info = backend.device.adapterInfo;
    const adapter = { vendor: info.vendor, architecture: info.architecture, description: info.description, software: isSoftwareAdapter(info), backend: description };
    return { available: true, adapter };
  } finally {
    backend.dispose();
  }
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

function run(message: WorkerRequest): Promise<WorkerValue> {
  switch (message.kind) {
    case 'ours':
      return benchWasm(message.request);
    case 'webgpu':
      return benchWebGpu(message.request);
    case 'webgpu-adapter':
      return probeWebGpu();
    case 'bandwidth':
      return measureWasmReadBandwidth(message.bytes, message.repeats, () => waitForAll(message.barrier, message.parties));
  }
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  let reply: WorkerReply;
  try {
    reply = { ok: true, value: await run(event.data) };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  self.postMessage(reply);
};
