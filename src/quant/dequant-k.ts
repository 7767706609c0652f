// Decoders of the k-quant super-block formats (256 values per block): Q2_K … Q6_K, and Q8_K.
// A super-block holds an f16 scale (and an f16 "scale of mins") and small per-group scales (and mins) quantized
// against it; value = group scale · code (− group min).

import { fround, halfTable, i8At, u16At, type RowDecoder } from './dequant-common';
import { GgmlType } from './types';

/**
 * Q2_K, 84 bytes: 16 scale bytes (low nibble scale, high nibble min, one per group of 16), 64 bytes of 2-bit codes,
 * f16 d, f16 dmin. The codes of each half (128 values) sit in 32 bytes, 4 stripes of 32 values at bit shifts 0, 2, 4, 6.
 */
const decodeQ2_K: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 84;
    const d = half[u16At(src, o + 80)]!;
    const dmin = half[u16At(src, o + 82)]!;
    for (let group = 0; group < 16; group++) {
      const e = group * 16;
      const scaleByte = src[o + group]!;
      const scale = fround(d * (scaleByte & 0xf));
      const min = fround(dmin * (scaleByte >> 4));
      const codes = o + 16 + 32 * (e >> 7) + (e & 31);
      const shift = 2 * ((e >> 5) & 3);
      for (let l = 0; l < 16; l++) dst[b * 256 + e + l] = scale * ((src[codes + l]! >> shift) & 3) - min;
    }
  }
};

/**
 * Q3_K, 110 bytes: 32 bytes of high bits (bit s of byte l belongs to value 32s + l), 64 bytes of low 2-bit codes
 * (laid out as in Q2_K), 12 bytes holding sixteen 6-bit group scales, f16 d. A clear high bit subtracts 4.
 */
const decodeQ3_K: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 110;
    const d = half[u16At(src, o + 108)]!;
    const scales = o + 96;
    for (let group = 0; group < 16; group++) {
      const e = group * 16;
      // Low 4 bits: group g's nibble of byte g mod 8 (low nibble for g < 8); high 2 bits: from bytes 8..11.
      const low = (src[scales + (group & 7)]! >> (4 * (group >> 3))) & 0xf;
      const high = (src[scales + 8 + (group & 3)]! >> (2 * (group >> 2))) & 3;
      const scale = fround(d * ((low | (high << 4)) - 32));
      const codes = o + 32 + 32 * (e >> 7) + (e & 31);
      const shift = 2 * ((e >> 5) & 3);
      const highBitMask = 1 << (e >> 5);
      const highBits = o + (e & 31);
      for (let l = 0; l < 16; l++) {
        const code = ((src[codes + l]! >> shift) & 3) - (src[highBits + l]! & highBitMask ? 0 : 4);
        dst[b * 256 + e + l] = scale * code;
      }
    }
  }
};

/**
 * The 6-bit scale and min of group j (0..7) from Q4_K's and Q5_K's 12 packed bytes: groups 0..3 in the low 6 bits
 * of bytes 0..3 (scales) and 4..7 (mins); groups 4..7 in the nibbles of bytes 8..11, topped by the 2 spare high
 * bits of bytes 0..7.
 */
function scaleAndMin(src: Uint8Array, packed: number, j: number): [scale: number, min: number] {
  if (j < 4) return [src[packed + j]! & 63, src[packed + j + 4]! & 63];
  const nibbles = src[packed + j + 4]!;
  return [(nibbles & 0xf) | ((src[packed + j - 4]! >> 6) << 4), (nibbles >> 4) | ((src[packed + j]! >> 6) << 4)];
}

/**
 * Q4_K (144 bytes) and Q5_K (176 bytes): f16 d, f16 dmin, 12 bytes of scales/mins for 8 groups of 32, then for Q5_K
 * 32 bytes of 5th bits (bit g of byte l belongs to value 32g + l), then 128 bytes of nibbles: each 32 bytes hold
 * two groups, the first in the low nibbles.
 */
function decoderQ4_KOrQ5_K(hasHighBits: boolean): RowDecoder {
  const bytesPerBlock = hasHighBits ? 176 : 144;
  const nibblesOffset = hasHighBits ? 48 : 16;
  return (src, dst, blocks) => {
    const half = halfTable();
    for (let b = 0; b < blocks; b++) {
      const o = b * bytesPerBlock;
      const d = half[u16At(src, o)]!;
      const dmin = half[u16At(src, o + 2)]!;
      for (let group = 0; group < 8; group++) {
        const [sc, m] = scaleAndMin(src, o + 4, group);
        const scale = fround(d * sc);
        const min = fround(dmin * m);
        const nibbles = o + nibblesOffset + 32 * (group >> 1);
        const shift = 4 * (group & 1);
        const y = b * 256 + group * 32;
        for (let l = 0; l < 32; l++) {
          const high = hasHighBits && (src[o + 16 + l]! >> group) & 1 ? 16 : 0;
          dst[y + l] = scale * (((src[nibbles + l]! >> shift) & 0xf) + high) - min;
        }
      }
    }
  };
}

/**
 * Q6_K, 210 bytes: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 signed 8-bit group scales (groups of
 * 16), f16 d. Each half (128 values) uses 64 nibble bytes and 32 high-bit bytes: value 32k + l of the half takes
 * nibble byte l (k even) or l + 32 (k odd), low nibble for k < 2, and the 2 bits at shift 2k of high byte l.
 */
const decodeQ6_K: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 210;
    const d = half[u16At(src, o + 208)]!;
    for (let h = 0; h < 2; h++) {
      for (let k = 0; k < 4; k++) {
        const nibbles = o + 64 * h + 32 * (k & 1);
        const nibbleShift = 4 * (k >> 1);
        const highBits = o + 128 + 32 * h;
        for (let l = 0; l < 32; l++) {
          const scale = fround(d * i8At(src, o + 192 + 8 * h + 2 * k + (l >> 4)));
          const code = (((src[nibbles + l]! >> nibbleShift) & 0xf) | (((src[highBits + l]! >> (2 * k)) & 3) << 4)) - 32;
          dst[b * 256 + 128 * h + 32 * k + l] = scale * code;
        }
      }
    }
  }
};

/** Q8_K, 292 bytes: f32 d, 256 signed bytes, 16 int16 group sums (only used by dot products). */
const decodeQ8_K: RowDecoder = (src, dst, blocks) => {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let b = 0; b < blocks; b++) {
    const o = b * 292;
    const d = view.getFloat32(o, true);
    for (let j = 0; j < 256; j++) dst[b * 256 + j] = d * i8At(src, o + 4 + j);
  }
};

export const K_DECODERS: ReadonlyMap<number, RowDecoder> = new Map([
  [GgmlType.Q2_K, decodeQ2_K],
  [GgmlType.Q3_K, decodeQ3_K],
  [GgmlType.Q4_K, decoderQ4_KOrQ5_K(false)],
  [GgmlType.Q5_K, decoderQ4_KOrQ5_K(true)],
  [GgmlType.Q6_K, decodeQ6_K],
  [GgmlType.Q8_K, decodeQ8_K],
]);
