// Quantization on the GPU: f32 → F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K with the kernels of
// shaders/quantize.wgsl, byte for byte what quantizeRow (and llama.cpp's reference quantizers) write.
//
// The input goes up in chunks that fit the device's buffer limits; each shader invocation encodes one "unit" of
// blocks whose bytes fill whole u32 words. Two kinds of units are left to the CPU encoder, so the result stays exact:
// the few trailing blocks that do not fill a unit, and units holding subnormal values or a group of values so small
// (but not zero) that the fit's products become subnormal: GPUs may flush those to zero, where the CPU keeps them.

import quantizeShader from '../../../shaders/quantize.wgsl?raw';
import { UnsupportedTypeError } from '../../quant/errors';
import { QuantizeInputError, quantizeRow } from '../../quant/quantize';
import { GgmlType, tensorBytes, type GgmlTypeTraits } from '../../quant/types';

export interface GpuQuantizer {
  /** True for the types `quantize` encodes: F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K. */
  supports(type: GgmlTypeTraits): boolean;
  /**
   * `src` (a whole number of blocks, all finite) encoded as `type`: tensorBytes(type, src.length) bytes, equal to
   * what quantizeRow writes. Throws UnsupportedTypeError, RangeError for a partial block, QuantizeInputError for NaN
   * or ±Infinity.
   */
  quantize(type: GgmlTypeTraits, src: Float32Array): Promise<Uint8Array>;
}

interface Kernel {
  /** Entry point in quantize.wgsl. */
  readonly entryPoint: string;
  /** Blocks one invocation encodes: enough that their bytes are a whole number of u32 words. */
  readonly blocksPerUnit: number;
  /**
   * Values that the format fits together (a scale per group): a unit with a group whose largest magnitude is
   * nonzero but below SMALL_GROUP_LIMIT goes to the CPU. 0 for the plain float conversions, which are integer-only.
   */
  readonly groupSize: number;
}

const KERNELS: ReadonlyMap<number, Kernel> = new Map([
  [GgmlType.F16, { entryPoint: 'quantize_f16', blocksPerUnit: 2, groupSize: 0 }],
  [GgmlType.BF16, { entryPoint: 'quantize_bf16', blocksPerUnit: 2, groupSize: 0 }],
  [GgmlType.Q4_0, { entryPoint: 'quantize_q4_0', blocksPerUnit: 2, groupSize: 32 }],
  [GgmlType.Q4_1, { entryPoint: 'quantize_q4_1', blocksPerUnit: 1, groupSize: 32 }],
  [GgmlType.Q5_0, { entryPoint: 'quantize_q5_0', blocksPerUnit: 2, groupSize: 32 }],
  [GgmlType.Q5_1, { entryPoint: 'quantize_q5_1', blocksPerUnit: 1, groupSize: 32 }],
  [GgmlType.Q8_0, { entryPoint: 'quantize_q8_0', blocksPerUnit: 2, groupSize: 32 }],
  [GgmlType.Q4_K, { entryPoint: 'quantize_q4_k', blocksPerUnit: 1, groupSize: 32 }],
  [GgmlType.Q5_K, { entryPoint: 'quantize_q5_k', blocksPerUnit: 1, groupSize: 32 }],
  [GgmlType.Q6_K, { entryPoint: 'quantize_q6_k', blocksPerUnit: 2, groupSize: 16 }],
]);

/**
 * 2^-16. The k-quant fits multiply up to six values of a group together (sums of x³·l, squared): for groups this
 * large those products stay far above the subnormal range. (On SwiftShader, which flushes subnormals, Q6_K output
 * starts to differ for groups below about 5e-7; the legacy formats only below about 1e-37.)
 */
const SMALL_GROUP_LIMIT = 2 ** -16;
/** The smallest normal f32: GPUs may read anything smaller as zero. */
const F32_MIN_NORMAL = 2 ** -126;
/** Must match WORKGROUP_SIZE in quantize.wgsl. */
const WORKGROUP_SIZE = 64;
/** Default bound on the input bytes per chunk: large enough to keep the GPU busy, small enough to stage cheaply. */
const MAX_CHUNK_BYTES = 32 << 20;
/** Params in quantize.wgsl: units, zero. */
const PARAMS_BYTES = 8;

export interface GpuQuantizerOptions {
  /** Input bytes uploaded per dispatch at most (default 32 MiB, and never more than the device's buffer limits). */
  readonly maxChunkBytes?: number;
}

/** A quantizer on `device`; its pipelines compile on first use of each type. */
export function createGpuQuantizer(device: GPUDevice, options: GpuQuantizerOptions = {}): GpuQuantizer {
  const limits = device.limits;
  const maxInputBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, options.maxChunkBytes ?? MAX_CHUNK_BYTES);
  const module = device.createShaderModule({ label: 'quantize.wgsl', code: quantizeShader });
  const bindGroupLayout = device.createBindGroupLayout({
    label: 'quantize',
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
    ],
  });
  const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] });
  const pipelines = new Map<string, Promise<GPUComputePipeline>>();

  function pipeline(entryPoint: string): Promise<GPUComputePipeline> {
    let cached = pipelines.get(entryPoint);
    if (!cached) {
      cached = device.createComputePipelineAsync({ label: entryPoint, layout, compute: { module, entryPoint } });
      pipelines.set(entryPoint, cached);
    }
    return cached;
  }

  async function quantize(type: GgmlTypeTraits, src: Float32Array): Promise<Uint8Array> {
    const kernel = KERNELS.get(type.id);
    if (!kernel) throw new UnsupportedTypeError(type.name, 'quantize');
    const out = new Uint8Array(tensorBytes(type, src.length)); // throws RangeError for a partial block
    const unitElements = type.blockSize * kernel.blocksPerUnit;
    const unitBytes = type.bytesPerBlock * kernel.blocksPerUnit;
    const gpuUnits = Math.floor(src.length / unitElements);
    const cpuUnits = unitsForCpu(src, kernel.groupSize, unitElements);

    if (gpuUnits > 0) {
      const chunkUnits = Math.min(gpuUnits, Math.max(1, Math.floor(maxInputBytes / (unitElements * 4))));
      await encodeOnGpu(await pipeline(kernel.entryPoint), src, out, gpuUnits, chunkUnits, unitElements, unitBytes);
    }

    // The CPU's share: flagged units, then the blocks after the last whole unit.
    for (const unit of cpuUnits) {
      const start = unit * unitElements;
      quantizeRow(type, src.subarray(start, start + unitElements), out.subarray(unit * unitBytes, (unit + 1) * unitBytes));
    }
    const tailStart = gpuUnits * unitElements;
    if (tailStart < src.length) quantizeRow(type, src.subarray(tailStart), out.subarray(gpuUnits * unitBytes));
    return out;
  }

  /** Runs the kernel over src's first `units` units, `chunkUnits` at a time, writing their bytes into out. */
  async function encodeOnGpu(
    kernelPipeline: GPUComputePipeline, src: Float32Array, out: Uint8Array,
    units: number, chunkUnits: number, unitElements: number, unitBytes: number,
  ): Promise<void> {
    const input = device.createBuffer({
      label: 'quantize input', size: chunkUnits * unitElements * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    const output = device.createBuffer({
      label: 'quantize output', size: chunkUnits * unitBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const readback = device.createBuffer({
      label: 'quantize readback', size: chunkUnits * unitBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const params = device.createBuffer({ label: 'quantize params', size: PARAMS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const bindGroup = device.createBindGroup({
      layout: bindGroupLayout,
      entries: [
        { binding: 0, resource: { buffer: input } },
        { binding: 1, resource: { buffer: output } },
        { binding: 2, resource: { buffer: params } },
      ],
    });
    try {
      for (let first = 0; first < units; first += chunkUnits) {
        const count = Math.min(chunkUnits, units - first);
        device.queue.writeBuffer(input, 0, src, first * unitElements, count * unitElements);
        device.queue.writeBuffer(params, 0, new Uint32Array([count, 0]));
        const encoder = device.createCommandEncoder({ label: 'quantize' });
        const pass = encoder.beginComputePass();
        pass.setPipeline(kernelPipeline);
        pass.setBindGroup(0, bindGroup);
        const [x, y] = dispatchSize(Math.ceil(count / WORKGROUP_SIZE), limits.maxComputeWorkgroupsPerDimension);
        pass.dispatchWorkgroups(x, y);
        pass.end();
        encoder.copyBufferToBuffer(output, 0, readback, 0, count * unitBytes);
        device.queue.submit([encoder.finish()]);
        await readback.mapAsync(GPUMapMode.READ, 0, count * unitBytes);
        out.set(new Uint8Array(readback.getMappedRange(0, count * unitBytes)), first * unitBytes);
        readback.unmap();
      }
    } finally {
      input.destroy();
      output.destroy();
      readback.destroy();
      params.destroy();
    }
  }

  return { supports: (type) => KERNELS.has(type.id), quantize };
}

/**
 * A quantizer on the default GPU of this page or worker, or undefined where WebGPU is missing or offers no adapter.
 * `gpu` defaults to navigator.gpu.
 */
export async function requestGpuQuantizer(gpu: GPU | undefined = globalThis.navigator?.gpu): Promise<GpuQuantizer | undefined> {
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return undefined;
  return createGpuQuantizer(await adapter.requestDevice());
}

/** Workgroups as x·y ≥ groups with x within the per-dimension limit (the shader folds y back into one index). */
function dispatchSize(groups: number, maxPerDimension: number): [x: number, y: number] {
  const x = Math.min(groups, maxPerDimension);
  return [x, Math.ceil(groups / x)];
}

/**
 * Checks that every value is finite (throwing QuantizeInputError otherwise) and lists the units that the CPU encodes:
 * those holding a group whose largest magnitude is in (0, SMALL_GROUP_LIMIT), or a subnormal value.
 */
function unitsForCpu(src: Float32Array, groupSize: number, unitElements: number): number[] {
  const flagged: number[] = [];
  const wholeUnitsEnd = Math.floor(src.length / unitElements) * unitElements;
  // Plain float conversions have no groups: one pass over everything checks that it is finite.
  const step = groupSize > 0 ? groupSize : Math.max(1, src.length);
  for (let start = 0; start < src.length; start += step) {
    const end = Math.min(src.length, start + step);
    let largest = 0;
    let hasSubnormal = false;
    for (let i = start; i < end; i++) {
      const v = src[i]!;
      // v - v is 0 for every finite number and NaN for NaN and ±Infinity.
      if (v - v !== 0) throw new QuantizeInputError(undefined, `value ${v} at index ${i} is not finite`);
      const magnitude = Math.abs(v);
      if (magnitude > largest) largest = magnitude;
      if (magnitude < F32_MIN_NORMAL && magnitude !== 0) hasSubnormal = true;
    }
    const needsCpu = (largest !== 0 && largest < SMALL_GROUP_LIMIT) || hasSubnormal;
    if (groupSize === 0 || !needsCpu || start >= wholeUnitsEnd) continue;
    const unit = Math.floor(start / unitElements);
    if (flagged[flagged.length - 1] !== unit) flagged.push(unit);
  }
  return flagged;
}
