// Choosing where a model runs. "auto" takes a hardware GPU when the page has one and the WASM SIMD kernels
// otherwise: a software WebGPU adapter (SwiftShader) is slower than WASM, so auto does not pick it.

import { BackendError, type Backend } from './backend';
import { WasmBackend } from './wasm/wasm-backend';
import { findAdapter, requestFullDevice, type FoundAdapter } from './webgpu/adapter';
import { WebGpuBackend } from './webgpu/webgpu-backend';

export type BackendChoice = 'auto' | 'webgpu' | 'wasm';

export interface CreatedBackend {
  readonly backend: Backend;
  /** What runs and why, for the UI: "WebGPU (nvidia ampere)", "WASM SIMD, 1 thread (no WebGPU adapter)". */
  readonly description: string;
}

export interface CreateBackendOptions {
  /** WASM threads wanted (default 1); fewer run where memory cannot be shared (a page that is not cross-origin isolated). */
  readonly threads?: number;
  /** Why WASM runs where WebGPU was wanted (a failed or lost device), for the description. */
  readonly fallbackReason?: string;
}

export async function createBackend(choice: BackendChoice, options: CreateBackendOptions = {}): Promise<CreatedBackend> {
  if (choice === 'wasm') return createWasm(options, options.fallbackReason ?? '');
  const gpu = await findAdapter();
  if (choice === 'webgpu') {
    if (!gpu) throw new BackendError('WebGPU is not available in this browser (no adapter)');
    return createWebGpu(gpu, gpu.software ? `${gpu.label}, software` : gpu.label);
  }
  if (!gpu) return createWasm(options, 'no WebGPU adapter');
  if (gpu.software) return createWasm(options, `the WebGPU adapter (${gpu.label}) is software, slower than WASM`);
  return createWebGpu(gpu, gpu.label);
}

async function createWebGpu(gpu: FoundAdapter, label: string): Promise<CreatedBackend> {
  const backend = await WebGpuBackend.create({ device: await requestFullDevice(gpu.adapter) });
  return { backend, description: `WebGPU (${label}; ${backend.kernels})` };
}

async function createWasm(options: CreateBackendOptions, reason: string): Promise<CreatedBackend> {
  const wanted = options.threads ?? 1;
  const backend = await WasmBackend.create({ threads: wanted });
  const threads = backend.threads;
  const reasons = [reason, threads < wanted ? 'shared memory unavailable: the page is not cross-origin isolated' : ''].filter(Boolean);
  const description = `WASM ${backend.relaxedSimd ? 'relaxed SIMD' : 'SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}`;
  return { backend, description };
}
