import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readGguf, readTensorBytes, type GgufFile } from '../formats/gguf';
import { fixtureBlob, fixtureBytes, fixturePath, tensorListing } from '../formats/test-files';
import { canDequantize, dequantize, dequantizeRow } from './dequantize';
import { UnsupportedTypeError } from './errors';
import { bf16ToF32, f32ToBf16, roundThroughF16 } from './fp16';
import { IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID } from './iq-grids';
import { GGML_TYPES, ggmlTypeByName, type GgmlTypeTraits } from './types';

function typeNamed(name: string): GgmlTypeTraits {
  const type = ggmlTypeByName(name);
  if (!type) throw new Error(`no type ${name}`);
  return type;
}

/** Index of the first value whose f32 bits differ, or -1. */
function firstBitMismatch(actual: Float32Array, expected: Float32Array): number {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  if (a.length !== e.length) return Math.min(a.length, e.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== e[i]) return i;
  return -1;
}

async function tensorValues(file: string, gguf: GgufFile, name: string): Promise<Float32Array> {
  const info = gguf.tensors.find((t) => t.name === name);
  if (!info) throw new Error(`${file} has no tensor ${name}`);
  return dequantize(info.type, await readTensorBytes(await fixtureBlob(file), info), info.elements);
}

describe('dequantization matches llama.cpp bit for bit', () => {
  const goldens = 'quant/random-llama-256x4/dequant';
  const types = readdirSync(fixturePath(goldens)).sort();

  it('has goldens for every fixture type', () => {
    expect(types).toEqual(['BF16', 'F16', 'Q2_K', 'Q3_K', 'Q4_0', 'Q4_1', 'Q4_K', 'Q5_0', 'Q5_1', 'Q5_K', 'Q6_K', 'Q8_0']);
  });

  it.each(types)('%s', async (typeName) => {
    const file = `quant/random-llama-256x4/pure/random-llama-256x4-${typeName}.gguf`;
    const gguf = await readGguf(await fixtureBlob(file));
    for (const name of ['blk.0.ffn_down.weight', 'blk.1.attn_v.weight']) {
      expect(gguf.tensors.find((t) => t.name === name)!.type.name).toBe(typeName);
      const golden = fixtureBytes(`${goldens}/${typeName}/${name}.f32`);
      const expected = new Float32Array(golden.buffer, golden.byteOffset, golden.length / 4);
      const actual = await tensorValues(file, gguf, name);
      expect(actual.length).toBe(expected.length);
      expect(firstBitMismatch(actual, expected), `${name}: first value whose bits differ`).toBe(-1);
    }
  });
});

describe('dequantized stories260K stays close to its F32 source', () => {
  const source = 'models/stories260K.gguf';
  /**
   * Worst error allowed per block, as a fraction of the block's largest |x|: half a quantization step (a whole one for
   * Q4_0 and Q5_0, whose codes reach one step less on the positive side), plus a little for the f16 scale's rounding.
   */
  const blockErrorBound: Record<string, number> = { Q8_0: 1 / 254 + 0.001, Q5_1: 1 / 31 + 0.002, Q5_0: 1 / 16 + 0.001, Q4_1: 1 / 15 + 0.002, Q4_0: 1 / 8 + 0.001 };

  it.each(['F16', 'BF16', 'Q8_0', 'Q5_1', 'Q5_0', 'Q4_1', 'Q4_0'])('%s', async (typeName) => {
    const file = `quant/stories260K/pure/stories260K-${typeName}.gguf`;
    const [sourceGguf, gguf] = await Promise.all([readGguf(await fixtureBlob(source)), readGguf(await fixtureBlob(file))]);
    const listing = tensorListing(file);
    expect(gguf.tensors.map((t) => t.name).sort()).toEqual(sourceGguf.tensors.map((t) => t.name).sort());
    for (const info of gguf.tensors) {
      expect(info.type.name, info.name).toBe(listing.find((t) => t.name === info.name)!.type);
      const original = await tensorValues(source, sourceGguf, info.name);
      const decoded = await tensorValues(file, gguf, info.name);
      if (!info.type.quantized) {
        const rounding: (x: number) => number = {
          F32: (x: number) => x,
          F16: roundThroughF16,
          BF16: (x: number) => bf16ToF32(f32ToBf16(x)),
        }[info.type.name]!;
        const expected = original.map(rounding);
        expect(firstBitMismatch(decoded, expected), `${info.name} (${info.type.name})`).toBe(-1);
        continue;
      }
      const bound = blockErrorBound[info.type.name];
      if (bound === undefined) expect.fail(`no error bound for ${info.type.name}`);
      const block = info.type.blockSize;
      for (let start = 0; start < original.length; start += block) {
        let largest = 0;
        let worst = 0;
        for (let i = start; i < start + block; i++) {
          largest = Math.max(largest, Math.abs(original[i]!));
          worst = Math.max(worst, Math.abs(decoded[i]! - original[i]!));
        }
        if (worst > bound * largest) {
          expect.fail(`${info.name} block at ${start}: error ${worst} > ${bound} × ${largest}`);
        }
      }
    }
  });
});

// Hand-built blocks of the types without fixture files. Expected values follow from each format's definition.
const F16_ONE = 0x3c00;
const F16_HALF = 0x3800;
const F16_TWO = 0x4000;

/** A zeroed block of `type` (or `count` blocks) that `fill` writes into. */
function blockOf(type: GgmlTypeTraits, fill: (view: DataView, bytes: Uint8Array) => void, count = 1): Uint8Array {
  const bytes = new Uint8Array(type.bytesPerBlock * count);
  fill(new DataView(bytes.buffer), bytes);
  return bytes;
}

function decodeBlocks(type: GgmlTypeTraits, bytes: Uint8Array): number[] {
  return Array.from(dequantize(type, bytes, (bytes.length / type.bytesPerBlock) * type.blockSize));
}

/** Entry `point` of a grid with `width` values per point. */
function gridPoint(grid: Uint8Array | Int8Array, width: number, point: number): number[] {
  return Array.from(grid.subarray(point * width, (point + 1) * width));
}

describe('hand-built blocks', () => {
  it('F32, F16, BF16, F64 and integer tensors', () => {
    const f32 = new Uint8Array(new Float32Array([1.5, -0, NaN, Infinity]).buffer);
    expect(decodeBlocks(typeNamed('F32'), f32)).toEqual([1.5, -0, NaN, Infinity]);
    expect(decodeBlocks(typeNamed('F16'), new Uint8Array([0x00, 0x3c, 0x01, 0x00, 0x00, 0xfc, 0xff, 0x7b]))).toEqual([1, 2 ** -24, -Infinity, 65504]);
    expect(decodeBlocks(typeNamed('BF16'), new Uint8Array([0x80, 0x3f, 0x49, 0xc0]))).toEqual([1, -3.140625]);
    const f64 = new Uint8Array(new Float64Array([0.1, -2]).buffer);
    expect(decodeBlocks(typeNamed('F64'), f64)).toEqual([Math.fround(0.1), -2]);
    expect(decodeBlocks(typeNamed('I8'), new Uint8Array([0x7f, 0x80]))).toEqual([127, -128]);
    expect(decodeBlocks(typeNamed('I16'), new Uint8Array([0x00, 0x80, 0xff, 0x7f]))).toEqual([-32768, 32767]);
    expect(decodeBlocks(typeNamed('I32'), new Uint8Array([0x01, 0x00, 0x00, 0x01]))).toEqual([16777216]); // 2^24 + 1 rounds to even
  });

  it('reads from an unaligned view inside a larger buffer', () => {
    for (const name of ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_K', 'IQ2_XS', 'Q8_K']) {
      const type = typeNamed(name);
      const bytes = Uint8Array.from({ length: type.bytesPerBlock * 2 }, (_, i) => (i * 37 + 11) & 0x3b); // finite f16/f32 scales
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      const elements = 2 * type.blockSize;
      expect(dequantize(type, shifted.subarray(3), elements), name).toEqual(dequantize(type, bytes, elements));
    }
  });

  it('Q1_0: one sign bit per value times d', () => {
    const values = decodeBlocks(typeNamed('Q1_0'), blockOf(typeNamed('Q1_0'), (v, b) => { v.setUint16(0, F16_HALF, true); b[2] = 0b00000101; b[17] = 0x80; }));
    expect(values.slice(0, 4)).toEqual([0.5, -0.5, 0.5, -0.5]);
    expect(values.slice(124)).toEqual([-0.5, -0.5, -0.5, 0.5]);
  });

  it('Q2_0: codes 0..3 mean -1, 0, 1, 2 times d', () => {
    const values = decodeBlocks(typeNamed('Q2_0'), blockOf(typeNamed('Q2_0'), (v, b) => { v.setUint16(0, F16_TWO, true); b[2] = 0b11100100; }));
    expect(values.slice(0, 5)).toEqual([-2, 0, 2, 4, -2]);
  });

  it('Q8_K: signed bytes times an f32 scale', () => {
    const type = typeNamed('Q8_K');
    const values = decodeBlocks(type, blockOf(type, (v) => { v.setFloat32(0, 0.25, true); v.setInt8(4, -128); v.setInt8(5, 127); v.setInt8(259, 3); }));
    expect([values[0], values[1], values[2], values[255]]).toEqual([-32, 31.75, 0, 0.75]);
  });

  it('IQ4_NL and IQ4_XS: nibbles index the non-linear code book', () => {
    const nl = typeNamed('IQ4_NL');
    const nlValues = decodeBlocks(nl, blockOf(nl, (v, b) => { v.setUint16(0, F16_HALF, true); b[2] = 0xf0; b[3] = 0x78; }));
    expect([nlValues[0], nlValues[16], nlValues[1], nlValues[17]]).toEqual([-63.5, 56.5, 0.5, -5]);

    // Group 0: 6-bit scale 33 (low nibble 1, high bits 2) → d · 1; group 1: scale 30 (14, 1) → d · −2.
    const xs = typeNamed('IQ4_XS');
    const xsValues = decodeBlocks(xs, blockOf(xs, (v, b) => {
      v.setUint16(0, F16_HALF, true);
      v.setUint16(2, 0b0110, true);
      b[4] = 0xe1;
      b[8] = 0xf0;
      b[24] = 0x08;
    }));
    expect([xsValues[0], xsValues[16], xsValues[32], xsValues[48], xsValues[64]]).toEqual([-63.5, 56.5, -1, 127, 2032]); // group 2: scale code 0 → d · −32
  });

  it('TQ1_0: base-3 digits stored as a fraction of 256', () => {
    // Trits (2, 0, 1, 1, 2) form 176 in base 3; stored as ceil(176 · 256 / 243) = 186. Digit k is value 32k (+ byte).
    // A 4-trit byte (0, 2, 1, 0) is 21 · 3 = 63 → ceil(63 · 256 / 243) = 67; digit k is value 240 + 4k (+ byte).
    const type = typeNamed('TQ1_0');
    const values = decodeBlocks(type, blockOf(type, (v, b) => { b[0] = 186; b[33] = 186; b[49] = 67; v.setUint16(52, F16_TWO, true); }));
    expect([0, 32, 64, 96, 128].map((i) => values[i])).toEqual([2, -2, 0, 0, 2]);
    expect([161, 177, 193, 209, 225].map((i) => values[i])).toEqual([2, -2, 0, 0, 2]);
    expect([241, 245, 249, 253].map((i) => values[i])).toEqual([-2, 2, 0, -2]);
    expect(values[1]).toBe(-2); // a zero byte is five −1 trits
  });

  it('TQ2_0: 2-bit codes 0..2 mean -1, 0, 1 times d', () => {
    const type = typeNamed('TQ2_0');
    const values = decodeBlocks(type, blockOf(type, (v, b) => { b[0] = 0b10_01_00_10; b[32] = 0b01; v.setUint16(64, F16_HALF, true); }));
    expect([values[0], values[32], values[64], values[96], values[128], values[1]]).toEqual([0.5, -0.5, 0, 0.5, 0, -0.5]);
  });

  it('MXFP4: E2M1 codes times a power-of-two scale', () => {
    // Scale byte 127 is 2^0; 130 is 2^3. E2M1 codes: 1 = 0.5, 7 = 6, 9 = −0.5, 15 = −6, 5 = 3.
    const type = typeNamed('MXFP4');
    const values = decodeBlocks(type, blockOf(type, (_, b) => { b[0] = 127; b[1] = 0x71; b[2] = 0xf9; b[17] = 130; b[18] = 0x05; }, 2));
    expect([values[0], values[16], values[1], values[17], values[32], values[48]]).toEqual([0.5, 6, -0.5, -6, 24, 0]);
  });

  it('NVFP4: E2M1 codes times an unsigned E4M3 scale per 16 values', () => {
    // 0x38 = 2^0 · 1.0, 0x3c = 2^0 · 1.5, 0x01 = 2^-9 (subnormal), 0x7f is treated as zero.
    const type = typeNamed('NVFP4');
    const values = decodeBlocks(type, blockOf(type, (_, b) => { b.set([0x38, 0x3c, 0x01, 0x7f]); b[4] = 0x27; b[12] = 0x02; b[20] = 0x07; b[28] = 0x77; }));
    expect([values[0], values[8], values[16], values[24], values[32], values[48]]).toEqual([6, 1, 1.5, 0, 6 * 2 ** -9, 0]);
  });

  it('IQ2_XXS: grid points, 7 sign bits plus parity, scale d · (s + ½) / 4', () => {
    const type = typeNamed('IQ2_XXS');
    // Group 0: points 0 (all 8) and 1; signs of the first 8 values: code 1 → value 0 negative, parity makes value 7 negative; scale code 3 → 0.875.
    const values = decodeBlocks(type, blockOf(type, (v, b) => { v.setUint16(0, F16_ONE, true); b[2] = 0; b[3] = 1; v.setUint32(6, (3 << 28) | 1, true); }));
    expect(values.slice(0, 8)).toEqual([-7, 7, 7, 7, 7, 7, 7, -7]);
    expect(gridPoint(IQ2XXS_GRID, 8, 1)).toEqual([43, 8, 8, 8, 8, 8, 8, 8]);
    expect(values.slice(8, 16)).toEqual([37.625, 7, 7, 7, 7, 7, 7, 7]);
    expect(values[32]).toBe(0.125 * 8); // group 1: scale code 0 → d / 8
  });

  it('IQ2_XS: 9-bit grid index and 7-bit sign code per 8 values, a scale nibble per 16', () => {
    const type = typeNamed('IQ2_XS');
    const values = decodeBlocks(type, blockOf(type, (v, b) => {
      v.setUint16(0, F16_ONE, true);
      v.setUint16(2, 1 | (3 << 9), true); // point 1, values 0 and 1 negative (even count: no parity bit)
      v.setUint16(6, 511, true); // values 16..23: point 511, scale from the high nibble
      b[66] = 0x31; // scales 1 → 0.375 and 3 → 0.875
    }));
    expect(values.slice(0, 3)).toEqual([-43 * 0.375, -8 * 0.375, 8 * 0.375]);
    expect(values.slice(16, 24)).toEqual(gridPoint(IQ2XS_GRID, 8, 511).map((g) => g * 0.875));
    expect(gridPoint(IQ2XS_GRID, 8, 511)).toEqual([43, 43, 43, 43, 43, 43, 43, 43]);
  });

  it('IQ2_S: 10-bit grid index, plain sign bytes', () => {
    const type = typeNamed('IQ2_S');
    const values = decodeBlocks(type, blockOf(type, (v, b) => {
      v.setUint16(0, F16_ONE, true);
      b[2] = 1; // values 0..7: point 1
      b[3] = 2; // values 8..15: point 2 | 3 << 8
      b[34] = 0x80; // value 7 negative, no parity rule
      b[66] = 0b1100;
      b[74] = 0x01; // scale 1 → 0.375
    }));
    expect(values.slice(0, 8)).toEqual([43, 8, 8, 8, 8, 8, 8, -8].map((g) => g * 0.375));
    expect(values.slice(8, 16)).toEqual(gridPoint(IQ2S_GRID, 8, 0x302).map((g) => g * 0.375));
  });

  it('IQ3_XXS: two 4-wide points per 8 values, scale d · (s + ½) / 2', () => {
    const type = typeNamed('IQ3_XXS');
    const values = decodeBlocks(type, blockOf(type, (v, b) => {
      v.setUint16(0, F16_ONE, true);
      b[2] = 0; // values 0..3: point 0 = (4, 4, 4, 4)
      b[3] = 255; // values 4..7: point 255
      v.setUint32(66, (1 << 28) | 0b0010000, true); // sign code 16: value 4 negative, parity: value 7 too; scale 0.75
    }));
    expect(gridPoint(IQ3XXS_GRID, 4, 255)).toEqual([4, 28, 52, 62]);
    expect(values.slice(0, 8)).toEqual([3, 3, 3, 3, -3, 21, 39, -46.5]);
  });

  it('IQ3_S: 9-bit grid index, plain sign bytes, scale d · (1 + 2s)', () => {
    const type = typeNamed('IQ3_S');
    const values = decodeBlocks(type, blockOf(type, (v, b) => {
      v.setUint16(0, F16_HALF, true);
      b[3] = 7; // values 4..7: point 7 | 256 (bit 1 of the high-bit byte)
      b[66] = 0b10;
      b[74] = 0b0000_0011; // values 0 and 1 negative
      b[106] = 0x52; // group 0: s = 2 → 2.5; group 1: s = 5 → 5.5
    }));
    expect(values.slice(0, 4)).toEqual([-2.5, -2.5, 2.5, 2.5]);
    expect(values.slice(4, 8)).toEqual(gridPoint(IQ3S_GRID, 4, 263).map((g) => g * 2.5));
    expect(values[32]).toBe(5.5);
  });

  it('IQ1_S: ternary grid shifted by ±1/8, scale d · (2s + 1)', () => {
    const type = typeNamed('IQ1_S');
    const values = decodeBlocks(type, blockOf(type, (v, b) => {
      v.setUint16(0, F16_ONE, true);
      b[3] = 0xff; // values 8..15: point 0x7ff = 2047 with high bits 7
      v.setUint16(34, 0x8000 | (3 << 12) | (7 << 3), true); // scale 7, delta −1/8
    }));
    expect(gridPoint(IQ1S_GRID, 8, 0)).toEqual([-1, -1, -1, -1, -1, -1, -1, -1]);
    expect(values.slice(0, 8)).toEqual(Array(8).fill(-7.875));
    expect(values.slice(8, 16)).toEqual(gridPoint(IQ1S_GRID, 8, 2047).map((g) => 7 * (g - 0.125)));
    expect(values[32]).toBe(-0.875); // group 1: scale 1, delta +1/8
  });

  it('IQ1_M: the f16 scale is spread over the top nibbles of the scale words', () => {
    // d = 1.0 = 0x3c00: nibbles 0, 0, c, 3 from words 0..3. Word 0 bits 0..2 = 1 (values 0..15: 3×), bits 3..5 = 2 (values 16..31: 5×).
    const type = typeNamed('IQ1_M');
    const values = decodeBlocks(type, blockOf(type, (v, b) => {
      b[32] = 0x80; // values 8..15: delta −1/8
      v.setUint16(48, 1 | (2 << 3), true);
      v.setUint16(52, 0xc000, true);
      v.setUint16(54, 0x3000, true);
    }));
    expect([values[0], values[8], values[16], values[24], values[32]]).toEqual([-2.625, -3.375, -4.375, -4.375, -0.875]);
  });
});

describe('i-quant grids', () => {
  /** FNV-1a over a table's bytes. */
  function fnv1a(bytes: Uint8Array | Int8Array): string {
    let hash = 0x811c9dc5;
    for (const byte of bytes) hash = Math.imul(hash ^ (byte & 0xff), 0x01000193) >>> 0;
    return hash.toString(16).padStart(8, '0');
  }

  it('equal the tables in ggml-common.h (hashes of their little-endian bytes)', () => {
    expect(Object.fromEntries(Object.entries({ IQ2XXS_GRID, IQ2XS_GRID, IQ2S_GRID, IQ3XXS_GRID, IQ3S_GRID, IQ1S_GRID }).map(([k, v]) => [k, fnv1a(v)]))).toEqual({
      IQ2XXS_GRID: '3db4a16e', IQ2XS_GRID: 'ebeb17dd', IQ2S_GRID: '82981110', IQ3XXS_GRID: '49a45035', IQ3S_GRID: '71cc6c89', IQ1S_GRID: '2fe8cbce',
    });
    expect(gridPoint(IQ2XXS_GRID, 8, 255)).toEqual([0x08, 0x19, 0x08, 0x08, 0x19, 0x2b, 0x2b, 0x2b]);
    expect(gridPoint(IQ3S_GRID, 4, 511)).toEqual([1, 1, 15, 15]);
    expect(gridPoint(IQ1S_GRID, 8, 1)).toEqual([1, -1, -1, -1, -1, -1, -1, -1]);
  });
});

describe('supported types and bad input', () => {
  it('decodes every GGML type but I64', () => {
    expect(GGML_TYPES.filter((t) => !canDequantize(t)).map((t) => t.name)).toEqual(['I64']);
  });

  it('throws UnsupportedTypeError naming the type', () => {
    const i64 = typeNamed('I64');
    expect(() => dequantize(i64, new Uint8Array(8), 1)).toThrow(UnsupportedTypeError);
    expect(() => dequantize(i64, new Uint8Array(8), 1)).toThrow(/I64/);
    const unknown: GgmlTypeTraits = { id: 99, name: 'Q9_9', blockSize: 32, bytesPerBlock: 20, quantized: true };
    expect(canDequantize(unknown)).toBe(false);
    expect(() => dequantizeRow(unknown, new Uint8Array(20), new Float32Array(32))).toThrow(/Q9_9/);
  });

  it('rejects partial blocks and short input', () => {
    const q4 = typeNamed('Q4_0');
    expect(() => dequantizeRow(q4, new Uint8Array(18), new Float32Array(16))).toThrow(RangeError);
    expect(() => dequantizeRow(q4, new Uint8Array(35), new Float32Array(64))).toThrow(/need 36 bytes, got 35/);
    expect(() => dequantize(typeNamed('F32'), new Uint8Array(7), 2)).toThrow(RangeError);
  });
});
