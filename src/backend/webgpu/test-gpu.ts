// A WebGPU device for Node tests: Dawn (the `webgpu` package) on SwiftShader, Chromium's CPU Vulkan driver; and what
// the kernel tests share: random inputs, shader modules that must compile, buffers in and out, errors over an output
// region.

import { expect } from 'vitest';
import { createRng } from '../../engine/sampling';
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

/** Deterministic pseudo-random numbers in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  const next = createRng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

/** The shader module of `code`; throws with the compiler's messages when it does not compile. */
export async function compiledModule(device: GPUDevice, label: string, code: string): Promise<GPUShaderModule> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label, code });
  const error = await device.popErrorScope();
  const messages = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (error || messages.length > 0) {
    const details = messages.map((m) => `line ${m.lineNum}: ${m.message}`);
    throw new Error(`${label} does not compile: ${[error?.message, ...details].join('; ')}`);
  }
  return module;
}

/** A storage buffer holding `data` (padded to whole words, as buffer sizes and writes go). */
export function storageBuffer(device: GPUDevice, data: Uint8Array | Float32Array, usage = 0): GPUBuffer {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const padded = new Uint8Array(Math.max(4, Math.ceil(bytes.length / 4) * 4));
  padded.set(bytes);
  const buffer = device.createBuffer({ size: padded.length, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | usage });
  device.queue.writeBuffer(buffer, 0, padded);
  return buffer;
}

/** The contents of a buffer made with COPY_SRC, as f32 values. */
export async function readBack(device: GPUDevice, buffer: GPUBuffer): Promise<Float32Array> {
  const staging = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return values;
}

/**
 * ‖actual − expected‖ / ‖expected‖ over the output region, `offset` values into `actual`, once the values before it
 * and the `tail` values after it are checked to still hold `sentinel` (a kernel must write only its output).
 */
export function regionError(actual: Float32Array, expected: Float64Array, offset: number, tail: number, sentinel: number): number {
  const region = actual.subarray(offset, offset + expected.length);
  const around = [...actual.subarray(0, offset), ...actual.subarray(offset + expected.length)];
  expect(around).toEqual(new Array(offset + tail).fill(sentinel));
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    difference += (region[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(difference / norm);
}
