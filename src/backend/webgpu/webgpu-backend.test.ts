// Each WebGPU kernel against a CPU reference on random inputs, with shapes that are not multiples of the workgroup
// or token-group sizes: matmuls against the WASM backend (which rounds activations as llama.cpp does, like ours),
// the rest against the dequantizers of src/quant and plain loops. Runs on SwiftShader: small shapes.

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../formats/gguf';
import { LlamaModel } from '../../model/llama';
import { dequantize } from '../../quant/dequantize';
import { quantizeTensor } from '../../quant/quantize';
import { ggmlTypeNamed, type GgmlTypeTraits } from '../../quant/types';
import { BackendError, type AttentionParams, type Backend, type BackendBuffer } from '../backend';
import { ropeTable, WasmBackend } from '../wasm/wasm-backend';
import { createTestDevice, randomValues, uncapturedErrors } from './test-gpu';
import { GpuDeviceError, WebGpuBackend } from './webgpu-backend';

let backend: WebGpuBackend;
let cpu: WasmBackend;
beforeAll(async () => {
  backend = await WebGpuBackend.create({ device: await createTestDevice() });
  cpu = await WasmBackend.create();
});
afterAll(() => {
  backend?.dispose();
  cpu?.dispose();
});
afterEach(() => expect(uncapturedErrors).toEqual([]));

function upload(data: Float32Array): BackendBuffer {
  const buffer = backend.createBuffer(data.length);
  backend.write(buffer, data);
  return buffer;
}

function f32Weight(name: string, data: Float32Array) {
  return backend.uploadWeight({ name, type: ggmlTypeNamed('F32'), shape: [data.length] }, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Largest |a − b| relative to the largest |b|. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return err / scale;
}

const TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

describe.each(TYPES)('%s weights', (name) => {
  const traits = ggmlTypeNamed(name);
  const cols = traits.blockSize === 256 ? 512 : 96;
  const rows = 37;
  const values = randomValues(rows * cols, 7);
  const bytes = traits.id === 0 ? new Uint8Array(values.buffer) : quantizeTensor(traits, values, cols);
  const dequantized = dequantize(traits, bytes, rows * cols);

  it.each([1, 11])('matmul of %i tokens matches the WASM backend', async (nTokens) => {
    const info = { name, type: traits, shape: [cols, rows] };
    const x = randomValues(nTokens * cols, 100 + nTokens);
    const cpuOut = cpu.createBuffer(nTokens * rows);
    const cpuX = cpu.createBuffer(x.length);
    cpu.write(cpuX, x);
    cpu.matmul(cpu.uploadWeight(info, bytes), cpuX, cpuOut, nTokens);
    const out = backend.createBuffer(nTokens * rows);
    backend.matmul(backend.uploadWeight(info, bytes), upload(x), out, nTokens);
    // Q4_1 and Q5_1 meet Q8_1 activations, whose block sum llama.cpp stores as f16(d·Σq); activations.wgsl keeps
    // only the f16 scale, so their offset term differs slightly.
    const tolerance = name === 'Q4_1' || name === 'Q5_1' ? 5e-4 : 1e-4;
    expect(relativeError(await backend.read(out), await cpu.read(cpuOut))).toBeLessThan(tolerance);
  });

  it('embeds rows exactly as the dequantizer', async () => {
    const weight = backend.uploadWeight({ name, type: traits, shape: [cols, rows] }, bytes);
    const tokens = [3, 0, 36, 3];
    const out = backend.createBuffer(tokens.length * cols);
    backend.embed(weight, tokens, out);
    const expected = new Float32Array(tokens.length * cols);
    tokens.forEach((token, t) => expected.set(dequantized.subarray(token * cols, (token + 1) * cols), t * cols));
    expect(relativeError(await backend.read(out), expected)).toBeLessThan(1e-6);
  });
});

describe('weights larger than a buffer', () => {
  it('are split by rows for matmul and embed', async () => {
    const traits = ggmlTypeNamed('Q4_0');
    const [cols, rows] = [64, 23];
    const values = randomValues(rows * cols, 21);
    const bytes = quantizeTensor(traits, values, cols);
    const info = { name: 'split', type: traits, shape: [cols, rows] };
    // 36 bytes a row: parts of 5 rows.
    const split = await WebGpuBackend.create({ device: backend.device, maxWeightBufferBytes: 5 * 36 + 3 });
    const x = randomValues(3 * cols, 22);
    const whole = backend.createBuffer(3 * rows);
    backend.matmul(backend.uploadWeight(info, bytes), upload(x), whole, 3);
    const xs = split.createBuffer(x.length);
    split.write(xs, x);
    const parts = split.createBuffer(3 * rows);
    split.matmul(split.uploadWeight(info, bytes), xs, parts, 3);
    expect(await split.read(parts)).toEqual(await backend.read(whole));
    const embedded = split.createBuffer(2 * cols);
    split.embed(split.uploadWeight(info, bytes), [22, 4], embedded);
    const dequantized = dequantize(traits, bytes, rows * cols);
    const expected = new Float32Array(2 * cols);
    expected.set(dequantized.subarray(22 * cols, 23 * cols));
    expected.set(dequantized.subarray(4 * cols, 5 * cols), cols);
    expect(await split.read(embedded)).toEqual(expected);
    split.dispose();
  });
});

describe('decoding (one token)', () => {
  it('matches the WASM backend on rows split over buffers, columns not a multiple of the lanes', async () => {
    const traits = ggmlTypeNamed('Q5_1');
    const [cols, rows] = [160, 29];
    const bytes = quantizeTensor(traits, randomValues(rows * cols, 31), cols);
    const info = { name: 'decode', type: traits, shape: [cols, rows] };
    const x = randomValues(cols, 32);
    // 24 bytes a block, 5 blocks a row: parts of 4 rows.
    const split = await WebGpuBackend.create({ device: backend.device, maxWeightBufferBytes: 4 * 120 + 3 });
    const xs = split.createBuffer(cols);
    split.write(xs, x);
    const out = split.createBuffer(rows);
    split.matmul(split.uploadWeight(info, bytes), xs, out, 1);
    const cpuX = cpu.createBuffer(cols);
    cpu.write(cpuX, x);
    const cpuOut = cpu.createBuffer(rows);
    cpu.matmul(cpu.uploadWeight(info, bytes), cpuX, cpuOut, 1);
    expect(relativeError(await split.read(out), await cpu.read(cpuOut))).toBeLessThan(5e-4);
    split.dispose();
  });
});

describe('activation kernels', () => {
  it('rmsNorm normalizes rows, in place too', async () => {
    const n = 70;
    const rows = 3;
    const x = randomValues(n * rows, 1);
    const w = randomValues(n, 2);
    const expected = new Float32Array(n * rows);
    for (let r = 0; r < rows; r++) {
      let sq = 0;
      for (let i = 0; i < n; i++) sq += x[r * n + i]! ** 2;
      const scale = 1 / Math.sqrt(sq / n + 1e-5);
      for (let i = 0; i < n; i++) expected[r * n + i] = x[r * n + i]! * scale * w[i]!;
    }
    const buffer = upload(x);
    backend.rmsNorm(buffer, f32Weight('norm', w), buffer, rows, 1e-5);
    expect(relativeError(await backend.read(buffer), expected)).toBeLessThan(1e-5);
  });

  it('add, siluMul and addBias work on views', async () => {
    const n = 130;
    const a = randomValues(2 * n, 3);
    const b = randomValues(n, 4);
    const buffer = upload(a);
    const first = backend.view(buffer, 0, n);
    const second = backend.view(buffer, n, n);
    backend.add(second, upload(b), first);
    backend.siluMul(first, second, second);
    backend.addBias(buffer, f32Weight('bias', b.subarray(0, 65)), 4);
    const expected = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const sum = a[n + i]! + b[i]!;
      expected[i] = sum;
      expected[n + i] = (sum / (1 + Math.exp(-sum))) * a[n + i]!;
    }
    for (let i = 0; i < 2 * n; i++) expected[i]! += b[i % 65]!;
    expect(relativeError(await backend.read(buffer), expected)).toBeLessThan(1e-5);
  });

  it('keeps each dispatch its own parameters, over one bind group and past the first uniform buffer', async () => {
    // 5000 dispatches before one submit: more than the first uniform buffer's slots, all over the same buffers.
    const n = 40;
    const ones = upload(new Float32Array(n).fill(1));
    const sums = upload(new Float32Array(n));
    for (let i = 0; i < 5000; i++) {
      const offset = i % n;
      backend.add(backend.view(sums, offset, 1), backend.view(ones, offset, 1), backend.view(sums, offset, 1));
    }
    const expected = Float32Array.from({ length: n }, (_, i) => Math.floor(5000 / n) + (i < 5000 % n ? 1 : 0));
    expect(await backend.read(sums)).toEqual(expected);
    expect(uncapturedErrors).toEqual([]);
  });

  it.each([false, true])('rope rotates pairs (neox %s)', async (neox) => {
    const params = { nHeads: 3, headDim: 16, ropeDims: 12, freqBase: 10000, freqScale: 1, neox };
    const nTokens = 5;
    const startPos = 7;
    const x = randomValues(nTokens * 3 * 16, 5);
    const table = ropeTable(nTokens, startPos, params);
    const expected = x.slice();
    for (let t = 0; t < nTokens; t++) {
      for (let h = 0; h < 3; h++) {
        for (let p = 0; p < 6; p++) {
          const i0 = (t * 3 + h) * 16 + (neox ? p : 2 * p);
          const i1 = i0 + (neox ? 6 : 1);
          const [c, s] = [table[(t * 6 + p) * 2]!, table[(t * 6 + p) * 2 + 1]!];
          expected[i0] = x[i0]! * c - x[i1]! * s;
          expected[i1] = x[i0]! * s + x[i1]! * c;
        }
      }
    }
    const buffer = upload(x);
    backend.rope(buffer, nTokens, startPos, params);
    expect(relativeError(await backend.read(buffer), expected)).toBeLessThan(1e-5);
  });

  it('attention is causal and grouped over the f16 cache', async () => {
    const params = { nHeads: 6, nKvHeads: 2, headDim: 24, scale: 1 / Math.sqrt(24) };
    // Stored in two steps: a prompt of 9, then the 4 tokens attending.
    const { actual, expected } = await attentionAgainstReference(backend, params, 9, 4, { storeInSteps: true, seed: 10 });
    expect(relativeError(actual, expected)).toBeLessThan(1e-4);
  });

  it('rejects foreign handles and bad sizes with BackendError', () => {
    const buffer = backend.createBuffer(4);
    expect(() => backend.view(buffer, 2, 4)).toThrow(BackendError);
    expect(() => backend.add(buffer, backend.createBuffer(5), buffer)).toThrow(BackendError);
    expect(() => backend.add({ length: 4 }, buffer, buffer)).toThrow(BackendError);
  });
});

/**
 * `nTokens` queries at positions startPos … on `target`'s attention over random keys and values, and what a plain
 * softmax over the f16-rounded cache gives.
 */
async function attentionAgainstReference(
  target: Backend,
  params: AttentionParams,
  startPos: number,
  nTokens: number,
  { storeInSteps = false, seed = 0 } = {},
): Promise<{ actual: Float32Array; expected: Float32Array }> {
  const { nHeads, nKvHeads, headDim, scale } = params;
  const kvDim = nKvHeads * headDim;
  const total = startPos + nTokens;
  const keys = randomValues(total * kvDim, seed);
  const values = randomValues(total * kvDim, seed + 1);
  const q = randomValues(nTokens * nHeads * headDim, seed + 2);
  const send = (data: Float32Array) => {
    const buffer = target.createBuffer(data.length);
    target.write(buffer, data);
    return buffer;
  };
  const cache = target.createKvCache(2, total + 3, kvDim);
  const split = storeInSteps ? startPos : total;
  if (split > 0) target.storeKv(cache, 1, send(keys.subarray(0, split * kvDim)), send(values.subarray(0, split * kvDim)), 0, split);
  if (split < total) target.storeKv(cache, 1, send(keys.subarray(split * kvDim)), send(values.subarray(split * kvDim)), split, total - split);
  const out = target.createBuffer(q.length);
  target.attention(send(q), cache, 1, out, startPos, nTokens, params);
  // The cache holds f16 values.
  const f16 = ggmlTypeNamed('F16');
  const cachedKeys = dequantize(f16, quantizeTensor(f16, keys, kvDim), keys.length);
  const cachedValues = dequantize(f16, quantizeTensor(f16, values, kvDim), values.length);
  const expected = new Float32Array(q.length);
  for (let t = 0; t < nTokens; t++) {
    for (let h = 0; h < nHeads; h++) {
      const kvHead = Math.floor(h / (nHeads / nKvHeads));
      const query = q.subarray((t * nHeads + h) * headDim, (t * nHeads + h + 1) * headDim);
      const scores: number[] = [];
      for (let p = 0; p <= startPos + t; p++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += query[i]! * cachedKeys[p * kvDim + kvHead * headDim + i]!;
        scores.push(dot * scale);
      }
      const max = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - max));
      const sum = weights.reduce((a, b) => a + b, 0);
      for (let i = 0; i < headDim; i++) {
        let acc = 0;
        weights.forEach((w, p) => (acc += w * cachedValues[p * kvDim + kvHead * headDim + i]!));
        expected[(t * nHeads + h) * headDim + i] = acc / sum;
      }
    }
  }
  return { actual: await target.read(out), expected };
}

describe('kernel selection', () => {
  it('runs the SwiftShader kernels on a software adapter by default', () => {
    expect(backend.kernels).toBe('per-row matvec, per-row prefill, per-dim attention');
  });

  it('rejects subgroups on a device without them', async () => {
    const device = await createTestDevice({ subgroups: false });
    await expect(WebGpuBackend.create({ device, subgroups: true })).rejects.toThrow(BackendError);
    const shared = await WebGpuBackend.create({ device, matvec: 'cooperative', attention: 'split-k' });
    expect(shared.kernels).toBe('cooperative matvec (workgroup memory), per-row prefill, split-K attention');
    shared.dispose();
    device.destroy();
  });
});

/** The default backend's products (per-row kernels) and each target's, of `rows` random rows of `cols` weights with `nTokens` tokens. */
async function products(traits: GgmlTypeTraits, rows: number, cols: number, nTokens: number, targets: WebGpuBackend[]) {
  const values = randomValues(rows * cols, rows + cols);
  const bytes = traits.id === 0 ? new Uint8Array(values.buffer) : quantizeTensor(traits, values, cols);
  const info = { name: `${traits.name} ${rows}×${cols}`, type: traits, shape: [cols, rows] };
  const x = randomValues(nTokens * cols, 3 * nTokens + cols);
  const run = async (target: WebGpuBackend) => {
    const input = target.createBuffer(x.length);
    target.write(input, x);
    const out = target.createBuffer(nTokens * rows);
    target.matmul(target.uploadWeight(info, bytes), input, out, nTokens);
    return target.read(out);
  };
  const expected = await run(backend);
  const actual = await Promise.all(targets.map(run));
  return { expected, actual };
}

describe('the cooperative matvec (decoding on GPUs)', () => {
  /** One backend per way of summing across the workgroup (subgroupAdd, workgroup memory), against the per-row kernel of `backend`. */
  let variants: WebGpuBackend[] = [];
  beforeAll(async () => {
    expect(backend.device.features.has('subgroups')).toBe(true);
    variants = await Promise.all([true, false].map((subgroups) => WebGpuBackend.create({ device: backend.device, matvec: 'cooperative', subgroups })));
    expect(variants.map((variant) => variant.kernels)).toEqual([
      'cooperative matvec (subgroups), per-row prefill, per-dim attention',
      'cooperative matvec (workgroup memory), per-row prefill, per-dim attention',
    ]);
  });
  afterAll(() => variants.forEach((variant) => variant.dispose()));

  // One token (one pipeline per type: SwiftShader compiles each in about half a second); more tokens below.
  it.each(TYPES)('%s: 1, 37 and 300 rows of 1, 2 and 3 blocks match the per-row kernel', async (name) => {
    const traits = ggmlTypeNamed(name);
    // Float rows of odd length leave a partial last piece and alternate the word alignment of F16 rows.
    const lengths = traits.quantized ? [1, 2, 3].map((blocks) => blocks * traits.blockSize) : [32, 71, 96];
    for (const [rows, cols] of [[1, lengths[0]!], [37, lengths[1]!], [300, lengths[2]!]] as const) {
      const { expected, actual } = await products(traits, rows, cols, 1, variants);
      for (const result of actual) expect(relativeError(result, expected), `${rows} × ${cols}`).toBeLessThan(1e-5);
    }
  });

  it('takes 3 tokens of F16 rows of odd length, whose activation rows start off 4-value boundaries', async () => {
    const { expected, actual } = await products(ggmlTypeNamed('F16'), 37, 71, 3, variants);
    for (const result of actual) expect(relativeError(result, expected)).toBeLessThan(1e-5);
  });

  it('writes each part of a weight split over buffers to its own rows', async () => {
    // 68 bytes a Q8_0 row of 64: parts of 5 rows.
    const split = await WebGpuBackend.create({ device: backend.device, matvec: 'cooperative', maxWeightBufferBytes: 5 * 68 + 3 });
    const { expected, actual } = await products(ggmlTypeNamed('Q8_0'), 23, 64, 2, [split]);
    expect(relativeError(actual[0]!, expected)).toBeLessThan(1e-5);
    split.dispose();
  });

  it('matches the WASM backend on rows of 4096 Q4_0 weights', async () => {
    const traits = ggmlTypeNamed('Q4_0');
    const [rows, cols, nTokens] = [37, 4096, 4];
    const bytes = quantizeTensor(traits, randomValues(rows * cols, 41), cols);
    const info = { name: 'wide', type: traits, shape: [cols, rows] };
    const x = randomValues(nTokens * cols, 42);
    const cpuX = cpu.createBuffer(x.length);
    cpu.write(cpuX, x);
    const cpuOut = cpu.createBuffer(nTokens * rows);
    cpu.matmul(cpu.uploadWeight(info, bytes), cpuX, cpuOut, nTokens);
    const expected = await cpu.read(cpuOut);
    for (const target of variants) {
      const input = target.createBuffer(x.length);
      target.write(input, x);
      const out = target.createBuffer(nTokens * rows);
      target.matmul(target.uploadWeight(info, bytes), input, out, nTokens);
      expect(relativeError(await target.read(out), expected)).toBeLessThan(1e-4);
    }
  });
});

describe('the tiled prefill matmul (GPUs)', () => {
  // SwiftShader compiles a pipeline with workgroup memory in about 1.5 s, longer on a busy machine.
  it('matches the per-row kernel on batches and weights that do not fill its tiles, split over buffers', { timeout: 30_000 }, async () => {
    // 288 bytes a Q4_K row of 512: parts of 67 and 63 rows.
    const tiled = await WebGpuBackend.create({ device: backend.device, prefill: 'tiled', maxWeightBufferBytes: 67 * 288 + 3 });
    expect(tiled.kernels).toBe('per-row matvec, tiled prefill, per-dim attention');
    for (const [name, rows, cols, nTokens] of [['Q4_K', 130, 512, 70], ['F16', 5, 96, 5]] as const) {
      const { expected, actual } = await products(ggmlTypeNamed(name), rows, cols, nTokens, [tiled]);
      expect(relativeError(actual[0]!, expected), name).toBeLessThan(1e-5);
    }
    tiled.dispose();
  });
});

describe('split-K attention (decoding on GPUs)', () => {
  let splitK: WebGpuBackend;
  beforeAll(async () => {
    splitK = await WebGpuBackend.create({ device: backend.device, attention: 'split-k' });
  });
  afterAll(() => splitK.dispose());

  // Context lengths around the chunk of 128 positions; several query tokens see different numbers of chunks.
  it.each([
    [64, 1, 1],
    [64, 7, 1],
    [128, 300, 1],
    [64, 129, 1],
    [128, 129, 1],
    [64, 130, 3],
  ])('head dim %i, %i positions, %i query tokens, 8 heads over 2 KV heads', async (headDim, positions, nTokens) => {
    const params = { nHeads: 8, nKvHeads: 2, headDim, scale: 1 / Math.sqrt(headDim) };
    const { actual, expected } = await attentionAgainstReference(splitK, params, positions - nTokens, nTokens, { seed: positions });
    expect(relativeError(actual, expected)).toBeLessThan(1e-4);
  });

  it('falls back to the per-dim kernel for head dimensions it cannot take', async () => {
    const params = { nHeads: 4, nKvHeads: 4, headDim: 30, scale: 0.2 };
    const { actual, expected } = await attentionAgainstReference(splitK, params, 5, 1, { seed: 3 });
    expect(relativeError(actual, expected)).toBeLessThan(1e-4);
  });
});

describe('decoding whole models with the GPU kernels', () => {
  const FIXTURES = '../shared/fixtures';
  // F32 weights meet unrounded activations: the kernels differ only in the order of their sums. The Q4_K_M model's
  // activations are rounded to 8 bits, where a last-bit difference can tip a rounding, so it gets more room.
  it.each([
    ['stories260K-F32', `${FIXTURES}/models/stories260K.gguf`, 1e-4],
    ['random-llama-256x4-Q4_K_M', `${FIXTURES}/quant/random-llama-256x4/recipe/random-llama-256x4-Q4_K_M.gguf`, 2e-2],
  ])('%s: token by token, the logits match the SwiftShader kernels', { timeout: 30_000 }, async (golden, model, maxRelL2) => {
    const ref = JSON.parse(await readFile(`${FIXTURES}/golden/${golden}.ref.json`, 'utf8')) as { greedy: { prompt_ids: number[] } };
    // A short prompt (5 tokens: the prefill kernel) keeps SwiftShader quick; then single tokens: the decode kernels.
    const prompt = ref.greedy.prompt_ids.slice(0, 5);
    const tokens = ref.greedy.prompt_ids.slice(5, 8);
    const blob = await openAsBlob(model);
    const file = await readGguf(blob);
    const gpuKernels = await WebGpuBackend.create({ device: backend.device, matvec: 'cooperative', attention: 'split-k', prefill: 'tiled' });
    const decode = async (target: WebGpuBackend) => {
      const lm = await LlamaModel.load(blob, file, target, 64);
      const cache = lm.createCache(64);
      const steps = [await lm.forward(prompt, 0, cache, 'last')];
      // Teacher-forced single-token steps: the decode kernels.
      for (const [i, token] of tokens.entries()) steps.push(await lm.forward([token], prompt.length + i, cache, 'last'));
      return steps;
    };
    const [expected, actual] = [await decode(backend), await decode(gpuKernels)];
    actual.forEach((logits, step) => {
      let [errSq, refSq] = [0, 0];
      logits.forEach((v, i) => {
        errSq += (v - expected[step]![i]!) ** 2;
        refSq += expected[step]![i]! ** 2;
      });
      expect(Math.sqrt(errSq / refSq), `step ${step}`).toBeLessThan(maxRelL2);
    });
    gpuKernels.dispose();
  });
});

describe('a lost device', () => {
  it('turns reads, uploads and ops into GpuDeviceErrors', async () => {
    const device = await createTestDevice();
    const lost = await WebGpuBackend.create({ device });
    const buffer = lost.createBuffer(8);
    device.destroy();
    await expect(lost.read(buffer)).rejects.toThrow(GpuDeviceError);
    await device.lost;
    await expect(lost.checkHealth()).rejects.toThrow(/^WebGPU device lost/);
    const info = { name: 'late', type: ggmlTypeNamed('F32'), shape: [4] };
    expect(() => lost.uploadWeight(info, new Uint8Array(16))).toThrow(GpuDeviceError);
    expect(() => lost.add(buffer, buffer, lost.createBuffer(8))).toThrow(GpuDeviceError);
    lost.dispose();
  });
});
