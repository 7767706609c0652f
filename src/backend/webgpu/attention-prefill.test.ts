// shaders/attention-prefill.wgsl against a float64 causal softmax attention, on batches that fill partial blocks of
// queries and positions, with and without cached positions before the batch, head dimensions that fill partial
// slices, grouped KV heads, and the queries, output and cache layer at offsets inside their buffers. Runs on
// SwiftShader: one pipeline for every case (compiling one with workgroup memory takes seconds there).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import paramsShader from '../../../shaders/attention-params.wgsl?raw';
import prefillShader from '../../../shaders/attention-prefill.wgsl?raw';
import { compiledModule, createTestDevice, randomValues, readBack, regionError, storageBuffer, uncapturedErrors } from './test-gpu';

/** Must match BLOCK_Q in attention-prefill.wgsl. */
const BLOCK_Q = 16;
/** Written around the output; the kernel must leave it alone. */
const SENTINEL = -12345;
/** Element offsets of the queries and the output inside their buffers (not multiples of 4), and the words after them. */
const Q_OFFSET = 7;
const OUT_OFFSET = 5;
const TAIL = 3;
/** Cache slots past the batch, filled with NaN: the kernel must not let them into any sum. */
const SPARE_POSITIONS = 40;
const HEADS = 8;
const KV_HEADS = 2;
/** The kernel reads layer 1 of a two-layer cache. */
const LAYER = 1;

let device: GPUDevice;
let pipeline: GPUComputePipeline;
let layout: GPUBindGroupLayout;

beforeAll(async () => {
  device = await createTestDevice();
  layout = device.createBindGroupLayout({
    entries: (['read-only-storage', 'read-only-storage', 'read-only-storage', 'storage', 'uniform'] as const).map((type, binding) => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      // The backend binds its uniform parameters with a dynamic offset.
      buffer: { type, hasDynamicOffset: type === 'uniform' },
    })),
  });
  const module = await compiledModule(device, 'attention-prefill.wgsl', paramsShader + prefillShader);
  pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: 'attention_prefill' },
  });
});
afterAll(() => device?.destroy());
afterEach(() => expect(uncapturedErrors).toEqual([]));

interface Case {
  readonly headDim: number;
  readonly tokens: number;
  readonly startPos: number;
}

/** Random queries, keys and values; the kernel's whole output buffer and the float64 reference of its output region. */
async function attend({ headDim, tokens, startPos }: Case, seed: number) {
  const kvDim = KV_HEADS * headDim;
  const visible = startPos + tokens;
  const contextLength = visible + SPARE_POSITIONS;
  const layerWords = contextLength * kvDim;
  const queryWords = tokens * HEADS * headDim;
  const scale = 1 / Math.sqrt(headDim);

  const queries = randomValues(queryWords, seed);
  // Both layers random, then the slots of layer 1 past the batch NaN.
  const keys = randomValues(2 * layerWords, seed + 1);
  const values = randomValues(2 * layerWords, seed + 2);
  const layerStart = LAYER * layerWords;
  keys.fill(Number.NaN, layerStart + visible * kvDim, layerStart + layerWords);
  values.fill(Number.NaN, layerStart + visible * kvDim, layerStart + layerWords);

  const qWithOffset = new Float32Array(Q_OFFSET + queryWords + TAIL);
  qWithOffset.set(queries, Q_OFFSET);
  const qBuffer = storageBuffer(device, qWithOffset);
  const keyBuffer = storageBuffer(device, keys);
  const valueBuffer = storageBuffer(device, values);
  const outBuffer = storageBuffer(device, new Float32Array(OUT_OFFSET + queryWords + TAIL).fill(SENTINEL), GPUBufferUsage.COPY_SRC);
  // Params of attention-params.wgsl, in order (no chunks: those are split-K's).
  const params = new Uint32Array([tokens, startPos, HEADS, KV_HEADS, headDim, kvDim, 0, Q_OFFSET, OUT_OFFSET, layerStart, 0]);
  new Float32Array(params.buffer)[6] = scale;
  const uniform = device.createBuffer({ size: params.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, params);
  const bindGroup = device.createBindGroup({
    layout,
    entries: [qBuffer, keyBuffer, valueBuffer, outBuffer, uniform].map((buffer, binding) => ({
      binding,
      resource: { buffer, size: buffer.size },
    })),
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup, [0]);
  pass.dispatchWorkgroups(Math.ceil(tokens / BLOCK_Q), HEADS, 1);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const actual = await readBack(device, outBuffer);
  for (const buffer of [qBuffer, keyBuffer, valueBuffer, outBuffer, uniform]) buffer.destroy();

  const expected = new Float64Array(queryWords);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < HEADS; h++) {
      const kvStart = layerStart + Math.floor(h / (HEADS / KV_HEADS)) * headDim;
      const queryStart = (t * HEADS + h) * headDim;
      const scores: number[] = [];
      for (let p = 0; p <= startPos + t; p++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += queries[queryStart + i]! * keys[kvStart + p * kvDim + i]!;
        scores.push(dot * scale);
      }
      const max = Math.max(...scores);
      const weights = scores.map((score) => Math.exp(score - max));
      const sum = weights.reduce((a, b) => a + b, 0);
      for (let i = 0; i < headDim; i++) {
        let acc = 0;
        weights.forEach((weight, p) => (acc += weight * values[kvStart + p * kvDim + i]!));
        expected[queryStart + i] = acc / sum;
      }
    }
  }
  return { actual, expected };
}

const CASES: Case[] = [
  ...[64, 128].flatMap((headDim) =>
    [1, 5, 33, 70].flatMap((tokens) => [0, 100].map((startPos) => ({ headDim, tokens, startPos }))),
  ),
  // Not a multiple of 4: partial quads and a partial slice of dimensions.
  { headDim: 38, tokens: 5, startPos: 0 },
  { headDim: 38, tokens: 33, startPos: 100 },
  // The largest head: four slices of dimensions.
  { headDim: 256, tokens: 20, startPos: 40 },
];

describe('prefill attention (flash attention)', () => {
  it.each(CASES)('head_dim $headDim, $tokens tokens from position $startPos', async (shape) => {
    const seed = shape.headDim * 1000 + shape.tokens * 10 + shape.startPos;
    const { actual, expected } = await attend(shape, seed);
    expect(regionError(actual, expected, OUT_OFFSET, TAIL, SENTINEL)).toBeLessThan(1e-4);
  });
});
