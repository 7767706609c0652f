import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendError } from './backend';
import { createBackend } from './create-backend';
import { nodeGpu } from './webgpu/node-gpu';

afterEach(() => vi.unstubAllGlobals());

describe('createBackend', () => {
  it('runs WASM with the threads asked for', async () => {
    const { backend, description } = await createBackend('wasm', { threads: 2 });
    expect(backend.name).toMatch(/^wasm/);
    expect(description).toMatch(/^WASM (relaxed )?SIMD, 2 threads$/);
    backend.dispose();
  });

  it('falls back to WASM without an adapter, and refuses an explicit WebGPU choice', async () => {
    vi.stubGlobal('navigator', {});
    const { backend, description } = await createBackend('auto');
    expect(description).toMatch(/^WASM (relaxed )?SIMD, 1 thread \(no WebGPU adapter\)$/);
    backend.dispose();
    await expect(createBackend('webgpu')).rejects.toThrow(BackendError);
  });

  it('leaves a software adapter (SwiftShader) to an explicit choice', async () => {
    vi.stubGlobal('navigator', { gpu: await nodeGpu('software') });
    const auto = await createBackend('auto');
    expect(auto.description).toMatch(/^WASM (relaxed )?SIMD, 1 thread \(the WebGPU adapter \(.+\) is software, slower than WASM\)$/);
    auto.backend.dispose();
    const chosen = await createBackend('webgpu');
    expect(chosen.backend.name).toBe('webgpu');
    expect(chosen.description).toMatch(/^WebGPU \(.+, software; per-row matvec, per-row prefill, per-dim attention\)$/);
    chosen.backend.dispose();
  });
});
