// Decoders of the simple block formats: one f16 scale (and for some a min) per block of 32 (or 64, 128) values.
// Q4_0, Q4_1, Q5_0, Q5_1: low 4 bits of each code in nibbles (value j of the first half in the low nibble of byte j,
// value j of the second half in its high nibble), the 5th bit (Q5) in a 32-bit mask; codes are offset by
// 8 or 16 when there is no min.

import { halfTable, i8At, u16At, u32At, type RowDecoder } from './dequant-common';
import { GgmlType } from './types';

/** Q4_0 / Q4_1 / Q5_0 / Q5_1: value = (code − zero) · d, or code · d + m for the types with a min. */
function nibbleDecoder(hasMin: boolean, hasHighBits: boolean): RowDecoder {
  const highBitsOffset = hasMin ? 4 : 2;
  const codesOffset = highBitsOffset + (hasHighBits ? 4 : 0);
  const bytesPerBlock = codesOffset + 16;
  const zero = hasMin ? 0 : hasHighBits ? 16 : 8;
  return (src, dst, blocks) => {
    const half = halfTable();
    for (let b = 0; b < blocks; b++) {
      const o = b * bytesPerBlock;
      const y = b * 32;
      const d = half[u16At(src, o)]!;
      const m = hasMin ? half[u16At(src, o + 2)]! : 0;
      const highBits = hasHighBits ? u32At(src, o + highBitsOffset) : 0;
      for (let j = 0; j < 16; j++) {
        const byte = src[o + codesOffset + j]!;
        const first = ((byte & 0xf) | (((highBits >>> j) << 4) & 0x10)) - zero;
        const second = ((byte >> 4) | ((highBits >>> (j + 12)) & 0x10)) - zero;
        // No "+ 0" for the types without a min: it would turn a −0 into +0.
        dst[y + j] = hasMin ? first * d + m : first * d;
        dst[y + j + 16] = hasMin ? second * d + m : second * d;
      }
    }
  };
}

/** Q8_0 / Q8_1: signed bytes times the f16 scale (Q8_1's second f16, d · Σcodes, is not needed to decode). */
function int8Decoder(codesOffset: number): RowDecoder {
  const bytesPerBlock = codesOffset + 32;
  return (src, dst, blocks) => {
    const half = halfTable();
    for (let b = 0; b < blocks; b++) {
      const o = b * bytesPerBlock;
      const d = half[u16At(src, o)]!;
      for (let j = 0; j < 32; j++) dst[b * 32 + j] = i8At(src, o + codesOffset + j) * d;
    }
  };
}

/** Q1_0: 128 values per block, one bit each: set means +d, clear means −d. */
const decodeQ1_0: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 18;
    const d = half[u16At(src, o)]!;
    for (let j = 0; j < 128; j++) dst[b * 128 + j] = (src[o + 2 + (j >> 3)]! >> (j & 7)) & 1 ? d : -d;
  }
};

/** Q2_0: 64 values per block, 2 bits each (lowest bits first), codes 0..3 meaning −1, 0, +1, +2 times d. */
const decodeQ2_0: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 18;
    const d = half[u16At(src, o)]!;
    for (let j = 0; j < 64; j++) dst[b * 64 + j] = (((src[o + 2 + (j >> 2)]! >> (2 * (j & 3))) & 3) - 1) * d;
  }
};

export const LEGACY_DECODERS: ReadonlyMap<number, RowDecoder> = new Map([
  [GgmlType.Q4_0, nibbleDecoder(false, false)],
  [GgmlType.Q4_1, nibbleDecoder(true, false)],
  [GgmlType.Q5_0, nibbleDecoder(false, true)],
  [GgmlType.Q5_1, nibbleDecoder(true, true)],
  [GgmlType.Q8_0, int8Decoder(2)],
  [GgmlType.Q8_1, int8Decoder(4)],
  [GgmlType.Q1_0, decodeQ1_0],
  [GgmlType.Q2_0, decodeQ2_0],
]);
