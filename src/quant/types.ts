// The one table of GGML tensor types: every type id that llama.cpp defines,
// with its name, block size (elements per block) and bytes per block.
// Readers, writers, size computations and quantizers all look types up here.

export interface GgmlTypeTraits {
  /** Numeric id as stored in GGUF tensor infos. */
  readonly id: number;
  /** llama.cpp's upper-case name, e.g. "Q4_K". */
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly bytesPerBlock: number;
  /** True for block-quantized types (everything but plain floats and ints). */
  readonly quantized: boolean;
}

function row(id: number, name: string, blockSize: number, bytesPerBlock: number, quantized = true): GgmlTypeTraits {
  return { id, name, blockSize, bytesPerBlock, quantized };
}

/** Ids 4, 5 (Q4_2, Q4_3) and 31..33, 36..38 (repacked layouts) were removed from GGUF by llama.cpp. */
export const GGML_TYPES: readonly GgmlTypeTraits[] = [
  row(0, 'F32', 1, 4, false),
  row(1, 'F16', 1, 2, false),
  row(2, 'Q4_0', 32, 18),
  row(3, 'Q4_1', 32, 20),
  row(6, 'Q5_0', 32, 22),
  row(7, 'Q5_1', 32, 24),
  row(8, 'Q8_0', 32, 34),
  row(9, 'Q8_1', 32, 36),
  row(10, 'Q2_K', 256, 84),
  row(11, 'Q3_K', 256, 110),
  row(12, 'Q4_K', 256, 144),
  row(13, 'Q5_K', 256, 176),
  row(14, 'Q6_K', 256, 210),
  row(15, 'Q8_K', 256, 292),
  row(16, 'IQ2_XXS', 256, 66),
  row(17, 'IQ2_XS', 256, 74),
  row(18, 'IQ3_XXS', 256, 98),
  row(19, 'IQ1_S', 256, 50),
  row(20, 'IQ4_NL', 32, 18),
  row(21, 'IQ3_S', 256, 110),
  row(22, 'IQ2_S', 256, 82),
  row(23, 'IQ4_XS', 256, 136),
  row(24, 'I8', 1, 1, false),
  row(25, 'I16', 1, 2, false),
  row(26, 'I32', 1, 4, false),
  row(27, 'I64', 1, 8, false),
  row(28, 'F64', 1, 8, false),
  row(29, 'IQ1_M', 256, 56),
  row(30, 'BF16', 1, 2, false),
  row(34, 'TQ1_0', 256, 54),
  row(35, 'TQ2_0', 256, 66),
  row(39, 'MXFP4', 32, 17),
  row(40, 'NVFP4', 64, 36),
  row(41, 'Q1_0', 128, 18),
  row(42, 'Q2_0', 64, 18),
];

/** Named ids for the types the code refers to directly. */
export const GgmlType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15,
  IQ2_XXS: 16, IQ2_XS: 17, IQ3_XXS: 18, IQ1_S: 19, IQ4_NL: 20, IQ3_S: 21, IQ2_S: 22, IQ4_XS: 23,
  I8: 24, I16: 25, I32: 26, I64: 27, F64: 28, IQ1_M: 29, BF16: 30,
  TQ1_0: 34, TQ2_0: 35, MXFP4: 39, NVFP4: 40, Q1_0: 41, Q2_0: 42,
} as const;

const byId = new Map(GGML_TYPES.map((t) => [t.id, t]));
const byName = new Map(GGML_TYPES.map((t) => [t.name, t]));

/** Traits for a type id, or undefined when llama.cpp defines no such type. */
export function ggmlTypeById(id: number): GgmlTypeTraits | undefined {
  return byId.get(id);
}

/** Traits for a type name (case-insensitive), or undefined. */
export function ggmlTypeByName(name: string): GgmlTypeTraits | undefined {
  return byName.get(name.toUpperCase());
}

/** Traits for a type name (any case); throws for a name that is not in the table. */
export function ggmlTypeNamed(name: string): GgmlTypeTraits {
  const t = ggmlTypeByName(name);
  if (!t) throw new RangeError(`unknown GGML type ${name}`);
  return t;
}

/** Traits for a type id; throws for an id that is not in the table. */
export function ggmlType(id: number): GgmlTypeTraits {
  const t = byId.get(id);
  if (!t) throw new RangeError(`unknown GGML type id ${id}`);
  return t;
}

/** Bytes that `elements` values of `type` occupy; the count must be a whole number of blocks. */
export function tensorBytes(type: GgmlTypeTraits, elements: number): number {
  if (elements % type.blockSize !== 0) {
    throw new RangeError(`${elements} elements is not a multiple of ${type.name}'s block size ${type.blockSize}`);
  }
  return (elements / type.blockSize) * type.bytesPerBlock;
}

/** Bits per weight of a type, e.g. 4.5 for Q4_0. */
export function bitsPerWeight(type: GgmlTypeTraits): number {
  return (type.bytesPerBlock * 8) / type.blockSize;
}
