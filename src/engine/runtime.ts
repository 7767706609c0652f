// Opening a model for inference on the backend the page chose. When WebGPU fails under a model (a lost device, an
// allocation it refuses), the same file is opened again on WASM with the same threads, and the description says why.

import { BackendError, type Backend } from '../backend/backend';
import { createBackend, type BackendChoice } from '../backend/create-backend';
import { WebGpuBackend } from '../backend/webgpu/webgpu-backend';
import { loadModel, type CausalLM, type LoadOptions } from '../model/model';

export interface OpenOptions extends LoadOptions {
  /** WASM threads wanted. */
  readonly threads: number;
  /** Why WASM runs instead of WebGPU, for the description (set when falling back). */
  readonly fallbackReason?: string;
  /** Called with each backend before the weights are read: throws to refuse it (the model would not fit). */
  readonly beforeLoad?: (backend: Backend) => void;
}

export interface OpenedModel {
  readonly model: CausalLM;
  /** What runs and why, e.g. "WASM SIMD, 2 threads (WebGPU device lost: …)". */
  readonly description: string;
}

export async function openModel(blob: Blob, choice: BackendChoice, options: OpenOptions): Promise<OpenedModel> {
  const { backend, description } = await createBackend(choice, options);
  try {
    options.beforeLoad?.(backend);
    const model = await loadModel(blob, backend, options);
    // Upload failures reach the WebGPU backend asynchronously: look before calling the model loaded.
    if (backend instanceof WebGpuBackend) await backend.checkHealth();
    return { model, description };
  } catch (error) {
    backend.dispose();
    if (options.signal?.aborted || !isWebGpuFailure(backend, error)) throw error;
    return openModel(blob, 'wasm', { ...options, fallbackReason: (error as Error).message });
  }
}

/**
 * Whether `error`, thrown by work on `backend`, means the WebGPU backend cannot go on where WASM may: a lost device
 * or failed allocation (GpuDeviceError), or another of its limits (a row larger than a buffer may be).
 */
export function isWebGpuFailure(backend: unknown, error: unknown): error is BackendError {
  return backend instanceof WebGpuBackend && error instanceof BackendError;
}
