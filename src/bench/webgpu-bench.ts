// WebGPU speed figures against the GPU's own memory roofline: the read bandwidth of one large buffer, the time of
// each decode matrix-vector product (one token, every weight type, model-sized shapes), decode attention over long
// caches, and whole-model prefill and decode of a random-weight Llama. Runs in Node on Dawn: on SwiftShader as part
// of `npm run bench`, and on a machine with a real GPU through src/bench/webgpu-main.ts.

import { tmpdir } from 'node:os';
import path from 'node:path';
import { openAsBlob } from 'node:fs';
import { rm } from 'node:fs/promises';
import readBandwidthShader from '../../shaders/read-bandwidth.wgsl?raw';
import { KV_BYTES_PER_VALUE, type Backend } from '../backend/backend';
import { WebGpuBackend, type WebGpuBackendOptions } from '../backend/webgpu/webgpu-backend';
import { FileSink } from '../cli/file-sink';
import { generateAll } from '../engine/generate';
import { writeGguf } from '../formats/gguf-writer';
import { loadModel } from '../model/model';
import { quantizeRow } from '../quant/quantize';
import { GgmlType, ggmlType, ggmlTypeNamed, tensorBytes, type GgmlTypeTraits } from '../quant/types';
import { llamaMetadata, llamaTensors, parameterCount, type LlamaShape } from './bench-models';

/** A decode product: a weight of `rows` × `cols` times one activation vector. */
export interface MatvecShape {
  /** What the shape is in a model, e.g. "ffn_down 8B". */
  label: string;
  rows: number;
  cols: number;
}

export interface AttentionShape {
  nCtx: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
}

export interface WebGpuBenchOptions {
  matvecTypes: string[];
  matvecShapes: MatvecShape[];
  attentionShapes: AttentionShape[];
  models: { name: string; shape: LlamaShape; type: string; promptTokens: number; decodeTokens: number }[];
  /** Bytes of the bandwidth probe's buffer. */
  bandwidthBytes: number;
  /** Each timed loop runs until it has taken about this long. */
  targetMs: number;
  /** Kernel choices (default: the backend's own for this adapter). */
  kernels?: Pick<WebGpuBackendOptions, 'matvec' | 'prefill' | 'attention' | 'subgroups'>;
  log: (line: string) => void;
}

export interface MatvecResult {
  type: string;
  label: string;
  rows: number;
  cols: number;
  weightBytes: number;
  ms: number;
  gbPerSecond: number;
  /** gbPerSecond ÷ the measured read bandwidth. */
  roofline: number;
}

export interface AttentionResult extends AttentionShape {
  /** Keys and values read. */
  cacheBytes: number;
  ms: number;
  gbPerSecond: number;
  roofline: number;
}

export interface ModelResult {
  name: string;
  type: string;
  parameters: number;
  promptTokens: number;
  decodeTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** Weights read per decoded token (all but the embedding) plus the KV cache at the mean decode position. */
  bytesPerToken: number;
  /** Read bandwidth ÷ bytesPerToken. */
  rooflineTokensPerSecond: number;
}

export interface WebGpuBenchReport {
  adapter: { vendor: string; architecture: string; description: string; software: boolean };
  features: string[];
  /** The decode kernels that ran (WebGpuBackend.kernels). */
  kernels: string;
  readGBps: number;
  matvec: MatvecResult[];
  attention: AttentionResult[];
  models: ModelResult[];
}

/** Shapes of Llama 3 8B and TinyLlama 1.1B decode products (rows × cols of the GGUF weights). */
export const LLAMA_MATVEC_SHAPES: MatvecShape[] = [
  { label: 'attn_q 8B', rows: 4096, cols: 4096 },
  { label: 'ffn_up 8B', rows: 14336, cols: 4096 },
  { label: 'ffn_down 8B', rows: 4096, cols: 14336 },
  { label: 'output 8B', rows: 128256, cols: 4096 },
  { label: 'ffn_up 1.1B', rows: 5632, cols: 2048 },
];

/** Every weight type the backends run. */
export const MATVEC_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

/** Random-weight Llamas of about 1.1B and 5.9B parameters (grouped-query attention, 8 KV heads). */
const LLAMA_1B: LlamaShape = { nEmbd: 2048, nLayers: 16, nHeads: 32, nKvHeads: 8, nFf: 8192, nVocab: 32000, nCtx: 4096 };
const LLAMA_6B: LlamaShape = { nEmbd: 4096, nLayers: 32, nHeads: 32, nKvHeads: 8, nFf: 11008, nVocab: 32000, nCtx: 4096 };

/** For a real GPU: every type at model-sized shapes, long caches, whole models of 1.1B and 5.9B parameters. */
export function hardwareBench(quick: boolean, log: (line: string) => void): WebGpuBenchOptions {
  return {
    matvecTypes: quick ? ['F16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] : MATVEC_TYPES,
    matvecShapes: LLAMA_MATVEC_SHAPES,
    attentionShapes: [512, 4096, 16384].map((nCtx) => ({ nCtx, nHeads: 32, nKvHeads: 8, headDim: 128 })),
    models: [
      { name: 'llama-1.1B', shape: LLAMA_1B, type: 'Q4_0', promptTokens: 512, decodeTokens: 128 },
      ...(quick ? [] : [{ name: 'llama-1.1B', shape: LLAMA_1B, type: 'Q8_0', promptTokens: 512, decodeTokens: 128 }]),
      { name: 'llama-5.9B', shape: LLAMA_6B, type: 'Q4_0', promptTokens: 512, decodeTokens: 64 },
    ],
    bandwidthBytes: 1 << 30,
    targetMs: 200,
    log,
  };
}

/** For SwiftShader (CPU-backed): every type at one small shape, a short cache, no whole model; about half a minute. */
export function softwareBench(log: (line: string) => void): WebGpuBenchOptions {
  return {
    matvecTypes: MATVEC_TYPES,
    matvecShapes: [{ label: 'ffn_up 60M', rows: 1376, cols: 512 }],
    attentionShapes: [{ nCtx: 512, nHeads: 8, nKvHeads: 8, headDim: 64 }],
    models: [],
    bandwidthBytes: 64 << 20,
    targetMs: 100,
    log,
  };
}

export async function benchWebGpu(gpu: GPU, options: WebGpuBenchOptions): Promise<WebGpuBenchReport> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter');
  const { vendor, architecture, description, isFallbackAdapter } = adapter.info;
  const software = isFallbackAdapter || /swiftshader/i.test(`${vendor} ${architecture} ${description}`);
  const wanted = (['subgroups', 'shader-f16', 'timestamp-query'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures: wanted,
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  });
  const log = options.log;
  const kernels = options.kernels ?? {};
  try {
    const probe = await WebGpuBackend.create({ device, ...kernels });
    const kernelNames = probe.kernels;
    probe.dispose();
    const readGBps = (await measureGpuReadBandwidth(device, options.bandwidthBytes, options.targetMs)) / 1e9;
    log(`webgpu: ${vendor} ${architecture} ${description}, ${kernelNames}: read bandwidth ${readGBps.toFixed(1)} GB/s`);
    const matvec: MatvecResult[] = [];
    for (const typeName of options.matvecTypes) {
      const type = ggmlTypeNamed(typeName);
      for (const shape of options.matvecShapes) {
        const result = await timeMatvec(device, kernels, type, shape, options.targetMs, readGBps);
        log(`webgpu matvec ${typeName} ${shape.label}: ${result.ms.toFixed(3)} ms, ${result.gbPerSecond.toFixed(1)} GB/s`);
        matvec.push(result);
      }
    }
    const attention: AttentionResult[] = [];
    for (const shape of options.attentionShapes) {
      const result = await timeAttention(device, kernels, shape, options.targetMs, readGBps);
      log(`webgpu attention ctx ${shape.nCtx}: ${result.ms.toFixed(3)} ms, ${result.gbPerSecond.toFixed(1)} GB/s`);
      attention.push(result);
    }
    const models: ModelResult[] = [];
    for (const model of options.models) {
      const result = await runModel(device, kernels, model, readGBps, log);
      log(`webgpu ${model.name} ${model.type}: prefill ${result.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s`);
      models.push(result);
    }
    return { adapter: { vendor, architecture, description, software }, features: [...device.features].sort(), kernels: kernelNames, readGBps, matvec, attention, models };
  } finally {
    device.destroy();
  }
}

type BackendKernels = NonNullable<WebGpuBenchOptions['kernels']>;


/** Bytes per second of a kernel that reads one buffer once (shaders/read-bandwidth.wgsl), the best of a few runs. */
async function measureGpuReadBandwidth(device: GPUDevice, requestedBytes: number, targetMs: number): Promise<number> {
  const bytes = Math.min(requestedBytes, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) & ~15;
  const invocations = 256 * 1024;
  const data = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
  const sink = device.createBuffer({ size: invocations * 4, usage: GPUBufferUsage.STORAGE });
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, new Uint32Array([bytes / 16, invocations]));
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: readBandwidthShader }), entryPoint: 'read_all' },
  });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [data, sink, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const run = async (times: number) => {
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < times; i++) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(invocations / 256);
      pass.end();
    }
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  try {
    const seconds = await timePerRun(run, targetMs);
    return bytes / seconds;
  } finally {
    for (const buffer of [data, sink, params]) buffer.destroy();
  }
}

/**
 * Seconds per run of `run(times)` (which runs something `times` times and waits for it): the count grows until one
 * call takes about targetMs, then the best of three calls counts.
 */
async function timePerRun(run: (times: number) => Promise<void>, targetMs: number): Promise<number> {
  await run(1);
  let times = 1;
  for (;;) {
    const start = performance.now();
    await run(times);
    const ms = performance.now() - start;
    if (ms >= targetMs / 4 || times >= 4096) {
      times = Math.max(1, Math.min(4096, Math.round((times * targetMs) / Math.max(ms, 1e-3))));
      break;
    }
    times *= 4;
  }
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await run(times);
    best = Math.min(best, (performance.now() - start) / times);
  }
  return best / 1000;
}

/**
 * GGUF bytes of `elements` values of `type`: a block-aligned pattern of quantized random values, repeated (a
 * product's speed does not depend on the values, and quantizing hundreds of MB in the reference encoders is slow).
 */
export function patternWeights(type: GgmlTypeTraits, elements: number): Uint8Array {
  const patternValues = 64 * 1024;
  const values = new Float32Array(patternValues);
  let state = 0x2545f491;
  for (let i = 0; i < values.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = ((state >>> 0) / 2 ** 32 - 0.5) * 0.1;
  }
  const pattern = new Uint8Array(tensorBytes(type, patternValues));
  if (type.name === 'F32') pattern.set(new Uint8Array(values.buffer));
  else quantizeRow(type, values, pattern);
  const out = new Uint8Array(tensorBytes(type, elements));
  for (let offset = 0; offset < out.length; offset += pattern.length) out.set(pattern.subarray(0, out.length - offset), offset);
  return out;
}

function randomVector(backend: Backend, length: number) {
  const buffer = backend.createBuffer(length);
  backend.write(buffer, Float32Array.from({ length }, (_, i) => Math.sin(i * 0.37)));
  return buffer;
}

async function timeMatvec(device: GPUDevice, kernels: BackendKernels, type: GgmlTypeTraits, shape: MatvecShape, targetMs: number, readGBps: number): Promise<MatvecResult> {
  const backend = await WebGpuBackend.create({ device, ...kernels });
  try {
    const bytes = patternWeights(type, shape.rows * shape.cols);
    const weight = backend.uploadWeight({ name: `${type.name} ${shape.label}`, type, shape: [shape.cols, shape.rows] }, bytes);
    await backend.checkHealth();
    const x = randomVector(backend, shape.cols);
    const out = backend.createBuffer(shape.rows);
    const firstValue = backend.view(out, 0, 1);
    const seconds = await timePerRun(async (times) => {
      for (let i = 0; i < times; i++) backend.matmul(weight, x, out, 1);
      await backend.read(firstValue);
    }, targetMs);
    const gbPerSecond = bytes.length / seconds / 1e9;
    return { type: type.name, label: shape.label, rows: shape.rows, cols: shape.cols, weightBytes: bytes.length, ms: seconds * 1000, gbPerSecond, roofline: gbPerSecond / readGBps };
  } finally {
    backend.dispose();
  }
}

async function timeAttention(device: GPUDevice, kernels: BackendKernels, shape: AttentionShape, targetMs: number, readGBps: number): Promise<AttentionResult> {
  const backend = await WebGpuBackend.create({ device, ...kernels });
  try {
    const { nCtx, nHeads, nKvHeads, headDim } = shape;
    const cache = backend.createKvCache(1, nCtx, nKvHeads * headDim);
    const q = randomVector(backend, nHeads * headDim);
    const out = backend.createBuffer(nHeads * headDim);
    const firstValue = backend.view(out, 0, 1);
    const params = { nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
    const seconds = await timePerRun(async (times) => {
      for (let i = 0; i < times; i++) backend.attention(q, cache, 0, out, nCtx - 1, 1, params);
      await backend.read(firstValue);
    }, targetMs);
    const cacheBytes = 2 * nCtx * nKvHeads * headDim * KV_BYTES_PER_VALUE;
    const gbPerSecond = cacheBytes / seconds / 1e9;
    return { ...shape, cacheBytes, ms: seconds * 1000, gbPerSecond, roofline: gbPerSecond / readGBps };
  } finally {
    backend.dispose();
  }
}

/** Writes a random-weight Llama (pattern weights of `type`, f32 norms) to a temporary GGUF, runs it, deletes it. */
async function runModel(device: GPUDevice, kernels: BackendKernels, model: WebGpuBenchOptions['models'][number], readGBps: number, log: (line: string) => void): Promise<ModelResult> {
  const type = ggmlTypeNamed(model.type);
  const f32 = ggmlType(GgmlType.F32);
  const file = path.join(tmpdir(), `quantscope-webgpu-bench-${model.name}-${model.type}.gguf`);
  const tensors = llamaTensors(model.shape).map((spec) => {
    const elements = spec.shape.reduce((a, b) => a * b, 1);
    const tensorType = spec.shape.length === 1 ? f32 : type;
    return {
      name: spec.name,
      shape: spec.shape,
      type: tensorType,
      data: () => (tensorType === f32 ? new Uint8Array(new Float32Array(elements).fill(1).buffer) : patternWeights(type, elements)),
    };
  });
  log(`webgpu: writing ${file} (${(parameterCount(model.shape) / 1e9).toFixed(2)}B parameters, ${model.type})`);
  await FileSink.writeAtomically(file, (sink) => writeGguf(sink, { version: 3, kv: llamaMetadata(model.shape, model.name), tensors }));
  const backend = await WebGpuBackend.create({ device, ...kernels });
  try {
    const lm = await loadModel(await openAsBlob(file), backend);
    await backend.checkHealth();
    const prompt = Array.from({ length: model.promptTokens }, (_, i) => 1 + ((i * 7919) % (model.shape.nVocab - 1)));
    const nCtx = model.promptTokens + model.decodeTokens + 1;
    const run = () => generateAll(lm, prompt, { maxTokens: model.decodeTokens, temperature: 0, stopTokens: [], nCtx });
    await run(); // compiles the pipelines
    const { stats } = await run();
    const bytesPerToken =
      tensors.filter((t) => t.name !== 'token_embd.weight').reduce((sum, t) => sum + tensorBytes(t.type, t.shape.reduce((a, b) => a * b, 1)), 0) +
      2 * model.shape.nLayers * (model.promptTokens + model.decodeTokens / 2) * lm.hparams.nKvHeads * lm.hparams.headDim * KV_BYTES_PER_VALUE;
    return {
      name: model.name,
      type: model.type,
      parameters: parameterCount(model.shape),
      promptTokens: stats.promptTokens,
      decodeTokens: stats.generatedTokens,
      prefillTokensPerSecond: (stats.promptTokens * 1000) / stats.promptMs,
      // The first generated token comes from the prefill's logits: generateMs covers generatedTokens − 1 passes.
      decodeTokensPerSecond: ((stats.generatedTokens - 1) * 1000) / stats.generateMs,
      bytesPerToken,
      rooflineTokensPerSecond: (readGBps * 1e9) / bytesPerToken,
    };
  } finally {
    backend.dispose();
    await rm(file, { force: true });
  }
}

/** The report as text tables. */
export function formatWebGpuReport(report: WebGpuBenchReport): string {
  const { adapter } = report;
  const pct = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;
  const lines = [
    `adapter: ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' / ')}${adapter.software ? ' (software: CPU-backed, figures say little about GPUs)' : ''}`,
    `features: ${report.features.join(', ') || 'none'}`,
    `kernels: ${report.kernels}`,
    `read bandwidth: ${report.readGBps.toFixed(1)} GB/s = the roofline`,
    '',
    'decode matrix-vector products (1 token): time per product, weight bytes read per second, % of roofline',
    ['type'.padEnd(6), 'shape'.padEnd(22), 'MB'.padStart(8), 'ms'.padStart(9), 'GB/s'.padStart(8), '%roof'.padStart(7)].join(' '),
    ...report.matvec.map((r) =>
      [r.type.padEnd(6), `${r.label} ${r.rows}x${r.cols}`.padEnd(22), (r.weightBytes / 1e6).toFixed(1).padStart(8), r.ms.toFixed(3).padStart(9), r.gbPerSecond.toFixed(1).padStart(8), pct(r.roofline).padStart(7)].join(' '),
    ),
  ];
  if (report.attention.length > 0) {
    lines.push('', 'decode attention (1 query token over the cache; f32 keys and values)');
    lines.push(['ctx'.padStart(6), 'heads'.padStart(6), 'kv'.padStart(4), 'dim'.padStart(4), 'MB'.padStart(8), 'ms'.padStart(9), 'GB/s'.padStart(8), '%roof'.padStart(7)].join(' '));
    for (const r of report.attention) {
      lines.push([r.nCtx, r.nHeads, r.nKvHeads, r.headDim].map((v, i) => String(v).padStart([6, 6, 4, 4][i]!)).join(' ') + ' ' + [(r.cacheBytes / 1e6).toFixed(1).padStart(8), r.ms.toFixed(3).padStart(9), r.gbPerSecond.toFixed(1).padStart(8), pct(r.roofline).padStart(7)].join(' '));
    }
  }
  if (report.models.length > 0) {
    lines.push('', 'random-weight Llama, greedy: prefill and decode tok/s; roofline = bandwidth ÷ (weights + KV) bytes per token');
    lines.push(['model'.padEnd(10), 'type'.padEnd(6), 'prompt'.padStart(6), 'prefill'.padStart(9), 'decode'.padStart(8), 'MB/tok'.padStart(8), 'roof'.padStart(8), '%roof'.padStart(7)].join(' '));
    for (const r of report.models) {
      lines.push([r.name.padEnd(10), r.type.padEnd(6), String(r.promptTokens).padStart(6), r.prefillTokensPerSecond.toFixed(1).padStart(9), r.decodeTokensPerSecond.toFixed(1).padStart(8), (r.bytesPerToken / 1e6).toFixed(1).padStart(8), r.rooflineTokensPerSecond.toFixed(0).padStart(8), pct(r.decodeTokensPerSecond / r.rooflineTokensPerSecond).padStart(7)].join(' '));
    }
  }
  return lines.join('\n');
}
