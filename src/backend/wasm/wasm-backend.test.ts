// Each WASM kernel against a plain TypeScript reference. Weights are real
// llama-quantize output (random-llama-256x4 --pure), and llama.cpp's own
// dequantization of them is the reference for every block layout.

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGguf, readTensorBytes } from '../../formats/gguf';
import { f16ToF32, f32ToBf16, bf16ToF32, f32ToF16 } from '../../quant/fp16';
import { dequantize } from '../../quant/dequantize';
import { quantizeTensor } from '../../quant/quantize';
import { ggmlTypeNamed, type GgmlTypeTraits } from '../../quant/types';
import { BackendError, topValuesOf, type BackendWeight } from '../backend';
import { createKernelMemory, instantiateKernels, loadKernelModule } from './load-kernels';
import { ropeTable, WasmBackend } from './wasm-backend';

const QUANT = '../shared/fixtures/quant/random-llama-256x4';
const TYPES = ['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];
const TENSORS = ['blk.1.attn_v.weight', 'blk.0.ffn_down.weight'];


/** Deterministic pseudo-random floats in [-scale, scale). */
function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 * 2 - 1) * scale;
  });
}

const roundF16 = (v: number) => f16ToF32(f32ToF16(v));

/** The activations a kernel multiplies with: llama.cpp's rounding of x for this weight type. */
function referenceActivations(weightType: GgmlTypeTraits, x: Float32Array): Float64Array {
  if (weightType.name === 'F32') return Float64Array.from(x);
  if (weightType.name === 'F16') return Float64Array.from(x, roundF16);
  if (weightType.name === 'BF16') return Float64Array.from(x, (v) => bf16ToF32(f32ToBf16(v)));
  const out = new Float64Array(x.length);
  if (weightType.blockSize === 256) {
    // Q8_K: the signed value of largest magnitude maps to −127.
    for (let b = 0; b < x.length; b += 256) {
      let max = 0;
      for (let i = b; i < b + 256; i++) if (Math.abs(x[i]!) > Math.abs(max)) max = x[i]!;
      const iscale = Math.fround(-127 / max);
      const d = Math.fround(1 / iscale);
      for (let i = b; i < b + 256; i++) out[i] = Math.min(127, roundHalfEven(Math.fround(iscale * x[i]!))) * d;
    }
    return out;
  }
  // Q8_0: d = amax / 127 stored as f16.
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]!));
    const id = amax ? Math.fround(127 / amax) : 0;
    const d = roundF16(Math.fround(amax / 127));
    for (let i = b; i < b + 32; i++) out[i] = roundHalfEven(Math.fround(x[i]! * id)) * d;
  }
  return out;
}

/** Index of the first element whose bits differ (−0 ≠ +0), or −1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const [ua, ub] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  if (ua.length !== ub.length) return Math.min(ua.length, ub.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The backend's product of `weight` with 6 tokens of random activations (a tile of 4 tokens and one of 2) against
 * float64 sums over the dequantized reference.
 */
async function expectMatmulMatches(backend: WasmBackend, weight: BackendWeight, reference: Float32Array): Promise<void> {
  const nTokens = 6;
  const x = randomFloats(nTokens * weight.cols, 7, 2);
  const input = backend.createBuffer(x.length);
  backend.write(input, x);
  const out = backend.createBuffer(nTokens * weight.rows);
  backend.matmul(weight, input, out, nTokens);
  const got = await backend.read(out);
  // Q4_1 / Q5_1 add min × (f16-rounded block sum of the activations): allow for that rounding.
  const typeName = weight.info.type.name;
  const relTolerance = typeName === 'Q4_1' || typeName === 'Q5_1' ? 2e-3 : 2e-6;
  for (let t = 0; t < nTokens; t++) {
    const a = referenceActivations(weight.info.type, x.subarray(t * weight.cols, (t + 1) * weight.cols));
    for (let r = 0; r < weight.rows; r++) {
      let sum = 0;
      let magnitude = 0;
      for (let c = 0; c < weight.cols; c++) {
        const p = reference[r * weight.cols + c]! * a[c]!;
        sum += p;
        magnitude += Math.abs(p);
      }
      expect(Math.abs(got[t * weight.rows + r]! - sum)).toBeLessThanOrEqual(relTolerance * magnitude + 1e-30);
    }
  }
}

describe('WASM backend kernels', () => {
  let backend: WasmBackend;
  beforeAll(async () => {
    backend = await WasmBackend.create();
  });

  describe.each(TYPES)('%s weights', (typeName) => {
    const loaded: { name: string; weight: BackendWeight; reference: Float32Array; bytes: Uint8Array }[] = [];
    beforeAll(async () => {
      const blob = await openAsBlob(`${QUANT}/pure/random-llama-256x4-${typeName}.gguf`);
      const file = await readGguf(blob);
      for (const name of TENSORS) {
        const info = file.tensors.find((t) => t.name === name)!;
        const bytes = await readTensorBytes(blob, info);
        const weight = backend.uploadWeight({ name, type: info.type, shape: info.shape }, bytes);
        const reference = new Float32Array((await readFile(`${QUANT}/dequant/${typeName}/${name}.f32`)).buffer.slice(0));
        loaded.push({ name, weight, reference, bytes });
      }
    });

    it('dequantizes rows exactly as llama.cpp does', async () => {
      for (const { weight, reference } of loaded) {
        const out = backend.createBuffer(weight.rows * weight.cols);
        backend.embed(weight, Array.from({ length: weight.rows }, (_, i) => i), out);
        expect(firstBitDifference(await backend.read(out), reference)).toBe(-1);
      }
    });

    it('multiplies by activations rounded as llama.cpp rounds them, in the layout of a multiple of 8 rows and in GGUF rows', async () => {
      const { weight, reference, bytes } = loaded[0]!;
      await expectMatmulMatches(backend, weight, reference);
      // 12 rows, not a multiple of 8: Q4_0 and Q4_K keep their GGUF rows.
      const rows = 12;
      const cut = backend.uploadWeight({ name: 'cut', type: weight.info.type, shape: [weight.cols, rows] }, bytes.subarray(0, (bytes.length / weight.rows) * rows));
      await expectMatmulMatches(backend, cut, reference.subarray(0, weight.cols * rows));
    });
  });

  // Tiny tensors have f16 block scales below 2^-14 (subnormal), which the kernels convert without slow subnormal arithmetic.
  it.each([['Q8_0', [0]], ['Q4_0', [0]], ['Q4_K', [0, 2]], ['Q6_K', [208]]] as const)('reads subnormal %s block scales exactly', async (typeName, scaleOffsets) => {
    const blob = await openAsBlob(`${QUANT}/pure/random-llama-256x4-${typeName}.gguf`);
    const info = (await readGguf(blob)).tensors.find((t) => t.name === TENSORS[0])!;
    const bytes = await readTensorBytes(blob, info);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let block = 0, i = 0; block < bytes.length; block += info.type.bytesPerBlock) {
      for (const offset of scaleOffsets) view.setUint16(block + offset, (i++ % 0x3ff) + 1 + (i % 2) * 0x8000, true);
    }
    const weight = backend.uploadWeight({ name: info.name, type: info.type, shape: info.shape }, bytes);
    const reference = dequantize(info.type, bytes, info.elements);
    const out = backend.createBuffer(weight.rows * weight.cols);
    backend.embed(weight, Array.from({ length: weight.rows }, (_, r) => r), out);
    expect(firstBitDifference(await backend.read(out), reference)).toBe(-1);
    await expectMatmulMatches(backend, weight, reference);
  });

  it('multiplies F32 weights in f32', async () => {
    const [cols, rows, nTokens] = [72, 5, 2];
    const w = randomFloats(rows * cols, 1);
    const weight = backend.uploadWeight({ name: 'w', type: ggmlTypeNamed('F32'), shape: [cols, rows] }, new Uint8Array(w.buffer));
    const x = randomFloats(nTokens * cols, 2);
    const input = backend.createBuffer(x.length);
    backend.write(input, x);
    const out = backend.createBuffer(rows * nTokens);
    backend.matmul(weight, input, out, nTokens);
    const got = await backend.read(out);
    for (let t = 0; t < nTokens; t++) {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += w[r * cols + c]! * x[t * cols + c]!;
        expect(got[t * rows + r]).toBeCloseTo(sum, 5);
      }
    }
  });

  const vector = (values: Float32Array) =>
    backend.uploadWeight({ name: 'v', type: ggmlTypeNamed('F32'), shape: [values.length] }, new Uint8Array(values.buffer.slice(0)));
  const buffer = (values: Float32Array) => {
    const b = backend.createBuffer(values.length);
    backend.write(b, values);
    return b;
  };

  it('rmsNorm normalizes each row and scales by the weight', async () => {
    const [n, rows, eps] = [36, 3, 1e-5];
    const x = randomFloats(n * rows, 3, 4);
    const w = randomFloats(n, 4);
    const out = backend.createBuffer(n * rows);
    backend.rmsNorm(buffer(x), vector(w), out, rows, eps);
    const got = await backend.read(out);
    for (let r = 0; r < rows; r++) {
      let sq = 0;
      for (let i = 0; i < n; i++) sq += x[r * n + i]! ** 2;
      const scale = 1 / Math.sqrt(sq / n + eps);
      for (let i = 0; i < n; i++) expect(got[r * n + i]).toBeCloseTo(x[r * n + i]! * scale * w[i]!, 5);
    }
  });

  it('add, addBias and siluMul work element-wise', async () => {
    const a = randomFloats(30, 5, 3);
    const b = randomFloats(30, 6, 3);
    const out = backend.createBuffer(30);
    backend.add(buffer(a), buffer(b), out);
    expect(Array.from(await backend.read(out))).toEqual(Array.from(a, (v, i) => Math.fround(v + b[i]!)));

    backend.siluMul(buffer(a), buffer(b), out);
    const silu = await backend.read(out);
    a.forEach((g, i) => expect(silu[i]).toBeCloseTo((g / (1 + Math.exp(-g))) * b[i]!, 5));

    const bias = randomFloats(10, 8);
    const x = buffer(a);
    backend.addBias(x, vector(bias), 3);
    expect(Array.from(await backend.read(x))).toEqual(Array.from(a, (v, i) => Math.fround(v + bias[i % 10]!)));
  });

  it.each([false, true])('rope rotates pairs (neox: %s)', async (neox) => {
    const params = { nHeads: 3, headDim: 8, ropeDims: 6, freqBase: 10000, freqScale: 1, neox };
    const nTokens = 2;
    const startPos = 5;
    const x = randomFloats(nTokens * params.nHeads * params.headDim, 9);
    const b = buffer(x);
    backend.rope(b, nTokens, startPos, params);
    const got = await backend.read(b);
    const half = params.ropeDims / 2;
    for (let t = 0; t < nTokens; t++) {
      for (let h = 0; h < params.nHeads; h++) {
        const base = (t * params.nHeads + h) * params.headDim;
        const expected = Array.from(x.subarray(base, base + params.headDim));
        for (let i = 0; i < half; i++) {
          const angle = (startPos + t) * Math.pow(params.freqBase, (-2 * i) / params.ropeDims);
          const [i0, i1] = neox ? [i, i + half] : [2 * i, 2 * i + 1];
          const [x0, x1] = [x[base + i0]!, x[base + i1]!];
          expected[i0] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
          expected[i1] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
        }
        expected.forEach((v, d) => expect(got[base + d]).toBeCloseTo(v, 5));
      }
    }
    expect(ropeTable(1, 0, params)).toEqual(new Float32Array([1, 0, 1, 0, 1, 0]));
  });

  it.each([false, true])('rope gives the bits of ggml\'s contracted x0·cos − x1·sin and x0·sin + x1·cos, by vectors and the leftover pairs (neox: %s)', async (neox) => {
    // 7 pairs: normal mode takes 3 vectors of 2 pairs and 1 pair alone, NeoX 1 vector of 4 pairs and 3 alone.
    const params = { nHeads: 2, headDim: 16, ropeDims: 14, freqBase: 10000, freqScale: 1, neox };
    const [nTokens, startPos] = [3, 40];
    const x = randomFloats(nTokens * params.nHeads * params.headDim, 17, 4);
    const b = buffer(x);
    backend.rope(b, nTokens, startPos, params);
    const got = await backend.read(b);
    const table = ropeTable(nTokens, startPos, params);
    // The first product fused: exact in f64, one rounding to f32 (no input here rounds twice).
    const fused = (a: number, b: number, c: number) => Math.fround(a * b + c);
    const expected = Float32Array.from(x);
    const half = params.ropeDims / 2;
    for (let t = 0; t < nTokens; t++) {
      for (let h = 0; h < params.nHeads; h++) {
        const base = (t * params.nHeads + h) * params.headDim;
        for (let i = 0; i < half; i++) {
          const [c, s] = [table[(t * half + i) * 2]!, table[(t * half + i) * 2 + 1]!];
          const [i0, i1] = neox ? [base + i, base + i + half] : [base + 2 * i, base + 2 * i + 1];
          const [x0, x1] = [x[i0]!, x[i1]!];
          expected[i0] = fused(x0, c, -Math.fround(x1 * s));
          expected[i1] = fused(x0, s, Math.fround(x1 * c));
        }
      }
    }
    expect(firstBitDifference(got, expected)).toBe(-1);
  });

  // Head size 32: batches take the tiled path (four tokens at a time, short tiles too); 8: the general one.
  it.each([8, 32])('attention is causal softmax(q·k·scale)·v over the f16 cache, with grouped KV heads, across blocks of 64 positions (head size %i)', async (headDim) => {
    const [nHeads, nKvHeads, nCtx] = [4, 2, 150];
    const kvDim = nKvHeads * headDim;
    const scale = 1 / Math.sqrt(headDim);
    // Layer 1 of 2, so that the other layer's blocks lie around it.
    const cache = backend.createKvCache(2, nCtx, kvDim);
    // Batches and single tokens that each see every earlier one, into a third block of the value cache.
    const steps = [{ start: 0, n: 5 }, { start: 5, n: 3 }, { start: 8, n: 62 }, { start: 70, n: 1 }, { start: 71, n: 60 }, { start: 131, n: 1 }];
    const total = 132;
    const keys = randomFloats(total * kvDim, 10, 2);
    const values = randomFloats(total * kvDim, 11, 2);
    const queries = randomFloats(total * nHeads * headDim, 12, 2);
    const layer = 1;
    for (const { start, n } of steps) {
      backend.storeKv(cache, layer, buffer(keys.slice(start * kvDim, (start + n) * kvDim)), buffer(values.slice(start * kvDim, (start + n) * kvDim)), start, n);
      const out = backend.createBuffer(n * nHeads * headDim);
      backend.attention(buffer(queries.slice(start * nHeads * headDim, (start + n) * nHeads * headDim)), cache, layer, out, start, n, { nHeads, nKvHeads, headDim, scale });
      const got = await backend.read(out);
      for (let t = 0; t < n; t++) {
        const pos = start + t;
        for (let h = 0; h < nHeads; h++) {
          const kvHead = Math.floor(h / (nHeads / nKvHeads));
          const q = (d: number) => roundF16(queries[(pos * nHeads + h) * headDim + d]!);
          const k = (j: number, d: number) => roundF16(keys[j * kvDim + kvHead * headDim + d]!);
          const v = (j: number, d: number) => roundF16(values[j * kvDim + kvHead * headDim + d]!);
          const scores = Array.from({ length: pos + 1 }, (_, j) => {
            let s = 0;
            for (let d = 0; d < headDim; d++) s += q(d) * k(j, d);
            return s * scale;
          });
          const max = Math.max(...scores);
          const exps = scores.map((s) => Math.exp(s - max));
          const sum = exps.reduce((a, b) => a + b, 0);
          for (let d = 0; d < headDim; d++) {
            const expected = exps.reduce((acc, e, j) => acc + roundF16(e / sum) * v(j, d), 0);
            expect(got[(t * nHeads + h) * headDim + d]).toBeCloseTo(expected, 4);
          }
        }
      }
    }
  });

  // Threads take shares of the rows starting on multiples of 4 (the interleaved Q4_0 layout keeps groups of 4 rows).
  it.each([['Q4_0', 40], ['Q4_0', 36], ['Q8_0', 37], ['Q4_K', 33]] as const)('gives the same bits on 2 threads: %s, %i rows', async (typeName, rows) => {
    const type = ggmlTypeNamed(typeName);
    const cols = 4096; // enough work per op for the pool to take it
    const bytes = quantizeTensor(type, randomFloats(rows * cols, 3), cols);
    const x = randomFloats(2 * cols, 4);
    const results: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const target = await WasmBackend.create({ threads });
      const weight = target.uploadWeight({ name: 'w', type, shape: [cols, rows] }, bytes);
      const input = target.createBuffer(x.length);
      target.write(input, x);
      const out = target.createBuffer(2 * rows);
      target.matmul(weight, input, out, 2);
      results.push(await target.read(out));
      target.dispose();
    }
    expect(firstBitDifference(results[0]!, results[1]!)).toBe(-1);
  });

  it('rounds rows through f16 as a scalar round trip does: subnormals, ties, 65504 to 65520 and up (∞), ∞, NaN', async () => {
    const { module } = await loadKernelModule(false);
    const memory = createKernelMemory(false, 1 << 20);
    const kernels = await instantiateKernels(module, memory);
    const special = [0, -0, 1, -1, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -15 * 1.5, 65504, 65519.99, 65520, -65520, 1e30, -3e38, Infinity, -Infinity, NaN, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    const random = new Uint32Array(Float32Array.from(randomFloats(4093, 3)).buffer).map((bits, i) => (bits * 2654435761 + i) >>> 0);
    const input = Float32Array.from([...special, ...new Float32Array(random.buffer)]);
    const x = kernels.heapBase() + 64;
    new Float32Array(memory.buffer, x, input.length).set(input);
    kernels.roundRowF16(x, x, input.length);
    const got = new Float32Array(memory.buffer, x, input.length);
    const expected = input.map(roundF16);
    for (let i = 0; i < input.length; i++) {
      if (Number.isNaN(expected[i])) expect(got[i]).toBeNaN();
      else expect(Object.is(got[i], expected[i]), `${input[i]}: ${got[i]} ≠ ${expected[i]}`).toBe(true);
    }
  });

  it('quantizes activation rows to Q8 and Q8_K blocks as ggml does (with their sums): ties to even, the first value of the largest magnitude, zero blocks', async () => {
    const { module } = await loadKernelModule(false);
    const memory = createKernelMemory(false, 1 << 20);
    const kernels = await instantiateKernels(module, memory);
    const n = 1024;
    const input = randomFloats(n, 21, 3);
    input.fill(0, 256, 512); // a zero block of both kinds
    // Largest magnitude 127 twice, the negative first: Q8_K's scale takes its sign; scaled values exactly halfway.
    input.set([0.5, 1.5, 2.5, -2.5, -3.5, -127, 127, 126.5], 520);
    input.set([40, -40], 900);
    const roundEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
    const x = kernels.heapBase() + 64;
    const out = x + 4 * n;
    new Float32Array(memory.buffer, x, n).set(input);

    kernels.quantizeRowQ8(x, out, n);
    for (let b = 0; b < n / 32; b++) {
      const block = input.subarray(32 * b, 32 * b + 32);
      const amax = Math.max(...block.map(Math.abs));
      const d = Math.fround(amax / 127);
      const id = amax === 0 ? 0 : Math.fround(127 / amax);
      const q = Array.from(block, (v) => roundEven(Math.fround(v * id)) + 0);
      const sum = q.reduce((a, v) => a + v, 0);
      const at = out + 80 * b;
      expect(Array.from(new Int8Array(memory.buffer, at, 32))).toEqual(q);
      expect(new Float32Array(memory.buffer, at + 32, 2)).toEqual(new Float32Array([roundF16(d), roundF16(Math.fround(d * sum))]));
      expect(new Int32Array(memory.buffer, at + 40, 1)[0]).toBe(8 * sum);
      const quadSums = Array.from({ length: 8 }, (_, i) => 16 * (q[4 * i]! + q[4 * i + 1]! + q[4 * i + 2]! + q[4 * i + 3]!));
      expect(Array.from(new Int32Array(memory.buffer, at + 48, 8))).toEqual(quadSums);
    }

    // A NaN makes its block's scale NaN, as the scalar max does.
    new Float32Array(memory.buffer, x + 4 * 37, 1)[0] = NaN;
    kernels.quantizeRowQ8(x + 4 * 32, out, 32);
    expect(new Float32Array(memory.buffer, out + 32, 1)[0]).toBeNaN();
    new Float32Array(memory.buffer, x, n).set(input);

    kernels.quantizeRowQ8K(x, out, n);
    for (let b = 0; b < n / 256; b++) {
      const block = input.subarray(256 * b, 256 * b + 256);
      const at = out + 304 * b;
      const amax = Math.max(...block.map(Math.abs));
      const first = block.find((v) => Math.abs(v) === amax)!;
      const iscale = amax === 0 ? 0 : Math.fround(-127 / first);
      const q = Array.from(block, (v) => Math.min(roundEven(Math.fround(iscale * v)), 127) + 0);
      expect(Array.from(new Int8Array(memory.buffer, at, 256))).toEqual(q);
      const sums = Array.from({ length: 16 }, (_, g) => q.slice(16 * g, 16 * g + 16).reduce((a, v) => a + v, 0));
      expect(Array.from(new Int16Array(memory.buffer, at + 256, 16))).toEqual(sums);
      expect(new Float32Array(memory.buffer, at + 288, 1)[0]).toBe(amax === 0 ? 0 : Math.fround(1 / iscale));
    }
    // Q8_K's scale is −(first largest value)/127: +1 for the block whose −127 comes before its 127, −40/127 for the next.
    expect(Array.from(new Float32Array(memory.buffer, out + 304 * 2 + 288, 1))).toEqual([1]);
    expect(new Float32Array(memory.buffer, out + 304 * 3 + 288, 1)[0]).toBe(Math.fround(1 / Math.fround(-127 / 40)));
  });

  // The host path's reference: every index sorted by value (larger first), the lower index first on ties.
  const sortedIds = (row: Float32Array) => Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);

  it.each([
    [32000, 1],
    [32000, 40],
    [1001, 3],
    [7, 5],
  ])('topK over a row of %i, k = %i: the sorted order, ties by lower index; the normalizer by SIMD exp', async (n, k) => {
    // A coarse grid ties many values; a few far below the maximum make e^ underflow to 0.
    const row = randomFloats(n, n + k, 8).map((v, i) => (i % 97 === 5 ? -1e4 : Math.round(v * 32) / 32));
    const buffer = backend.createBuffer(n);
    backend.write(buffer, row);
    const extraIds = [0, n - 1, 3, 0];
    const top = await backend.topK(buffer, k, extraIds);
    const reference = topValuesOf(row, k, extraIds);
    expect(Array.from(top.ids)).toEqual(sortedIds(row).slice(0, k));
    expect(Array.from(reference.ids)).toEqual(sortedIds(row).slice(0, k));
    expect(top.values).toEqual(reference.values);
    expect(top.extraValues).toEqual(reference.extraValues);
    expect(top.max).toBe(reference.max);
    expect(Math.abs(top.sumExp / reference.sumExp - 1)).toBeLessThan(1e-6);
  });

  it('reports the memory a weight takes once uploaded: Q4_K groups of 4 rows are larger than the file\'s blocks', () => {
    const q4K = ggmlTypeNamed('Q4_K');
    // 16 rows of one super-block: 4 groups of 592 bytes where the file has 16 blocks of 144.
    expect(backend.uploadedBytes({ name: 'k', type: q4K, shape: [256, 16] }, 16 * 144)).toBe(4 * 592);
    expect(backend.uploadedBytes({ name: 'k', type: q4K, shape: [256, 12] }, 12 * 144)).toBe(12 * 144);
    expect(backend.uploadedBytes({ name: 'q', type: ggmlTypeNamed('Q4_0'), shape: [64, 16] }, 16 * 36)).toBe(16 * 36);
    // The second upload: the first also grows the scratch that repacking goes through.
    const upload = () => backend.uploadWeight({ name: 'k', type: q4K, shape: [256, 16] }, new Uint8Array(16 * 144));
    upload();
    const before = backend.memoryBytes;
    upload();
    expect(backend.memoryBytes - before).toBe(4 * 592);
  });

  it('reports the memory a KV cache takes: keys by position, values in blocks of 64 positions', () => {
    // 5 layers, 2048 positions, 4 KV heads of 8 values: 32 blocks of values per layer, each one line longer than its floats.
    expect(backend.kvCacheBytes(5, 2048, 32)).toBe(5 * 2048 * 32 * 4 + 5 * 32 * (32 * 64 * 4 + 64));
    const before = backend.memoryBytes;
    backend.createKvCache(3, 100, 24);
    expect(backend.memoryBytes - before).toBe(backend.kvCacheBytes(3, 100, 24));
  });

  it('rejects misuse with BackendError', async () => {
    const w = backend.uploadWeight({ name: 'w', type: ggmlTypeNamed('F32'), shape: [4, 2] }, new Uint8Array(32));
    expect(() => backend.uploadWeight({ name: 'bad', type: ggmlTypeNamed('Q4_0'), shape: [30, 2] }, new Uint8Array(36))).toThrow(BackendError);
    expect(() => backend.uploadWeight({ name: 'short', type: ggmlTypeNamed('F32'), shape: [4, 2] }, new Uint8Array(8))).toThrow(BackendError);
    expect(() => backend.uploadWeight({ name: 'iq', type: ggmlTypeNamed('IQ2_XXS'), shape: [256, 1] }, new Uint8Array(66))).toThrow(/not supported/);
    expect(() => backend.matmul(w, backend.createBuffer(3), backend.createBuffer(2), 1)).toThrow(BackendError);
    expect(() => backend.embed(w, [2], backend.createBuffer(4))).toThrow(/outside the vocabulary/);
    const cache = backend.createKvCache(1, 4, 8);
    expect(() => backend.storeKv(cache, 0, backend.createBuffer(16), backend.createBuffer(16), 3, 2)).toThrow(/exceed the context/);
    expect(() => backend.rmsNorm(backend.createBuffer(8), w, backend.createBuffer(8), 2, 1e-5)).toThrow(/F32 vector/);
  });
});
