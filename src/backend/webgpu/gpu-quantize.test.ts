// The GPU quantizer against the CPU reference (quantizeRow) on synthetic rows, and against llama-quantize's --pure
// outputs of the fixture models. Runs on Dawn for Node with SwiftShader (a CPU Vulkan): slow, so inputs stay small.

import { openAsBlob, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../engine/sampling';
import { readGguf, readTensorBytes, type GgufFile } from '../../formats/gguf';
import { MemorySink } from '../../formats/sink';
import { UnsupportedTypeError } from '../../quant/errors';
import { QuantizeInputError, quantizeRow } from '../../quant/quantize';
import { quantizeModel } from '../../quant/quantize-model';
import { ggmlTypeNamed, type GgmlTypeTraits, tensorBytes } from '../../quant/types';
import { createGpuQuantizer, requestGpuQuantizer, type GpuQuantizer } from './gpu-quantize';
import { nodeGpu } from './node-gpu';
import { createTestDevice } from './test-gpu';

const TYPE_NAMES = ['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'] as const;

function cpuQuantize(traits: GgmlTypeTraits, src: Float32Array): Uint8Array {
  const out = new Uint8Array(tensorBytes(traits, src.length));
  quantizeRow(traits, src, out);
  return out;
}

/** Roughly normal values (sum of uniforms), with occasional outliers as real weights have. */
function gaussianRow(length: number, scale: number, seed: number): Float32Array {
  const next = createRng(seed);
  const row = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const v = next() + next() + next() + next() - 2;
    row[i] = (next() < 0.02 ? 8 * v : v) * scale;
  }
  return row;
}

/** Multiples of 1/4 and 1/2: quantized values land exactly halfway between codes, testing the tie rules. */
function tieRow(length: number, seed: number): Float32Array {
  const next = createRng(seed);
  const row = new Float32Array(length);
  for (let i = 0; i < length; i++) row[i] = (Math.floor(next() * 509) - 254) / (i % 2 ? 4 : 2);
  return row;
}

/** Values halfway between neighbouring f16 (and bf16) numbers, normal and subnormal, for the tie-to-even rules. */
function halfTieRow(length: number): Float32Array {
  const row = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const halfUlp = i % 3 === 0 ? 2 ** -8 : 2 ** -11; // bf16 keeps 8 significant bits, f16 11
    const sign = i % 2 ? -1 : 1;
    row[i] = sign * (1 + (2 * (i % 7) + 1) * halfUlp) * 2 ** ((i % 40) - 26);
  }
  return row;
}

/** 512 values of every test pattern, concatenated (a multiple of every unit: 2 Q6_K blocks). */
function syntheticInput(): { name: string; values: Float32Array }[] {
  const n = 512;
  const constant = new Float32Array(n).fill(0.3);
  const zeros = new Float32Array(n);
  const oneSpike = new Float32Array(n);
  oneSpike[37] = -2.5;
  const mixed = gaussianRow(n, 1, 7);
  mixed.fill(0, 64, 128); // a zero block inside a normal one
  mixed.fill(1e-7, 300, 310); // a group of tiny values: the CPU path
  mixed[400] = 1e-40; // a subnormal value among normal ones: the CPU path
  return [
    { name: 'normal', values: gaussianRow(n, 1, 1) },
    { name: 'small', values: gaussianRow(n, 1e-4, 2) },
    { name: 'near the CPU fallback limit', values: gaussianRow(n, 1e-5, 6) },
    { name: 'tiny (CPU fallback)', values: gaussianRow(n, 1e-9, 3) },
    { name: 'large', values: gaussianRow(n, 1e8, 4) },
    { name: 'ties', values: tieRow(n, 5) },
    { name: 'half-precision ties', values: halfTieRow(n) },
    { name: 'constant', values: constant },
    { name: 'zeros', values: zeros },
    { name: 'one spike', values: oneSpike },
    { name: 'mixed', values: mixed },
  ];
}

let device: GPUDevice;
let quantizer: GpuQuantizer;

beforeAll(async () => {
  device = await createTestDevice();
  quantizer = createGpuQuantizer(device);
}, 20_000);

afterAll(() => device?.destroy());

describe('GPU quantizer vs quantizeRow', () => {
  for (const name of TYPE_NAMES) {
    it(`${name}: byte-identical on synthetic rows`, async () => {
      const traits = ggmlTypeNamed(name);
      expect(quantizer.supports(traits)).toBe(true);
      for (const { name: pattern, values } of syntheticInput()) {
        const gpu = await quantizer.quantize(traits, values);
        expect(Buffer.from(gpu).equals(Buffer.from(cpuQuantize(traits, values))), `${name} ${pattern}`).toBe(true);
      }
    }, 20_000);
  }
});

describe('GPU quantizer: chunks, tails, limits and bad input', () => {
  it('splits the input into chunks, leaves the partial unit and small groups to the CPU', async () => {
    const small = createGpuQuantizer(device, { maxChunkBytes: 4096 });
    // 97 Q4_0 blocks: 48 two-block units over 7 chunks of 16 units, and one block left over; one unit has a tiny group.
    const values = gaussianRow(97 * 32, 0.05, 11);
    values.fill(3e-8, 640, 672);
    for (const name of ['Q4_0', 'Q6_K']) {
      const traits = ggmlTypeNamed(name);
      const length = Math.floor(values.length / traits.blockSize) * traits.blockSize;
      const input = values.subarray(0, length);
      expect(Buffer.from(await small.quantize(traits, input)).equals(Buffer.from(cpuQuantize(traits, input))), name).toBe(true);
    }
  });

  it('folds dispatches beyond 65535 workgroups into a second dimension', async () => {
    // 2^23 + 64 F16 values: the first chunk of 32 MiB holds 2^22 two-value units, 65536 workgroups of 64.
    const values = gaussianRow((1 << 23) + 64, 100, 12);
    const traits = ggmlTypeNamed('F16');
    expect(Buffer.from(await quantizer.quantize(traits, values)).equals(Buffer.from(cpuQuantize(traits, values)))).toBe(true);
  }, 20_000);

  it('requestGpuQuantizer: a quantizer where WebGPU is present, undefined where it is not', async () => {
    const fromGpu = await requestGpuQuantizer(await nodeGpu('software'));
    const values = gaussianRow(64, 1, 13);
    expect(Buffer.from(await fromGpu!.quantize(ggmlTypeNamed('Q8_0'), values)).equals(Buffer.from(cpuQuantize(ggmlTypeNamed('Q8_0'), values)))).toBe(true);
    expect(await requestGpuQuantizer(undefined)).toBeUndefined();
  });

  it('rejects unsupported types, partial blocks and non-finite values with typed errors', async () => {
    await expect(quantizer.quantize(ggmlTypeNamed('Q2_K'), new Float32Array(256))).rejects.toBeInstanceOf(UnsupportedTypeError);
    expect(quantizer.supports(ggmlTypeNamed('Q2_K'))).toBe(false);
    await expect(quantizer.quantize(ggmlTypeNamed('Q8_0'), new Float32Array(40))).rejects.toBeInstanceOf(RangeError);
    const withNaN = new Float32Array(64);
    withNaN[50] = NaN;
    await expect(quantizer.quantize(ggmlTypeNamed('Q8_0'), withNaN)).rejects.toBeInstanceOf(QuantizeInputError);
    withNaN[50] = -Infinity;
    await expect(quantizer.quantize(ggmlTypeNamed('F16'), withNaN)).rejects.toBeInstanceOf(QuantizeInputError);
  });
});

const FIXTURES = '../shared/fixtures';

async function openGguf(path: string): Promise<{ blob: Blob; file: GgufFile }> {
  const blob = await openAsBlob(path);
  return { blob, file: await readGguf(blob) };
}

/**
 * Every tensor that llama-quantize --pure stored as `typeName`, quantized from the F32 model on the GPU, must equal
 * its bytes. `include` narrows the tensors (the k-quants are slow on SwiftShader).
 */
async function expectPureFileMatches(model: string, pure: string, typeName: string, include: (name: string) => boolean): Promise<number> {
  const source = await openGguf(model);
  const target = await openGguf(pure);
  const traits = ggmlTypeNamed(typeName);
  let checked = 0;
  for (const tensor of target.file.tensors) {
    if (tensor.type.id !== traits.id || !include(tensor.name)) continue;
    const f32 = source.file.tensors.find((t) => t.name === tensor.name);
    if (!f32 || f32.type.name !== 'F32') throw new Error(`${model} has no F32 tensor ${tensor.name}`);
    const values = new Float32Array((await readTensorBytes(source.blob, f32)).slice().buffer);
    const expected = await readTensorBytes(target.blob, tensor);
    const actual = await quantizer.quantize(traits, values);
    expect(Buffer.from(actual).equals(Buffer.from(expected)), `${typeName} ${tensor.name}`).toBe(true);
    checked++;
  }
  return checked;
}

describe('GPU quantizer vs llama-quantize --pure', () => {
  const randomModel = `${FIXTURES}/models/random-llama-256x4-f32.gguf`;
  const randomPure = (name: string) => `${FIXTURES}/quant/random-llama-256x4/pure/random-llama-256x4-${name}.gguf`;
  const storiesModel = `${FIXTURES}/models/stories260K.gguf`;
  const storiesPure = (name: string) => `${FIXTURES}/quant/stories260K/pure/stories260K-${name}.gguf`;

  for (const name of ['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1']) {
    it(`${name}: every tensor of random-llama-256x4 and stories260K`, async () => {
      expect(await expectPureFileMatches(randomModel, randomPure(name), name, () => true)).toBeGreaterThan(20);
      expect(await expectPureFileMatches(storiesModel, storiesPure(name), name, () => true)).toBeGreaterThan(10);
    }, 20_000);
  }

  for (const name of ['Q4_K', 'Q5_K', 'Q6_K']) {
    it(`${name}: the layer-0 tensors of random-llama-256x4`, async () => {
      expect(await expectPureFileMatches(randomModel, randomPure(name), name, (tensor) => tensor.startsWith('blk.0.'))).toBe(7);
    }, 20_000);
  }
});

describe('whole-model quantization on the GPU', () => {
  it('writes the same file as llama-quantize --pure Q8_0 for stories260K', async () => {
    const blob = await openAsBlob(`${FIXTURES}/models/stories260K.gguf`);
    const sink = new MemorySink();
    // The 172-wide ffn_down falls back to F16: both types are encoded on the GPU.
    await quantizeModel(blob, await readGguf(blob), { recipe: 'Q8_0', pure: true }, sink, { device: quantizer });
    const expected = readFileSync(`${FIXTURES}/quant/stories260K/pure/stories260K-Q8_0.gguf`);
    expect(Buffer.compare(Buffer.from(sink.bytes()), expected)).toBe(0);
  }, 20_000);
});
