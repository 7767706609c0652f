// The WASM quantizers against llama-quantize's own output: every tensor that a
// --pure golden file stores in the type under test, re-quantized from the F32
// model, must come out byte for byte the same. Property tests add the edge
// cases real weights rarely hit (zeros of both signs, constants, subnormal and
// huge magnitudes, exact halfway cases).

import fc from 'fast-check';
import { openAsBlob } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGguf, readTensorBytes, type GgufFile } from '../formats/gguf';
import { dequantize } from './dequantize';
import { UnsupportedTypeError } from './errors';
import { f16ToF32, f32ToBf16, f32ToF16 } from './fp16';
import { quantizeRow } from './quantize';
import { ggmlTypeNamed, type GgmlTypeTraits } from './types';
import { loadWasmQuantizer, QuantizeLengthError, type WasmQuantizer } from './wasm-quantize';

const FIXTURES = '../shared/fixtures';
const LEGACY_TYPES = ['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'];
const LEGACY_BLOCK_TYPES = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'];
const K_TYPES = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];
const MODELS = [
  {
    source: `${FIXTURES}/models/random-llama-256x4-f32.gguf`,
    golden: (t: string) => `${FIXTURES}/quant/random-llama-256x4/pure/random-llama-256x4-${t}.gguf`,
    types: [...LEGACY_TYPES, ...K_TYPES],
  },
  {
    // The real model's rows (64 and 172 wide) are too short for the 256-value k-quant blocks.
    source: `${FIXTURES}/models/stories260K.gguf`,
    golden: (t: string) => `${FIXTURES}/quant/stories260K/pure/stories260K-${t}.gguf`,
    types: LEGACY_TYPES,
  },
];
const MODEL_TYPES = MODELS.flatMap(({ types, ...model }) => types.map((typeName) => ({ ...model, typeName })));


async function open(path: string): Promise<{ blob: Blob; file: GgufFile }> {
  const blob = await openAsBlob(path);
  return { blob, file: await readGguf(blob) };
}

/** Index of the first differing byte, or -1 when equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  return a.findIndex((byte, i) => byte !== b[i]);
}

let quantizer: WasmQuantizer;
beforeAll(async () => {
  quantizer = await loadWasmQuantizer();
});

describe('WASM quantizers against llama-quantize', () => {
  it.each(MODEL_TYPES)('$typeName from $source: every tensor equals llama-quantize --pure, byte for byte', async ({ source, golden, typeName }) => {
    const model = await open(source);
    const reference = await open(golden(typeName));
    const checked: string[] = [];
    for (const goldenTensor of reference.file.tensors) {
      // Rows that are not whole blocks stay in a fallback type in the golden file.
      if (goldenTensor.type.name !== typeName) continue;
      const sourceTensor = model.file.tensors.find((t) => t.name === goldenTensor.name)!;
      expect(sourceTensor.type.name).toBe('F32');
      const values = new Float32Array((await readTensorBytes(model.blob, sourceTensor)).slice().buffer);
      const expected = await readTensorBytes(reference.blob, goldenTensor);
      const actual = quantizer.quantize(ggmlTypeNamed(typeName), values);
      expect({ tensor: goldenTensor.name, firstDifference: firstDifference(actual, expected) }).toEqual({ tensor: goldenTensor.name, firstDifference: -1 });
      checked.push(goldenTensor.name);
    }
    // --pure: every 2-D tensor whose rows are whole blocks is in the type under test.
    const quantizable = model.file.tensors.filter((t) => t.shape.length === 2 && t.shape[0]! % ggmlTypeNamed(typeName).blockSize === 0);
    expect(checked.sort()).toEqual(quantizable.map((t) => t.name).sort());
  });
});

/** Magnitudes from subnormal to near FLT_MAX, where scales underflow or overflow f16 and 1/d overflows f32. */
const SCALES = [1, 0.02, 1e-3, 300, 1e-20, 1e-38, 3e-39, 1e-40, 1e-44, 1.4e-45, 1e30, 3.4e38, 65504, 70000];
/**
 * For the k-quants: subnormal to large, but with the super-block scales still finite in f16 (those that overflow are
 * tested on their own below, where the TypeScript reference departs from C).
 */
const K_SCALES = [1, 0.02, 1e-3, 300, 1e-20, 1e-38, 3e-39, 1e-40, 1e-44, 1.4e-45, 65504, 1e5];

/** One 32-value block of one of several shapes that stress the scale and rounding logic. */
const blockAt = (scales: number[]): fc.Arbitrary<number[]> => fc.oneof(
  // Random values at any scale.
  fc.tuple(fc.constantFrom(...scales), fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }))
    .map(([scale, values]) => values.map((v) => Math.fround(v * scale))),
  // Zeros of both signs, alone or mixed with a constant.
  fc.tuple(fc.constantFrom(0, 1, -2.5, 1e-40), fc.array(fc.constantFrom(0, -0, 1), { minLength: 32, maxLength: 32 }))
    .map(([c, pattern]) => pattern.map((p) => (p === 1 ? c : p))),
  // Halves: with amax 127 (Q8_0) or a max of ±8 / ±16 (Q4_0 / Q5_0) the scale is exactly 1 or ½ and x/d lands on .5.
  fc.tuple(fc.constantFrom(127, -127, 8, -8, 16, -16, 15, 31), fc.array(fc.integer({ min: -254, max: 254 }), { minLength: 31, maxLength: 31 }), fc.nat(31))
    .map(([extreme, halves, at]) => {
      const values = halves.map((h) => Math.max(-Math.abs(extreme), Math.min(Math.abs(extreme), h / 2)));
      values.splice(at, 0, extreme);
      return values;
    }),
  // +a and −a both present: the reference keeps whichever comes first.
  fc.tuple(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.array(fc.constantFrom(-1, -0.5, 0, 0.25, 1), { minLength: 32, maxLength: 32 }))
    .map(([a, pattern]) => pattern.map((p) => Math.fround(a * p))),
);

const block = blockAt(SCALES);
/** Rows of 1 to 4 blocks. */
const row = fc.array(block, { minLength: 1, maxLength: 4 }).map((blocks) => Float32Array.from(blocks.flat()));
/** Rows of 1 or 2 k-quant super-blocks (256 values), each made of eight blocks of 32 of independent shapes and scales. */
const kRow = fc.integer({ min: 1, max: 2 })
  .chain((superBlocks) => fc.array(blockAt(K_SCALES), { minLength: 8 * superBlocks, maxLength: 8 * superBlocks }))
  .map((blocks) => Float32Array.from(blocks.flat()));

/** Rows of 1 to 4 super-blocks of normally distributed values (as weights are) times a scale. */
const gaussianKRow = fc.tuple(fc.constantFrom(...K_SCALES), fc.integer({ min: 1, max: 4 }), fc.integer())
  .map(([scale, blocks, seed]) => {
    let state = seed >>> 0;
    const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 1) / 2 ** 32;
    return Float32Array.from({ length: 256 * blocks }, () => scale * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
  });

/** The TypeScript reference's bytes for `values`. */
function referenceBytes(t: GgmlTypeTraits, values: Float32Array): Uint8Array {
  const expected = new Uint8Array((values.length / t.blockSize) * t.bytesPerBlock);
  quantizeRow(t, values, expected);
  return expected;
}

describe('WASM quantizers, properties', () => {
  it.each(K_TYPES)('%s equals the TypeScript reference quantizer on edge-case and Gaussian rows', (typeName) => {
    const t = ggmlTypeNamed(typeName);
    fc.assert(
      fc.property(fc.oneof(kRow, gaussianKRow), (values) => {
        expect(quantizer.quantize(t, values)).toEqual(referenceBytes(t, values));
      }),
      { numRuns: 150 },
    );
  });

  it.each(K_TYPES)('%s: all-zero, constant, tiny and huge rows equal the TypeScript reference', (typeName) => {
    const t = ggmlTypeNamed(typeName);
    const rows = [
      new Float32Array(512),
      new Float32Array(256).fill(-0),
      new Float32Array(256).fill(0.75),
      new Float32Array(256).fill(-3e4),
      Float32Array.from({ length: 256 }, (_, i) => (i % 3) * 1.4e-45),
      Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) * 1e-42),
      Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 0.7) * 5e4),
      Float32Array.from({ length: 512 }, (_, i) => (i < 256 ? 1e-30 : 1) * Math.cos(i)),
    ];
    for (const values of rows) expect(quantizer.quantize(t, values)).toEqual(referenceBytes(t, values));
  });

  // With |x| ~ 1e15 the fitted scales overflow and the stored f16 d is infinite, so a sub-block whose quantized scale
  // is 0 gets d·0 = NaN. ggml then re-derives its codes (in C, `if (!d) continue;` skips only zero) as
  // nearest_int(x/NaN) = 0, the zero code; the TypeScript reference skips them (`!NaN` is true in JavaScript).
  it.each([
    // High-bit mask [32], low 2 bits [64], then scales and d: the zero code 4 is high bit 1, low bits 0.
    { typeName: 'Q3_K', zeroCodes: [...new Array(32).fill(0xff), ...new Array(64).fill(0)] },
    // Low nibbles [128], high 2 bits [64], then scales and d: the zero code 32 is low nibble 0, high bits 2.
    { typeName: 'Q6_K', zeroCodes: [...new Array(128).fill(0), ...new Array(64).fill(0xaa)] },
  ])('$typeName follows C where a stored scale is NaN: such sub-blocks get the zero code', ({ typeName, zeroCodes }) => {
    const t = ggmlTypeNamed(typeName);
    const values = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 1.3) * 1e15);
    const actual = quantizer.quantize(t, values);
    const dAt = t.bytesPerBlock - 2; // both types end with f16 d
    expect(Math.abs(f16ToF32(actual[dAt]! | (actual[dAt + 1]! << 8)))).toBe(Infinity);
    // Scales and d agree with the reference, and every sub-block's quantized scale is 0 here.
    expect(actual.subarray(zeroCodes.length)).toEqual(referenceBytes(t, values).subarray(zeroCodes.length));
    expect(Array.from(actual.subarray(0, zeroCodes.length))).toEqual(zeroCodes);
  });

  it.each(LEGACY_TYPES)('%s equals the TypeScript reference quantizer on edge-case rows', (typeName) => {
    const t = ggmlTypeNamed(typeName);
    fc.assert(
      fc.property(row, (values) => {
        expect(quantizer.quantize(t, values)).toEqual(referenceBytes(t, values));
      }),
      { numRuns: 300 },
    );
  });

  it('F16 and BF16 equal the scalar conversions of fp16.ts, element by element, for rows of any length', () => {
    const floats = fc.float32Array({ noNaN: true, maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(floats, row), (values) => {
        const f16 = new Uint16Array(quantizer.quantize(ggmlTypeNamed('F16'), values).buffer);
        const bf16 = new Uint16Array(quantizer.quantize(ggmlTypeNamed('BF16'), values).buffer);
        expect(Array.from(f16)).toEqual(Array.from(values, f32ToF16));
        expect(Array.from(bf16)).toEqual(Array.from(values, f32ToBf16));
      }),
      { numRuns: 300 },
    );
  });

  it.each(LEGACY_BLOCK_TYPES)('%s: stored scales are the f16 of the block scale, and values come back within one step', (typeName) => {
    const t = ggmlTypeNamed(typeName);
    const steps = { Q8_0: 127, Q4_0: 8, Q4_1: 15, Q5_0: 16, Q5_1: 31 }[typeName]!;
    const moderate = fc.array(
      fc.tuple(fc.constantFrom(1, 0.02, 1e-3, 300), fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 32, maxLength: 32 }))
        .map(([scale, values]) => values.map((v) => Math.fround((v / 1e6) * scale))),
      { minLength: 1, maxLength: 4 },
    );
    fc.assert(
      fc.property(moderate, (blocks) => {
        const values = Float32Array.from(blocks.flat());
        const bytes = quantizer.quantize(t, values);
        const restored = dequantize(t, bytes, values.length);
        blocks.forEach((b, i) => {
          const range = typeName === 'Q4_1' || typeName === 'Q5_1' ? Math.max(...b) - Math.min(...b) : Math.max(...b.map(Math.abs));
          const d = f16ToF32(bytes[i * t.bytesPerBlock]! | (bytes[i * t.bytesPerBlock + 1]! << 8));
          // f16 keeps 11 significant bits (and absolute steps of 2^-24 below its normal range).
          expect(Math.abs(Math.abs(d) - range / steps)).toBeLessThanOrEqual((range / steps) * 2 ** -11 + 2 ** -25);
          // Half a step of rounding, one step more where the level saturates at the top, plus f16 rounding
          // of d and m (relative, and absolute where a tiny d falls into f16's subnormals).
          const slack = Math.abs(d) * 1.1 + range * 2 ** -9 + steps * 2 ** -24;
          b.forEach((v, j) => expect(Math.abs(restored[i * 32 + j]! - v)).toBeLessThanOrEqual(slack));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('F16 of NaN is what GGML_FP32_TO_FP16 of ggml gives: the sign and 0x7e00, whatever the payload', () => {
    const bits = Uint32Array.from([0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0x7fa02000, 0xffd55555, 0x7f802000]);
    const values = new Float32Array(bits.buffer);
    const f16 = new Uint16Array(quantizer.quantize(ggmlTypeNamed('F16'), Float32Array.from([...values, ...values])).buffer);
    expect(Array.from(f16)).toEqual(Array.from([...bits, ...bits], (b) => (b >>> 16 & 0x8000) | 0x7e00));
  });

  it('gives every type the same bytes whether a row is quantized alone or inside a longer one (no state leaks between blocks)', () => {
    const anyType = fc.oneof(
      fc.tuple(row, row, fc.constantFrom(...LEGACY_TYPES)),
      fc.tuple(kRow, kRow, fc.constantFrom(...K_TYPES)),
    );
    fc.assert(
      fc.property(anyType, ([a, b, typeName]) => {
        const t = ggmlTypeNamed(typeName);
        const joined = new Float32Array(a.length + b.length);
        joined.set(a);
        joined.set(b, a.length);
        const both = quantizer.quantize(t, joined);
        expect(both).toEqual(Uint8Array.from([...quantizer.quantize(t, a), ...quantizer.quantize(t, b)]));
      }),
      { numRuns: 200 },
    );
  });
});

describe('WASM quantizer errors', () => {
  it('supports exactly the types it implements', () => {
    expect(['F32', ...LEGACY_TYPES, ...K_TYPES, 'Q8_K', 'IQ4_NL'].filter((n) => quantizer.supports(ggmlTypeNamed(n))))
      .toEqual([...LEGACY_TYPES, ...K_TYPES]);
  });

  it('rejects an unsupported type and a length that is not whole blocks with typed errors', () => {
    expect(() => quantizer.quantize(ggmlTypeNamed('IQ4_NL'), new Float32Array(256))).toThrow(UnsupportedTypeError);
    expect(() => quantizer.quantize(ggmlTypeNamed('Q8_0'), new Float32Array(33))).toThrow(QuantizeLengthError);
    expect(() => quantizer.quantize(ggmlTypeNamed('Q4_K'), new Float32Array(128))).toThrow(QuantizeLengthError);
  });

  it('handles inputs larger than one chunk of its memory and the empty input', () => {
    const values = Float32Array.from({ length: 200_000 }, (_, i) => Math.sin(i) * (1 + (i % 7)));
    const whole = quantizer.quantize(ggmlTypeNamed('Q4_0'), values);
    const pieces = [0, 70_016, 140_032, 200_000];
    const parts = pieces.slice(1).map((end, i) => quantizer.quantize(ggmlTypeNamed('Q4_0'), values.subarray(pieces[i], end)));
    expect(whole).toEqual(Uint8Array.from(parts.flatMap((p) => [...p])));
    const kValues = values.subarray(0, 256 * 700);
    const kPieces = [0, 256 * 300, 256 * 700];
    const kParts = kPieces.slice(1).map((end, i) => quantizer.quantize(ggmlTypeNamed('Q6_K'), kValues.subarray(kPieces[i], end)));
    expect(quantizer.quantize(ggmlTypeNamed('Q6_K'), kValues)).toEqual(Uint8Array.from(kParts.flatMap((p) => [...p])));
    expect(quantizer.quantize(ggmlTypeNamed('Q5_1'), new Float32Array(0))).toEqual(new Uint8Array(0));
    expect(quantizer.quantize(ggmlTypeNamed('Q4_K'), new Float32Array(0))).toEqual(new Uint8Array(0));
  });
});
