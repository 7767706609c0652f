// A WebGPU device for Node tests: Dawn (the `webgpu` package) on SwiftShader, Chromium's CPU Vulkan driver.

import { existsSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** Chromium ships the Vulkan loader beside SwiftShader; loading it first lets Dawn's dlopen("libvulkan.so.1") find it. */
const VULKAN_LOADER = '/usr/lib/chromium/libvulkan.so.1';

/**
 * Kept referenced for the whole run: the library is unloaded when its handle is collected, and collecting Dawn's GPU
 * object while its device lives aborts the process.
 */
const keepAlive: unknown[] = [];

/** Messages of the validation and other errors no error scope caught: tests expect none. */
export const uncapturedErrors: string[] = [];

let dawn: GPU | undefined;

/** Dawn's `navigator.gpu`, created once per test file. */
export async function testGpu(): Promise<GPU> {
  if (dawn) return dawn;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (existsSync(VULKAN_LOADER)) {
    const koffi = (await import('koffi')).default;
    keepAlive.push(koffi.load(VULKAN_LOADER));
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  dawn = create([]);
  keepAlive.push(dawn);
  return dawn;
}

/** A device with the adapter's largest buffer limits. */
export async function createTestDevice(): Promise<GPUDevice> {
  const adapter = await (await testGpu()).requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter (SwiftShader Vulkan) available');
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  device.addEventListener('uncapturederror', (event) => uncapturedErrors.push((event as GPUUncapturedErrorEvent).error.message));
  return device;
}
