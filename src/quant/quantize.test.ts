import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { readGguf, readTensorBytes } from '../formats/gguf';
import { fixtureBlob, fixtureBytes, fixturePath } from '../formats/test-files';
import { dequantize } from './dequantize';
import { UnsupportedTypeError } from './errors';
import { canQuantize, quantizeRow, quantizeTensor, QuantizeInputError } from './quantize';
import { ggmlTypeByName, tensorBytes, type GgmlTypeTraits } from './types';

const type = (name: string): GgmlTypeTraits => ggmlTypeByName(name)!;

/** Every tensor of an all-F32 model, as values. */
async function loadF32Tensors(model: string): Promise<Map<string, Float32Array>> {
  const blob = await fixtureBlob(model);
  const gguf = await readGguf(blob);
  const tensors = new Map<string, Float32Array>();
  for (const t of gguf.tensors) {
    expect(t.type.name).toBe('F32');
    const bytes = await readTensorBytes(blob, t);
    tensors.set(t.name, new Float32Array(bytes.buffer, bytes.byteOffset, t.elements));
  }
  return tensors;
}

/** Index of the first differing byte, or -1 when the arrays are equal (a length difference counts). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const PURE_SETS = [
  { model: 'models/random-llama-256x4-f32.gguf', dir: 'quant/random-llama-256x4/pure' },
  { model: 'models/stories260K.gguf', dir: 'quant/stories260K/pure' },
];

describe('quantizeTensor matches llama-quantize --pure byte for byte', () => {
  for (const { model, dir } of PURE_SETS) {
    const files = readdirSync(fixturePath(dir)).filter((f) => f.endsWith('.gguf'));

    it(`finds the ${dir} fixtures`, () => expect(files.length).toBeGreaterThanOrEqual(7));

    for (const file of files) {
      it(file, async () => {
        const source = await loadF32Tensors(model);
        const blob = await fixtureBlob(`${dir}/${file}`);
        const golden = await readGguf(blob);
        expect(golden.tensors.length).toBe(source.size);
        for (const t of golden.tensors) {
          // Every tensor, in whatever type the golden holds it: the file's type, F32 for norms, F16 for fallbacks.
          const ours = quantizeTensor(t.type, source.get(t.name)!, t.shape[0]!, t.name);
          const theirs = await readTensorBytes(blob, t);
          expect(firstDifference(ours, theirs), `${t.name} (${t.type.name}): first differing byte`).toBe(-1);
        }
      });
    }
  }
});

describe('quantize then dequantize gives what llama.cpp decodes from its own file', () => {
  const dir = 'quant/random-llama-256x4/dequant';
  const types = readdirSync(fixturePath(dir));

  it('finds the dequantization fixtures', () => expect(types.length).toBeGreaterThanOrEqual(12));

  it.each(types)('%s', async (typeName) => {
    const source = await loadF32Tensors('models/random-llama-256x4-f32.gguf');
    for (const name of ['blk.0.ffn_down.weight', 'blk.1.attn_v.weight']) {
      const values = source.get(name)!;
      const rowLength = name.includes('ffn_down') ? 512 : 256;
      const decoded = dequantize(type(typeName), quantizeTensor(type(typeName), values, rowLength, name), values.length);
      const expected = fixtureBytes(`${dir}/${typeName}/${name}.f32`);
      expect(firstDifference(new Uint8Array(decoded.buffer), expected), name).toBe(-1);
    }
  });
});

/**
 * Largest decoding error allowed, as `relative` × the largest |value| of the block (the super-block for k-quants)
 * plus `floorSteps` × 2⁻²⁴ (the f16 subnormal step), which covers blocks so small that their f16 scale is subnormal
 * or underflows to zero: roughly the largest code times the scale-of-scales, doubled.
 * The relative part is half a quantization step plus f16 rounding of the scales, with room for the codes each format
 * gives away: Q4_0/Q5_0/Q3_K/Q6_K put the extreme value at the most negative code, so the opposite extreme can be a
 * full step short; k-quants quantize the group scales and mins to 4 or 6 bits and fit them by weighted least squares,
 * trading accuracy on small values for large ones. Q2_K weights each value by |x| in its fit, so a group with a few
 * large values of one sign can leave its zeros almost a full block maximum away.
 */
const ERROR_BOUND: Record<string, { relative: number; floorSteps: number }> = {
  F16: { relative: 2 ** -11, floorSteps: 1 }, BF16: { relative: 2 ** -8, floorSteps: 1 },
  Q8_0: { relative: 0.6 / 127, floorSteps: 256 }, Q4_0: { relative: 1.02 / 8, floorSteps: 16 },
  Q5_0: { relative: 1.02 / 16, floorSteps: 32 }, Q4_1: { relative: 1.05 / 15, floorSteps: 32 },
  Q5_1: { relative: 1.05 / 31, floorSteps: 64 }, Q2_K: { relative: 1, floorSteps: 256 },
  Q3_K: { relative: 0.3, floorSteps: 512 }, Q4_K: { relative: 0.15, floorSteps: 2048 },
  Q5_K: { relative: 0.1, floorSteps: 4096 }, Q6_K: { relative: 0.035, floorSteps: 8192 },
  Q8_K: { relative: 0.51 / 127, floorSteps: 1 },
};
const TYPES = Object.keys(ERROR_BOUND);

/** Rows of 512 values: random, heavy-tailed, constant or zero, at magnitudes from 1e-2 to 3e4 (f16 scales stay normal-ish). */
const rows = fc.record({
  kind: fc.constantFrom('random', 'heavy', 'constant', 'zero', 'sparse'),
  magnitude: fc.double({ min: -2, max: Math.log10(3e4), noNaN: true }).map((e) => 10 ** e),
  values: fc.array(fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }), { minLength: 512, maxLength: 512 }),
}).map(({ kind, magnitude, values }) => {
  const row = new Float32Array(512);
  for (let i = 0; i < 512; i++) {
    const v = values[i]!;
    row[i] = magnitude * (kind === 'zero' ? 0 : kind === 'constant' ? values[0]! : kind === 'heavy' ? v ** 5 : kind === 'sparse' ? (i % 37 === 0 ? v : 0) : v);
  }
  return row;
});

describe('decoding error stays within each format\'s bound', () => {
  it.each(TYPES)('%s', (typeName) => {
    const t = type(typeName);
    const group = Math.max(t.blockSize, 32);
    fc.assert(
      fc.property(rows, (row) => {
        const decoded = dequantize(t, quantizeTensor(t, row, row.length), row.length);
        for (let start = 0; start < row.length; start += group) {
          let amax = 0;
          for (let i = start; i < start + group; i++) amax = Math.max(amax, Math.abs(row[i]!));
          const { relative, floorSteps } = ERROR_BOUND[typeName]!;
          const bound = relative * amax + floorSteps * 2 ** -24;
          for (let i = start; i < start + group; i++) {
            if (!(Math.abs(decoded[i]! - row[i]!) <= bound)) return false;
          }
        }
        return true;
      }),
      { numRuns: 60 },
    );
  });

  it('decodes all-zero rows to zeros in every format', () => {
    for (const name of TYPES) {
      const t = type(name);
      const decoded = dequantize(t, quantizeTensor(t, new Float32Array(512), 512), 512);
      expect(decoded.every((v) => v === 0), name).toBe(true);
    }
  });
});

describe('quantizeTensor input checks', () => {
  it('rejects NaN and infinities, naming the tensor and the place', () => {
    const values = new Float32Array(64);
    values[37] = NaN;
    expect(() => quantizeTensor(type('Q8_0'), values, 32, 'blk.3.attn_q.weight')).toThrow(QuantizeInputError);
    expect(() => quantizeTensor(type('Q8_0'), values, 32, 'blk.3.attn_q.weight')).toThrow(/blk\.3\.attn_q\.weight.*row 1, column 5/);
    values[37] = -Infinity;
    try {
      quantizeTensor(type('F16'), values, 32, 'output.weight');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(QuantizeInputError);
      expect((e as QuantizeInputError).tensorName).toBe('output.weight');
      expect((e as QuantizeInputError).reason).toMatch(/-Infinity/);
    }
  });

  it('rejects rows that the blocks do not divide', () => {
    expect(() => quantizeTensor(type('Q4_K'), new Float32Array(172 * 2), 172, 'blk.0.ffn_down.weight')).toThrow(
      /blk\.0\.ffn_down\.weight.*row length 172 is not a multiple of Q4_K's block size 256/,
    );
    expect(() => quantizeTensor(type('Q8_0'), new Float32Array(100), 64, 'x')).toThrow(QuantizeInputError);
    expect(() => quantizeTensor(type('Q8_0'), new Float32Array(64), 0, 'x')).toThrow(QuantizeInputError);
  });

  it('names the types it cannot encode', () => {
    expect(canQuantize(type('IQ2_XXS'))).toBe(false);
    expect(() => quantizeTensor(type('IQ2_XXS'), new Float32Array(256), 256)).toThrow(UnsupportedTypeError);
    for (const name of ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_K']) {
      expect(canQuantize(type(name)), name).toBe(true);
    }
  });

  it('quantizeRow checks the output size', () => {
    expect(() => quantizeRow(type('Q4_0'), new Float32Array(64), new Uint8Array(35))).toThrow(/take 36 bytes/);
    expect(() => quantizeRow(type('Q4_0'), new Float32Array(40), new Uint8Array(36))).toThrow(RangeError);
  });

  it('quantizeRow writes into views at an offset', () => {
    const values = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i));
    const whole = quantizeTensor(type('Q5_K'), values, 256);
    const buffer = new Uint8Array(7 + whole.length).fill(0xaa);
    quantizeRow(type('Q5_K'), values, buffer.subarray(7));
    expect(firstDifference(buffer.subarray(7), whole)).toBe(-1);
    expect(tensorBytes(type('Q5_K'), 256)).toBe(whole.length);
  });
});

describe('Q8_K', () => {
  it('stores an f32 scale, the codes and their sums per 16', () => {
    const values = Float32Array.from({ length: 256 }, (_, i) => (i - 200) / 8);
    const bytes = quantizeTensor(type('Q8_K'), values, 256);
    const view = new DataView(bytes.buffer);
    // The largest magnitude is -200/8 = -25: scale 1/(-127/-25), code -127 at index 0.
    expect(view.getFloat32(0, true)).toBe(Math.fround(1 / Math.fround(-127 / -25)));
    expect(view.getInt8(4)).toBe(-127);
    const codes = new Int8Array(bytes.buffer, 4, 256);
    for (let j = 0; j < 16; j++) {
      const sum = codes.subarray(16 * j, 16 * j + 16).reduce((a, b) => a + b, 0);
      expect(view.getInt16(260 + 2 * j, true)).toBe(sum);
    }
  });
});
