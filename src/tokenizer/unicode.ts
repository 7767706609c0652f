// Unicode helpers shared by the tokenizers: codepoint category flags (the
// classes llama.cpp's pre-tokenizers test), UTF-8 conversion, and GPT-2's
// byte <-> printable-character mapping.
//
// llama.cpp ships generated tables of Unicode general categories; we derive
// the same classes from the JavaScript engine's own Unicode data (RegExp
// property escapes), computed lazily per codepoint and cached, and pin them to
// the Unicode version of llama.cpp's tables.

/** One bit per Unicode general-category group, as llama.cpp groups them. */
export const CpFlag = {
  UNDEFINED: 0x0001, // Cn (unassigned)
  NUMBER: 0x0002, // \p{N}
  LETTER: 0x0004, // \p{L}
  SEPARATOR: 0x0008, // \p{Z}
  MARK: 0x0010, // \p{M}
  PUNCTUATION: 0x0020, // \p{P}
  SYMBOL: 0x0040, // \p{S}
  CONTROL: 0x0080, // Cc, Cf, Co, Cs
  CATEGORIES: 0x00ff,
  WHITESPACE: 0x0100, // Unicode White_Space property
} as const;

const MAX_CODEPOINT = 0x10ffff;
/** Marks a cache slot as computed (a codepoint's flags may legitimately be 0 only past MAX_CODEPOINT). */
const COMPUTED = 0x8000;

// Order matters: Cn must be tested before the wider \p{C}.
const CATEGORY_TESTS: ReadonlyArray<readonly [RegExp, number]> = [
  [/\p{L}/u, CpFlag.LETTER],
  [/\p{N}/u, CpFlag.NUMBER],
  [/\p{Z}/u, CpFlag.SEPARATOR],
  [/\p{M}/u, CpFlag.MARK],
  [/\p{P}/u, CpFlag.PUNCTUATION],
  [/\p{S}/u, CpFlag.SYMBOL],
  [/\p{Cn}/u, CpFlag.UNDEFINED],
  [/\p{C}/u, CpFlag.CONTROL],
];
const WHITESPACE_TEST = /\p{White_Space}/u;

/**
 * Codepoints first assigned in Unicode 16.0 and 17.0, as inclusive [first, last]
 * pairs. llama.cpp's tables predate them (Unicode 15.1) and class them as
 * unassigned; we do too, whatever Unicode version the JS engine knows.
 */
const ASSIGNED_AFTER_15_1: readonly number[] = [
  0x88f, 0x88f, 0x897, 0x897, 0xc5c, 0xc5c, 0xcdc, 0xcdc, 0x1acf, 0x1add, 0x1ae0, 0x1aeb, 0x1b4e, 0x1b4f,
  0x1b7f, 0x1b7f, 0x1c89, 0x1c8a, 0x20c1, 0x20c1, 0x2427, 0x2429, 0x2b96, 0x2b96, 0x31e4, 0x31e5,
  0xa7cb, 0xa7cf, 0xa7d2, 0xa7d2, 0xa7d4, 0xa7d4, 0xa7da, 0xa7dc, 0xa7f1, 0xa7f1, 0xfbc3, 0xfbd2,
  0xfd90, 0xfd91, 0xfdc8, 0xfdce, 0x105c0, 0x105f3, 0x10940, 0x10959, 0x10d40, 0x10d65, 0x10d69, 0x10d85,
  0x10d8e, 0x10d8f, 0x10ec2, 0x10ec7, 0x10ed0, 0x10ed8, 0x10efa, 0x10efc, 0x11380, 0x11389, 0x1138b, 0x1138b,
  0x1138e, 0x1138e, 0x11390, 0x113b5, 0x113b7, 0x113c0, 0x113c2, 0x113c2, 0x113c5, 0x113c5, 0x113c7, 0x113ca,
  0x113cc, 0x113d5, 0x113d7, 0x113d8, 0x113e1, 0x113e2, 0x116d0, 0x116e3, 0x11b60, 0x11b67, 0x11bc0, 0x11be1,
  0x11bf0, 0x11bf9, 0x11db0, 0x11ddb, 0x11de0, 0x11de9, 0x11f5a, 0x11f5a, 0x13460, 0x143fa, 0x16100, 0x16139,
  0x16d40, 0x16d79, 0x16ea0, 0x16eb8, 0x16ebb, 0x16ed3, 0x16ff2, 0x16ff6, 0x187f8, 0x187ff, 0x18cff, 0x18cff,
  0x18d09, 0x18d1e, 0x18d80, 0x18df2, 0x1cc00, 0x1ccfc, 0x1cd00, 0x1ceb3, 0x1ceba, 0x1ced0, 0x1cee0, 0x1cef0,
  0x1e5d0, 0x1e5fa, 0x1e5ff, 0x1e5ff, 0x1e6c0, 0x1e6de, 0x1e6e0, 0x1e6f5, 0x1e6fe, 0x1e6ff, 0x1f6d8, 0x1f6d8,
  0x1f777, 0x1f77a, 0x1f8b2, 0x1f8bb, 0x1f8c0, 0x1f8c1, 0x1f8d0, 0x1f8d8, 0x1fa54, 0x1fa57, 0x1fa89, 0x1fa8a,
  0x1fa8e, 0x1fa8f, 0x1fabe, 0x1fabe, 0x1fac6, 0x1fac6, 0x1fac8, 0x1fac8, 0x1facd, 0x1facd, 0x1fadc, 0x1fadc,
  0x1fadf, 0x1fadf, 0x1fae9, 0x1faea, 0x1faef, 0x1faef, 0x1fbcb, 0x1fbef, 0x1fbfa, 0x1fbfa, 0x2b73a, 0x2b73f,
  0x2cea2, 0x2cead, 0x323b0, 0x33479,
];

function assignedAfter15_1(cp: number): boolean {
  let lo = 0;
  let hi = ASSIGNED_AFTER_15_1.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ASSIGNED_AFTER_15_1[2 * mid]!) hi = mid - 1;
    else if (cp > ASSIGNED_AFTER_15_1[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

let flagCache: Uint16Array | undefined;

function computeFlags(cp: number): number {
  // Lone surrogates cannot be tested as strings; Unicode classes them Cs (control).
  if (cp >= 0xd800 && cp <= 0xdfff) return CpFlag.CONTROL;
  if (assignedAfter15_1(cp)) return CpFlag.UNDEFINED;
  const ch = String.fromCodePoint(cp);
  let flags: number = CpFlag.UNDEFINED;
  for (const [test, flag] of CATEGORY_TESTS) {
    if (test.test(ch)) {
      flags = flag;
      break;
    }
  }
  if (WHITESPACE_TEST.test(ch)) flags |= CpFlag.WHITESPACE;
  return flags;
}

/** Category and whitespace flags of a codepoint; 0 for values outside Unicode. */
export function codepointFlags(cp: number): number {
  if (cp < 0 || cp > MAX_CODEPOINT) return 0;
  flagCache ??= new Uint16Array(MAX_CODEPOINT + 1);
  let flags = flagCache[cp]!;
  if (flags === 0) {
    flags = computeFlags(cp) | COMPUTED;
    flagCache[cp] = flags;
  }
  return flags & ~COMPUTED;
}

/** The codepoints of a JS string; lone surrogates become U+FFFD as a UTF-8 round trip would make them. */
export function codepointsOf(text: string): number[] {
  const cps: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    cps.push(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp);
  }
  return cps;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

export function utf8Encode(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8, replacing invalid sequences with U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

// ---- GPT-2 byte-level encoding ----------------------------------------------
// GPT-2 BPE vocabularies store bytes as printable characters: bytes that are
// printable Latin-1 map to themselves, the other 68 map to U+0100.. in order.

function isPrintableLatin1(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

function buildByteToChar(): string[] {
  const table: string[] = [];
  let next = 0x100;
  for (let byte = 0; byte < 256; byte++) {
    table.push(String.fromCodePoint(isPrintableLatin1(byte) ? byte : next++));
  }
  return table;
}

/** byte value -> its printable stand-in character. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** printable stand-in codepoint -> byte value. */
export const CHAR_TO_BYTE: ReadonlyMap<number, number> = new Map(BYTE_TO_CHAR.map((ch, byte) => [ch.codePointAt(0)!, byte]));

/** The GPT-2 byte-level form of a text: every UTF-8 byte replaced by its stand-in character. */
export function byteLevelEncode(text: string): string {
  let out = '';
  for (const byte of utf8Encode(text)) out += BYTE_TO_CHAR[byte]!;
  return out;
}

/** The string of `cps[start..end)`, built in chunks so long texts stay within argument-count limits. */
export function stringFromCodepoints(cps: readonly number[], start: number, end: number): string {
  const CHUNK = 4096;
  let out = '';
  for (let i = start; i < end; i += CHUNK) out += String.fromCodePoint(...cps.slice(i, Math.min(end, i + CHUNK)));
  return out;
}
