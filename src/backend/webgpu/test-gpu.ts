// A WebGPU device for Node tests: Dawn (the `webgpu` package) on SwiftShader, Chromium's CPU Vulkan driver.

import { nodeGpu } from './node-gpu';

/** Messages of the validation and other errors no error scope caught: tests expect none. */
export const uncapturedErrors: string[] = [];

/** A device with the adapter's largest buffer limits, and its `subgroups` feature unless `subgroups` is false. */
export async function createTestDevice({ subgroups = true } = {}): Promise<GPUDevice> {
  const adapter = await (await nodeGpu('software')).requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter (SwiftShader Vulkan) available');
  const device = await adapter.requestDevice({
    requiredFeatures: subgroups && adapter.features.has('subgroups') ? ['subgroups'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  device.addEventListener('uncapturederror', (event) => uncapturedErrors.push((event as GPUUncapturedErrorEvent).error.message));
  return device;
}
