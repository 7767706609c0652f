// shaders/matmul-tiled.wgsl against a float64 product of the dequantized weight (src/quant) and the same activations,
// for every weight type the backend reads, on shapes that are not multiples of the tile, with weights split into parts
// and activations and outputs at offsets inside their buffers. Runs on SwiftShader: small shapes.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import dequantShader from '../../../shaders/dequant.wgsl?raw';
import tiledShader from '../../../shaders/matmul-tiled.wgsl?raw';
import { dequantize } from '../../quant/dequantize';
import { quantizeTensor } from '../../quant/quantize';
import { ggmlTypeByName, tensorBytes, type GgmlTypeTraits } from '../../quant/types';
import { createTestDevice, uncapturedErrors } from './test-gpu';

/** Must match TILE_ROWS and TILE_TOKENS in matmul-tiled.wgsl. */
const TILE_ROWS = 64;
const TILE_TOKENS = 64;
/** Written around the output; the kernel must leave it alone. */
const SENTINEL = -12345;
/**
 * Element offsets of the activations and the output inside their buffers (not multiples of anything), and how many
 * sentinels follow the output.
 */
const X_OFFSET = 5;
const OUT_OFFSET = 3;
const OUT_TAIL = 2;

let device: GPUDevice;
let layout: GPUBindGroupLayout;
let module: GPUShaderModule;
const pipelines = new Map<number, GPUComputePipeline>();

beforeAll(async () => {
  device = await createTestDevice();
  layout = device.createBindGroupLayout({
    entries: (['read-only-storage', 'read-only-storage', 'storage', 'uniform'] as const).map((type, binding) => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type },
    })),
  });
  device.pushErrorScope('validation');
  module = device.createShaderModule({ label: 'matmul-tiled.wgsl', code: dequantShader + tiledShader });
  const error = await device.popErrorScope();
  const messages = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (error || messages.length > 0) {
    const details = messages.map((m) => `line ${m.lineNum}: ${m.message}`);
    throw new Error(`matmul-tiled.wgsl does not compile: ${[error?.message, ...details].join('; ')}`);
  }
});
afterAll(() => device?.destroy());
afterEach(() => expect(uncapturedErrors).toEqual([]));

function type(name: string): GgmlTypeTraits {
  const traits = ggmlTypeByName(name);
  if (!traits) throw new Error(`unknown type ${name}`);
  return traits;
}

async function pipeline(traits: GgmlTypeTraits): Promise<GPUComputePipeline> {
  let found = pipelines.get(traits.id);
  if (!found) {
    device.pushErrorScope('validation');
    found = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'matmul_tiled', constants: { WEIGHT_TYPE: traits.id } },
    });
    const error = await device.popErrorScope();
    if (error) throw new Error(`matmul_tiled pipeline for ${traits.name}: ${error.message}`);
    pipelines.set(traits.id, found);
  }
  return found;
}

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32). */
function randomValues(n: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

function storage(bytes: Uint8Array, usage = 0): GPUBuffer {
  // Buffer sizes and writes go by whole words.
  const padded = new Uint8Array(Math.max(4, Math.ceil(bytes.length / 4) * 4));
  padded.set(bytes);
  const buffer = device.createBuffer({ size: padded.length, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | usage });
  device.queue.writeBuffer(buffer, 0, padded);
  return buffer;
}

function floatBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

async function readBack(buffer: GPUBuffer): Promise<Float32Array> {
  const staging = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return values;
}

interface Shape {
  readonly rows: number;
  readonly cols: number;
  readonly tokens: number;
  /** Rows of each weight part, in order (default: one part). */
  readonly parts?: readonly number[];
  /** Workgroups along x at most; the row tiles spill over into y (default: all along x). */
  readonly groupsX?: number;
}

/**
 * Runs the tiled kernel on a random weight of `name` and random activations, one dispatch per weight part as the
 * backend does, and returns the output buffer's contents with the float64 reference of the output region.
 */
async function multiply(name: string, { rows, cols, tokens, parts = [rows], groupsX }: Shape, seed: number) {
  const traits = type(name);
  const values = randomValues(rows * cols, seed);
  const bytes = quantizeTensor(traits, values, cols);
  const weight = dequantize(traits, bytes, rows * cols);
  const x = randomValues(tokens * cols, seed + 1);
  const rowBytes = tensorBytes(traits, cols);

  const xWithOffset = new Float32Array(X_OFFSET + x.length);
  xWithOffset.set(x, X_OFFSET);
  const xBuffer = storage(floatBytes(xWithOffset));
  const outWithSentinels = new Float32Array(OUT_OFFSET + tokens * rows + OUT_TAIL).fill(SENTINEL);
  const outBuffer = storage(floatBytes(outWithSentinels), GPUBufferUsage.COPY_SRC);
  const created = [xBuffer, outBuffer];

  const encoder = device.createCommandEncoder();
  let firstRow = 0;
  for (const partRows of parts) {
    const partBuffer = storage(bytes.subarray(firstRow * rowBytes, (firstRow + partRows) * rowBytes));
    const tiles = Math.ceil(partRows / TILE_ROWS);
    const alongX = Math.min(groupsX ?? tiles, tiles);
    const params = new Uint32Array([partRows, cols, tokens, rowBytes, firstRow, X_OFFSET, OUT_OFFSET, rows, alongX]);
    const uniform = device.createBuffer({ size: params.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(uniform, 0, params);
    created.push(partBuffer, uniform);
    const bindGroup = device.createBindGroup({
      layout,
      entries: [partBuffer, xBuffer, outBuffer, uniform].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass();
    pass.setPipeline(await pipeline(traits));
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(alongX, Math.ceil(tiles / alongX), Math.ceil(tokens / TILE_TOKENS));
    pass.end();
    firstRow += partRows;
  }
  expect(firstRow).toBe(rows);
  device.queue.submit([encoder.finish()]);
  const actual = await readBack(outBuffer);
  for (const buffer of created) buffer.destroy();

  const expected = new Float64Array(tokens * rows);
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += weight[r * cols + c]! * x[t * cols + c]!;
      expected[t * rows + r] = sum;
    }
  }
  return { actual, expected };
}

/** ‖actual − expected‖ / ‖expected‖ over the output region, once the values around it are checked untouched. */
function relativeError({ actual, expected }: { actual: Float32Array; expected: Float64Array }): number {
  const region = actual.subarray(OUT_OFFSET, OUT_OFFSET + expected.length);
  const around = [...actual.subarray(0, OUT_OFFSET), ...actual.subarray(OUT_OFFSET + expected.length)];
  expect(around).toEqual(new Array(OUT_OFFSET + OUT_TAIL).fill(SENTINEL));
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    difference += (region[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(difference / norm);
}

const TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

describe('tiled matmul', () => {
  it.each(TYPES)('%s: two weight parts, partial tiles of rows and tokens', async (name) => {
    // Three blocks of the 32-value formats (three chunks), two k-quant super-blocks; the first part spills into y.
    const cols = type(name).blockSize === 256 ? 512 : 96;
    const shape = { rows: 130, cols, tokens: 70, parts: [67, 63], groupsX: 1 };
    expect(relativeError(await multiply(name, shape, 11))).toBeLessThan(1e-4);
  });

  it.each([
    ['Q4_0', { rows: 1, cols: 32, tokens: 1 }],
    ['Q8_0', { rows: 5, cols: 64, tokens: 5 }],
    ['Q6_K', { rows: 1, cols: 256, tokens: 70 }],
    // F32 rows need not fill the last chunk.
    ['F32', { rows: 67, cols: 33, tokens: 5 }],
    // Three row tiles over 2 × 2 workgroups: one workgroup has no rows.
    ['Q4_0', { rows: 130, cols: 64, tokens: 1, groupsX: 2 }],
  ] as const)('%s: %o', async (name, shape) => {
    expect(relativeError(await multiply(name, shape, 23))).toBeLessThan(1e-4);
  });

  it('Q4_K: a larger product with full and partial tiles', async () => {
    const shape = { rows: 200, cols: 1024, tokens: 130, parts: [128, 72] };
    expect(relativeError(await multiply('Q4_K', shape, 31))).toBeLessThan(1e-4);
  });
});
