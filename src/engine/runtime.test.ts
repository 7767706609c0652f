// Falling back from WebGPU (Dawn on SwiftShader) to WASM when the device is lost, simulated with device.destroy().

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { nodeGpu } from '../backend/webgpu/node-gpu';
import { GpuDeviceError } from '../backend/webgpu/webgpu-backend';
import { isWebGpuFailure, openModel } from './runtime';

const FIXTURES = '../shared/fixtures';

let blob: Blob;
let prompt: number[];
let firstToken: number;
/** The devices the stubbed adapter handed out, newest last. */
const devices: GPUDevice[] = [];

beforeAll(async () => {
  blob = await openAsBlob(`${FIXTURES}/models/stories260K.gguf`);
  const ref = JSON.parse(await readFile(`${FIXTURES}/golden/stories260K-F32.ref.json`, 'utf8')) as { greedy: { prompt_ids: number[]; tokens: number[] } };
  prompt = ref.greedy.prompt_ids;
  firstToken = ref.greedy.tokens[0]!;
});

beforeEach(async () => {
  const gpu = await nodeGpu('software');
  const stub = {
    async requestAdapter(options?: GPURequestAdapterOptions) {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) return null;
      const requestDevice = adapter.requestDevice.bind(adapter);
      return Object.assign(Object.create(adapter) as GPUAdapter, {
        info: adapter.info,
        limits: adapter.limits,
        requestDevice: async (descriptor?: GPUDeviceDescriptor) => {
          const device = await requestDevice(descriptor);
          devices.push(device);
          return device;
        },
      });
    },
  };
  vi.stubGlobal('navigator', { gpu: stub });
});
afterEach(() => vi.unstubAllGlobals());

async function greedyFirst(model: Awaited<ReturnType<typeof openModel>>['model']): Promise<number> {
  const logits = await model.forward(prompt, 0, model.createCache(128), 'last');
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

describe('openModel', () => {
  it('runs on WebGPU when it works', async () => {
    const { model, description } = await openModel(blob, 'webgpu', { threads: 1 });
    expect(description).toMatch(/^WebGPU /);
    expect(await greedyFirst(model)).toBe(firstToken);
    model.backend.dispose();
  });

  it('reopens the model on WASM when the device is lost while loading', async () => {
    let lost = false;
    const { model, description } = await openModel(blob, 'webgpu', {
      threads: 1,
      onProgress: () => {
        if (lost) return;
        lost = true;
        devices.at(-1)!.destroy();
      },
    });
    expect(model.backend.name).toMatch(/^wasm/);
    expect(description).toMatch(/^WASM (relaxed )?SIMD, 1 thread \(WebGPU device lost: .*\)$/);
    expect(await greedyFirst(model)).toBe(firstToken);
    model.backend.dispose();
  });

  it('reports a device lost while generating as a GpuDeviceError, for the caller to reopen on WASM', async () => {
    const { model } = await openModel(blob, 'webgpu', { threads: 2 });
    devices.at(-1)!.destroy();
    const error = await greedyFirst(model).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuDeviceError);
    expect(isWebGpuFailure(model.backend, error)).toBe(true);
    const reopened = await openModel(blob, 'wasm', { threads: 2, fallbackReason: (error as Error).message });
    expect(reopened.description).toMatch(/^WASM (relaxed )?SIMD, \d threads? \(WebGPU device lost: .*\)$/);
    expect(await greedyFirst(reopened.model)).toBe(firstToken);
    reopened.model.backend.dispose();
  });
});
