// WebGPU in Node: Dawn (the `webgpu` package), on SwiftShader (Chromium's CPU Vulkan driver, for tests on machines
// without a GPU) or on the machine's own Vulkan driver (benchmarks on a real GPU).

import { existsSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** Chromium ships the Vulkan loader beside SwiftShader; loading it first lets Dawn's dlopen("libvulkan.so.1") find it. */
const CHROMIUM_VULKAN_LOADER = '/usr/lib/chromium/libvulkan.so.1';

/**
 * Kept referenced for the whole run: a library is unloaded when its handle is collected, and collecting Dawn's GPU
 * object while its device lives aborts the process.
 */
const keepAlive: unknown[] = [];

let dawn: GPU | undefined;

/**
 * Dawn's `navigator.gpu`, created once per process (its WebGPU globals such as GPUBufferUsage are installed too).
 * `software`: run on SwiftShader whatever GPU the machine has; otherwise Vulkan's own choice of driver.
 */
export async function nodeGpu(driver: 'software' | 'system'): Promise<GPU> {
  if (dawn) return dawn;
  if (driver === 'software') {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    if (existsSync(CHROMIUM_VULKAN_LOADER)) {
      const koffi = (await import('koffi')).default;
      keepAlive.push(koffi.load(CHROMIUM_VULKAN_LOADER));
    }
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  dawn = create([]);
  keepAlive.push(dawn);
  return dawn;
}
