// shaders/matmul-tiled.wgsl against a float64 product of the dequantized weight (src/quant) and the same activations,
// for every weight type the backend reads, on shapes that are not multiples of the tile, with weights split into parts
// and activations and outputs at offsets inside their buffers. Runs on SwiftShader: small shapes.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import dequantShader from '../../../shaders/dequant.wgsl?raw';
import paramsShader from '../../../shaders/matmul-params.wgsl?raw';
import tiledShader from '../../../shaders/matmul-tiled.wgsl?raw';
import piecesShader from '../../../shaders/pieces.wgsl?raw';
import { dequantize } from '../../quant/dequantize';
import { quantizeTensor } from '../../quant/quantize';
import { ggmlTypeNamed, type GgmlTypeTraits, tensorBytes } from '../../quant/types';
import { compiledModule, createTestDevice, randomValues, readBack, regionError, storageBuffer, uncapturedErrors } from './test-gpu';

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
  module = await compiledModule(device, 'matmul-tiled.wgsl', dequantShader + piecesShader + paramsShader + tiledShader);
});
afterAll(() => device?.destroy());
afterEach(() => expect(uncapturedErrors).toEqual([]));

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
  const traits = ggmlTypeNamed(name);
  const values = randomValues(rows * cols, seed);
  const bytes = quantizeTensor(traits, values, cols);
  const weight = dequantize(traits, bytes, rows * cols);
  const x = randomValues(tokens * cols, seed + 1);
  const rowBytes = tensorBytes(traits, cols);

  const xWithOffset = new Float32Array(X_OFFSET + x.length);
  xWithOffset.set(x, X_OFFSET);
  const xBuffer = storageBuffer(device, xWithOffset);
  const outWithSentinels = new Float32Array(OUT_OFFSET + tokens * rows + OUT_TAIL).fill(SENTINEL);
  const outBuffer = storageBuffer(device, outWithSentinels, GPUBufferUsage.COPY_SRC);
  const created = [xBuffer, outBuffer];

  const encoder = device.createCommandEncoder();
  let firstRow = 0;
  for (const partRows of parts) {
    const partBuffer = storageBuffer(device, bytes.subarray(firstRow * rowBytes, (firstRow + partRows) * rowBytes));
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
  const actual = await readBack(device, outBuffer);
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

/** The relative error of the tiled kernel's product over its output region (the values around it checked untouched). */
async function productError(name: string, shape: Shape, seed: number): Promise<number> {
  const { actual, expected } = await multiply(name, shape, seed);
  return regionError(actual, expected, OUT_OFFSET, OUT_TAIL, SENTINEL);
}

const TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

describe('tiled matmul', () => {
  it.each(TYPES)('%s: two weight parts, partial tiles of rows and tokens', async (name) => {
    // Three blocks of the 32-value formats (three chunks), two k-quant super-blocks; the first part spills into y.
    const cols = ggmlTypeNamed(name).blockSize === 256 ? 512 : 96;
    const shape = { rows: 130, cols, tokens: 70, parts: [67, 63], groupsX: 1 };
    expect(await productError(name, shape, 11)).toBeLessThan(1e-4);
  });

  it.each([
    ['Q4_0', { rows: 1, cols: 32, tokens: 1 }],
    ['Q8_0', { rows: 5, cols: 64, tokens: 5 }],
    ['Q6_K', { rows: 1, cols: 256, tokens: 70 }],
    // F32 rows need not fill the last chunk.
    ['F32', { rows: 67, cols: 33, tokens: 5 }],
    // F16 and BF16 rows of odd length alternate between word alignments, and need not fill their last piece.
    ['F16', { rows: 67, cols: 71, tokens: 5 }],
    ['BF16', { rows: 67, cols: 71, tokens: 5 }],
    // Three row tiles over 2 × 2 workgroups: one workgroup has no rows.
    ['Q4_0', { rows: 130, cols: 64, tokens: 1, groupsX: 2 }],
  ] as const)('%s: %o', async (name, shape) => {
    expect(await productError(name, shape, 23)).toBeLessThan(1e-4);
  });

  it('Q4_K: a larger product with full and partial tiles', async () => {
    const shape = { rows: 200, cols: 1024, tokens: 130, parts: [128, 72] };
    expect(await productError('Q4_K', shape, 31)).toBeLessThan(1e-4);
  });
});
