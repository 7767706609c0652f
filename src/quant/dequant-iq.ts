// Decoders of the non-linear and lattice formats: IQ4_NL, IQ4_XS (a 16-entry non-uniform code book), the grid
// ("i-quant") formats IQ2_XXS … IQ1_M, the ternary TQ1_0 / TQ2_0, and the FP4 formats MXFP4 / NVFP4.

import { fround, halfTable, u16At, u32At, type RowDecoder } from './dequant-common';
import { IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID } from './iq-grids';
import { GgmlType } from './types';

/** IQ4_NL / IQ4_XS code book: 16 levels, denser near zero. */
const IQ4_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** FP4 (E2M1) values doubled, so that they are integers: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives. */
const FP4_LEVELS = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/** IQ1 grid values are shifted by ±1/8 (the sign chosen per 8 values) before scaling. */
const IQ1_DELTA = 0.125;

/**
 * The 2-bit and 3-bit grids store 7 sign bits per group of 8 values; the 8th sign makes the count of negatives
 * even. Index = the 7 stored bits, value = all 8 sign bits.
 */
const SIGNS_WITH_PARITY = Uint8Array.from({ length: 128 }, (_, bits) => {
  let parity = 0;
  for (let i = 0; i < 7; i++) parity ^= (bits >> i) & 1;
  return bits | (parity << 7);
});

/** Writes 8 values db · grid[point] with the given sign bits (bit j set: value j negative). */
function writeSignedGroup(dst: Float32Array, y: number, db: number, grid: Uint8Array, point: number, signs: number): void {
  for (let j = 0; j < 8; j++) dst[y + j] = fround(db * grid[point * 8 + j]!) * ((signs >> j) & 1 ? -1 : 1);
}

/** Writes the 4 values of a 4-wide grid point, their signs taken from bits firstSign.. of `signs`. */
function writeSignedQuad(dst: Float32Array, y: number, db: number, grid: Uint8Array, point: number, signs: number, firstSign: number): void {
  for (let j = 0; j < 4; j++) dst[y + j] = fround(db * grid[point * 4 + j]!) * ((signs >> (firstSign + j)) & 1 ? -1 : 1);
}

/** The scale of a 2-bit grid group from its 4-bit code s: d · (s + ½) / 4. */
function iq2GroupScale(d: number, code: number): number {
  return fround(fround(d * (0.5 + code)) * 0.25);
}

/** IQ4_NL, 18 bytes per 32: f16 d, 16 bytes of nibbles (first half of the block in the low nibbles). */
const decodeIQ4_NL: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 18;
    const d = half[u16At(src, o)]!;
    for (let j = 0; j < 16; j++) {
      const byte = src[o + 2 + j]!;
      dst[b * 32 + j] = d * IQ4_LEVELS[byte & 0xf]!;
      dst[b * 32 + j + 16] = d * IQ4_LEVELS[byte >> 4]!;
    }
  }
};

/**
 * IQ4_XS, 136 bytes per 256: f16 d, u16 of high scale bits (2 per group), 4 bytes of low scale nibbles, 128 bytes of
 * nibbles (16 per group of 32, first half in the low nibbles). Group scale = d · (6-bit code − 32).
 */
const decodeIQ4_XS: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 136;
    const d = half[u16At(src, o)]!;
    const scalesHigh = u16At(src, o + 2);
    for (let group = 0; group < 8; group++) {
      const low = (src[o + 4 + (group >> 1)]! >> (4 * (group & 1))) & 0xf;
      const high = (scalesHigh >> (2 * group)) & 3;
      const scale = fround(d * ((low | (high << 4)) - 32));
      const y = b * 256 + group * 32;
      for (let j = 0; j < 16; j++) {
        const byte = src[o + 8 + group * 16 + j]!;
        dst[y + j] = scale * IQ4_LEVELS[byte & 0xf]!;
        dst[y + j + 16] = scale * IQ4_LEVELS[byte >> 4]!;
      }
    }
  }
};

/**
 * IQ2_XXS, 66 bytes: f16 d, then 8 bytes per group of 32: 4 grid indices (one per 8 values), then a u32 holding
 * four 7-bit sign codes and, in its top 4 bits, the group's scale code.
 */
const decodeIQ2_XXS: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 66;
    const d = half[u16At(src, o)]!;
    for (let group = 0; group < 8; group++) {
      const g = o + 2 + 8 * group;
      const signsAndScale = u32At(src, g + 4);
      const db = iq2GroupScale(d, signsAndScale >>> 28);
      for (let l = 0; l < 4; l++) {
        const signs = SIGNS_WITH_PARITY[(signsAndScale >>> (7 * l)) & 127]!;
        writeSignedGroup(dst, b * 256 + group * 32 + l * 8, db, IQ2XXS_GRID, src[g + l]!, signs);
      }
    }
  }
};

/**
 * IQ2_XS, 74 bytes: f16 d, 32 u16 (low 9 bits grid index, high 7 bits sign code, one per 8 values), 8 scale bytes
 * (a 4-bit code per 16 values, low nibble first).
 */
const decodeIQ2_XS: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 74;
    const d = half[u16At(src, o)]!;
    for (let group = 0; group < 8; group++) {
      const scaleByte = src[o + 66 + group]!;
      for (let l = 0; l < 4; l++) {
        const db = iq2GroupScale(d, (scaleByte >> (4 * (l >> 1))) & 0xf);
        const code = u16At(src, o + 2 + 2 * (4 * group + l));
        writeSignedGroup(dst, b * 256 + group * 32 + l * 8, db, IQ2XS_GRID, code & 511, SIGNS_WITH_PARITY[code >> 9]!);
      }
    }
  }
};

/**
 * IQ2_S, 82 bytes: f16 d, 32 bytes of low grid-index bits, 32 bytes of plain sign bits, 8 bytes of high index bits
 * (2 per 8 values), 8 scale bytes (as in IQ2_XS).
 */
const decodeIQ2_S: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 82;
    const d = half[u16At(src, o)]!;
    for (let group = 0; group < 8; group++) {
      const scaleByte = src[o + 74 + group]!;
      const highBits = src[o + 66 + group]!;
      for (let l = 0; l < 4; l++) {
        const db = iq2GroupScale(d, (scaleByte >> (4 * (l >> 1))) & 0xf);
        const point = src[o + 2 + 4 * group + l]! | (((highBits >> (2 * l)) & 3) << 8);
        writeSignedGroup(dst, b * 256 + group * 32 + l * 8, db, IQ2S_GRID, point, src[o + 34 + 4 * group + l]!);
      }
    }
  }
};

/**
 * IQ3_XXS, 98 bytes: f16 d, 64 grid indices (one per 4 values), then per group of 32 a u32 with four 7-bit sign codes
 * and a 4-bit scale code on top. Group scale = d · (s + ½) / 2.
 */
const decodeIQ3_XXS: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 98;
    const d = half[u16At(src, o)]!;
    for (let group = 0; group < 8; group++) {
      const signsAndScale = u32At(src, o + 66 + 4 * group);
      const db = fround(fround(d * (0.5 + (signsAndScale >>> 28))) * 0.5);
      for (let l = 0; l < 4; l++) {
        const signs = SIGNS_WITH_PARITY[(signsAndScale >>> (7 * l)) & 127]!;
        const points = o + 2 + 8 * group + 2 * l;
        const y = b * 256 + group * 32 + l * 8;
        writeSignedQuad(dst, y, db, IQ3XXS_GRID, src[points]!, signs, 0);
        writeSignedQuad(dst, y + 4, db, IQ3XXS_GRID, src[points + 1]!, signs, 4);
      }
    }
  }
};

/**
 * IQ3_S, 110 bytes: f16 d, 64 bytes of low grid-index bits (one index per 4 values), 8 bytes of 9th index bits,
 * 32 bytes of plain sign bits, 4 bytes of 4-bit scale codes (one per 32 values). Group scale = d · (1 + 2s).
 */
const decodeIQ3_S: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 110;
    const d = half[u16At(src, o)]!;
    for (let group = 0; group < 8; group++) {
      const db = fround(d * (1 + 2 * ((src[o + 106 + (group >> 1)]! >> (4 * (group & 1))) & 0xf)));
      const highBits = src[o + 66 + group]!;
      for (let l = 0; l < 4; l++) {
        const points = o + 2 + 8 * group + 2 * l;
        const signs = src[o + 74 + 4 * group + l]!;
        const y = b * 256 + group * 32 + l * 8;
        writeSignedQuad(dst, y, db, IQ3S_GRID, src[points]! | (((highBits >> (2 * l)) & 1) << 8), signs, 0);
        writeSignedQuad(dst, y + 4, db, IQ3S_GRID, src[points + 1]! | (((highBits >> (2 * l + 1)) & 1) << 8), signs, 4);
      }
    }
  }
};

/**
 * Writes 8 IQ1 values dl · (grid value ± delta). `high` holds the grid index's top 3 bits and, in bit 3, the sign of
 * the delta.
 */
function writeIq1Group(dst: Float32Array, y: number, dl: number, low: number, high: number): void {
  const point = low | ((high & 7) << 8);
  const delta = high & 8 ? -IQ1_DELTA : IQ1_DELTA;
  for (let j = 0; j < 8; j++) dst[y + j] = dl * (IQ1S_GRID[point * 8 + j]! + delta);
}

/**
 * IQ1_S, 50 bytes: f16 d, 32 bytes of low grid-index bits (one per 8 values), 8 u16 (one per 32 values): four
 * 3-bit high index bits, a 3-bit scale code s (group scale d · (2s + 1)), and the delta's sign in the top bit.
 */
const decodeIQ1_S: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 50;
    const d = half[u16At(src, o)]!;
    for (let group = 0; group < 8; group++) {
      const bits = u16At(src, o + 34 + 2 * group);
      const dl = fround(d * (2 * ((bits >> 12) & 7) + 1));
      const deltaSign = (bits >> 12) & 8;
      for (let l = 0; l < 4; l++) {
        writeIq1Group(dst, b * 256 + group * 32 + l * 8, dl, src[o + 2 + 4 * group + l]!, ((bits >> (3 * l)) & 7) | deltaSign);
      }
    }
  }
};

/**
 * IQ1_M, 56 bytes: 32 bytes of low grid-index bits, 16 bytes of nibbles (3 high index bits + delta sign, one per
 * 8 values), 8 bytes = 4 u16 of 3-bit scale codes (one per 16 values) whose top nibbles together form the f16 d.
 */
const decodeIQ1_M: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 56;
    const scaleWords = [0, 1, 2, 3].map((i) => u16At(src, o + 48 + 2 * i));
    const d = half[scaleWords.reduce((bits, word, i) => bits | ((word >> 12) << (4 * i)), 0)]!;
    for (let group = 0; group < 8; group++) {
      const scaleWord = scaleWords[group >> 1]!;
      for (let l = 0; l < 4; l++) {
        const scaleCode = (scaleWord >> (6 * (group & 1) + 3 * (l >> 1))) & 7;
        const dl = fround(d * (2 * scaleCode + 1));
        const high = (src[o + 32 + 2 * group + (l >> 1)]! >> (4 * (l & 1))) & 0xf;
        writeIq1Group(dst, b * 256 + group * 32 + l * 8, dl, src[o + 4 * group + l]!, high);
      }
    }
  }
};

/** The base-3 digit k (most significant first) of a byte that stores 5 (or 4) trits as a fraction of 256. */
function trit(byte: number, k: number): number {
  return ((((byte * 3 ** k) & 0xff) * 3) >> 8) - 1;
}

/**
 * TQ1_0, 54 bytes: 48 bytes holding 5 trits each (the first 32 bytes give values 0..159, the next 16 values
 * 160..239, digit-major), 4 bytes holding 4 trits each (values 240..255), f16 d. Trit t means (t − 1) · d.
 */
const decodeTQ1_0: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 54;
    const d = half[u16At(src, o + 52)]!;
    let y = b * 256;
    for (const [first, width, digits] of [[0, 32, 5], [32, 16, 5], [48, 4, 4]] as const) {
      for (let k = 0; k < digits; k++) {
        for (let m = 0; m < width; m++) dst[y++] = trit(src[o + first + m]!, k) * d;
      }
    }
  }
};

/** TQ2_0, 66 bytes: 64 bytes of 2-bit codes (each 32 bytes: 4 stripes of 32 values at shifts 0, 2, 4, 6), f16 d. */
const decodeTQ2_0: RowDecoder = (src, dst, blocks) => {
  const half = halfTable();
  for (let b = 0; b < blocks; b++) {
    const o = b * 66;
    const d = half[u16At(src, o + 64)]!;
    for (let e = 0; e < 256; e++) {
      const byte = src[o + 32 * (e >> 7) + (e & 31)]!;
      dst[b * 256 + e] = (((byte >> (2 * ((e >> 5) & 3))) & 3) - 1) * d;
    }
  }
};

/** MXFP4, 17 bytes per 32: an E8M0 exponent e (scale 2^(e−127), halved to undo the doubled levels), 16 nibble bytes. */
const decodeMXFP4: RowDecoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const o = b * 17;
    const d = 2 ** (src[o]! - 128);
    for (let j = 0; j < 16; j++) {
      const byte = src[o + 1 + j]!;
      dst[b * 32 + j] = FP4_LEVELS[byte & 0xf]! * d;
      dst[b * 32 + j + 16] = FP4_LEVELS[byte >> 4]! * d;
    }
  }
};

/**
 * An unsigned E4M3 scale byte (bit 7 ignored; 0x00 and 0x7F mean zero), halved to undo the doubled FP4 levels.
 */
function ue4m3Half(byte: number): number {
  if (byte === 0 || byte === 0x7f) return 0;
  const exponent = (byte >> 3) & 0xf;
  const mantissa = byte & 7;
  const value = exponent === 0 ? mantissa * 2 ** -9 : (1 + mantissa / 8) * 2 ** (exponent - 7);
  return value * 0.5;
}

/** NVFP4, 36 bytes per 64: 4 UE4M3 scales (one per 16 values), 32 nibble bytes (8 per 16 values, first half low). */
const decodeNVFP4: RowDecoder = (src, dst, blocks) => {
  for (let b = 0; b < blocks; b++) {
    const o = b * 36;
    for (let sub = 0; sub < 4; sub++) {
      const d = ue4m3Half(src[o + sub]!);
      const y = b * 64 + sub * 16;
      for (let j = 0; j < 8; j++) {
        const byte = src[o + 4 + sub * 8 + j]!;
        dst[y + j] = FP4_LEVELS[byte & 0xf]! * d;
        dst[y + j + 8] = FP4_LEVELS[byte >> 4]! * d;
      }
    }
  }
};

export const IQ_DECODERS: ReadonlyMap<number, RowDecoder> = new Map([
  [GgmlType.IQ4_NL, decodeIQ4_NL],
  [GgmlType.IQ4_XS, decodeIQ4_XS],
  [GgmlType.IQ2_XXS, decodeIQ2_XXS],
  [GgmlType.IQ2_XS, decodeIQ2_XS],
  [GgmlType.IQ2_S, decodeIQ2_S],
  [GgmlType.IQ3_XXS, decodeIQ3_XXS],
  [GgmlType.IQ3_S, decodeIQ3_S],
  [GgmlType.IQ1_S, decodeIQ1_S],
  [GgmlType.IQ1_M, decodeIQ1_M],
  [GgmlType.TQ1_0, decodeTQ1_0],
  [GgmlType.TQ2_0, decodeTQ2_0],
  [GgmlType.MXFP4, decodeMXFP4],
  [GgmlType.NVFP4, decodeNVFP4],
]);
