// Finding the page's WebGPU adapter and opening a device with its real buffer limits. Shared by the model runtime
// (src/backend/create-backend.ts) and the quantizer (src/worker/inspector.worker.ts).

import { BackendError } from '../backend';

export interface FoundAdapter {
  readonly adapter: GPUAdapter;
  /** A CPU implementation (SwiftShader, a fallback adapter): slower than the WASM kernels. */
  readonly software: boolean;
  /** Vendor and architecture, for the UI, e.g. "nvidia ampere". */
  readonly label: string;
}

/** The high-performance adapter, or undefined where WebGPU is missing or has none. */
export async function findAdapter(): Promise<FoundAdapter | undefined> {
  const gpu = globalThis.navigator?.gpu;
  const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) return undefined;
  const { vendor, architecture, description } = adapter.info;
  return { adapter, software: isSoftwareAdapter(adapter.info), label: `${vendor} ${architecture}`.trim() || description || 'unknown GPU' };
}

/** Whether an adapter (or a device's adapter, `device.adapterInfo`) is a CPU implementation such as SwiftShader. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  const { vendor, architecture, description, isFallbackAdapter } = info;
  return isFallbackAdapter || /swiftshader/i.test(`${vendor} ${architecture} ${description}`);
}

/**
 * A device with the adapter's largest storage buffer limits (the defaults are far lower: 128 MiB, 256 MiB), and
 * the `subgroups` feature where the adapter has it (the GPU matrix-vector kernel sums with subgroupAdd).
 */
export async function requestFullDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  try {
    return await adapter.requestDevice({
      label: 'quantscope',
      requiredFeatures: adapter.features.has('subgroups') ? ['subgroups'] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
  } catch (error) {
    throw new BackendError(`the WebGPU adapter refused a device: ${(error as Error).message}`);
  }
}
