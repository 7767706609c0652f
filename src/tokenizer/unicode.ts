// Unicode helpers shared by the tokenizers: codepoint category flags (the
// classes llama.cpp's pre-tokenizers test), UTF-8 conversion, and GPT-2's
// byte <-> printable-character mapping.
//
// llama.cpp ships generated tables of Unicode general categories; we derive
// the same classes from the JavaScript engine's own Unicode data (RegExp
// property escapes), computed lazily per codepoint and cached.

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

let flagCache: Uint16Array | undefined;

function computeFlags(cp: number): number {
  // Lone surrogates cannot be tested as strings; Unicode classes them Cs (control).
  if (cp >= 0xd800 && cp <= 0xdfff) return CpFlag.CONTROL;
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
