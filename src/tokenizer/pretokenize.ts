// Pre-tokenization for GPT-2 style BPE: splitting text into words before
// merges, with the regex lists llama.cpp picks by `tokenizer.ggml.pre`.
//
// llama.cpp applies the regexes one after another, each one re-splitting the
// pieces the previous one produced. Two regexes (GPT-2's and Llama 3's) run as
// hand-written scanners; the rest run as ECMAScript regexes on a "collapsed"
// text where every non-ASCII codepoint is replaced by one stand-in character
// per Unicode category, so \p{L} etc. become plain character classes. We do
// the same, so the splits (quirks included) match llama.cpp's.

import { TokenizerError } from './errors';
import { CpFlag, codepointFlags, codepointsOf, stringFromCodepoints } from './unicode';

// ---- the regexes, as llama.cpp writes them ----------------------------------

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
// Non-ASCII characters are written as \u{..} escapes: several of these are
// canonically equivalent to other codepoints and must not be normalized by editors.
const BLOOM = ' ?[^(\\s|.,!?\\u{2026}\\u{3002}\\u{ff0c}\\u{3001}\\u{964}\\u{6d4}\\u{60c})]+';
const CJK = '[\\u{4e00}-\\u{9fa5}\\u{800}-\\u{4e00}\\u{ac00}-\\u{d7ff}]+';
const CJK_KANA = '[\\u{4e00}-\\u{9fa5}\\u{3040}-\\u{309f}\\u{30a0}-\\u{30ff}]+';
const DEEPSEEK_LLM_LETTERS =
  '\\s?[A-Za-z\\u{b5}\\u{c0}-\\u{d6}\\u{d8}-\\u{f6}\\u{f8}-\\u{1ba}\\u{1bc}-\\u{1bf}\\u{1c4}-\\u{293}\\u{295}-\\u{2af}' +
  '\\u{370}-\\u{373}\\u{376}\\u{377}\\u{37b}-\\u{37d}\\u{37f}\\u{386}\\u{388}-\\u{38a}\\u{38c}\\u{38e}-\\u{3a1}\\u{3a3}-\\u{3f5}' +
  '\\u{3f7}-\\u{481}\\u{48a}-\\u{52f}\\u{531}-\\u{556}\\u{10a0}-\\u{10c5}\\u{13a0}-\\u{13f5}\\u{13f8}-\\u{13fd}\\u{1c90}-\\u{1cba}' +
  '\\u{1cbd}-\\u{1cbf}\\u{1d00}-\\u{1d2b}\\u{1d6b}-\\u{1d77}\\u{1d79}-\\u{1d9a}\\u{1e00}-\\u{1f15}\\u{1f18}-\\u{1f1d}\\u{1f20}-\\u{1f45}' +
  '\\u{1f48}-\\u{1f4d}\\u{1f50}-\\u{1f57}\\u{1f59}\\u{1f5b}\\u{1f5d}\\u{1f5f}-\\u{1f7d}\\u{1f80}-\\u{1fb4}\\u{1fb6}-\\u{1fbc}\\u{1fbe}' +
  '\\u{1fc2}-\\u{1fc4}\\u{1fc6}-\\u{1fcc}\\u{1fd0}-\\u{1fd3}\\u{1fd6}-\\u{1fdb}\\u{1fe0}-\\u{1fec}\\u{1ff2}-\\u{1ff4}\\u{1ff6}-\\u{1ffc}' +
  '\\u{2102}\\u{2107}\\u{210a}-\\u{2113}\\u{2115}\\u{2119}-\\u{211d}\\u{2124}\\u{2126}\\u{2128}\\u{212a}-\\u{212d}\\u{212f}-\\u{2134}' +
  '\\u{2139}\\u{213c}-\\u{213f}\\u{2145}-\\u{2149}\\u{214e}\\u{2183}\\u{2184}\\u{2c00}-\\u{2c7b}\\u{2c7e}-\\u{2ce4}\\u{2ceb}-\\u{2cee}' +
  '\\u{2cf2}\\u{2cf3}\\u{a640}-\\u{a66d}\\u{a680}-\\u{a69b}\\u{a722}-\\u{a76f}\\u{a771}-\\u{a787}\\u{a78b}-\\u{a78e}\\u{ab70}-\\u{abbf}' +
  '\\u{fb00}-\\u{fb06}\\u{fb13}-\\u{fb17}\\u{ff21}-\\u{ff3a}\\u{ff41}-\\u{ff5a}\\u{10400}-\\u{1044f}\\u{104b0}-\\u{104d3}' +
  '\\u{104d8}-\\u{104fb}\\u{10c80}-\\u{10cb2}\\u{10cc0}-\\u{10cf2}\\u{118a0}-\\u{118df}\\u{1e900}-\\u{1e943}]+';
const DEEPSEEK_LLM_PUNCTUATION = '\\s?[!-/:-~\\u{ff01}-\\u{ff0f}\\u{ff1a}-\\u{ff5e}\\u{2018}-\\u{201f}\\u{3000}-\\u{3002}]+';
const DEEPSEEK_V3 =
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN =
  '[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const GPT4O =
  `[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

const QWEN35 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const BAILINGMOE = "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
const SEED_CODER = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const UFAKZEKA = '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const EXAONE_MOE = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+`;
const SPARK2_5 =
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+";
const MINICPM5 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const JAIS2 =
  `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|` +
  '\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}';
const GRANITE_EMBED_MULTI =
  `[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const YOUTU_CJK =
  '[\\u{ac00}-\\u{d7a3}\\u{3131}-\\u{318e}]+|[\\u{ff01}\\u{2026}\\u{201c}\\u{201d}\\u{2018}\\u{2019}\\u{2014}\\u{ff1a}\\u{ff1b}\\u{ff0c}\\u{3001}-\\u{303f}\\u{fe30}-\\u{fe4f}]+|[\\u{3105}-\\u{312f}]+|' +
  '[\\u{4e00}-\\u{9fa5}\\u{3040}-\\u{309f}\\u{30a0}-\\u{30ff}]+';
const YOUTU =
  `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS}?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

/** How a `tokenizer.ggml.pre` value tokenizes, as llama.cpp sets it up. */
export interface PreTokenizerConfig {
  regexes: readonly string[];
  /** llama.cpp's clean_spaces: tidy " ," and " 's" style spaces when decoding. */
  cleanSpaces: boolean;
  /** A whole pre-token that is itself in the vocabulary is emitted without merging. */
  ignoreMerges: boolean;
  /** Pre-tokenizer forces add_bos on (metadata may still override it). */
  addBos: boolean;
  /** Pre-tokenizer has no BOS token at all. */
  noBos: boolean;
}

interface PreEntry {
  names: readonly string[];
  regexes: readonly string[];
  cleanSpaces?: boolean;
  ignoreMerges?: boolean;
  addBos?: boolean;
  noBos?: boolean;
}

const PRE_TOKENIZERS: readonly PreEntry[] = [
  { names: ['default'], regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'] },
  {
    names: ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'],
    regexes: [LLAMA3], ignoreMerges: true, addBos: true,
  },
  { names: ['dbrx', 'smaug-bpe'], regexes: [LLAMA3] },
  { names: ['glm4', 'chatglm-bpe'], regexes: [LLAMA3], noBos: true },
  {
    names: ['deepseek-llm'],
    regexes: ['[\r\n]', DEEPSEEK_LLM_LETTERS, DEEPSEEK_LLM_PUNCTUATION, '\\s+$', CJK, '\\p{N}+'],
    cleanSpaces: false,
  },
  { names: ['deepseek-coder'], regexes: ['[\r\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', CJK, '\\p{N}'], cleanSpaces: false },
  { names: ['deepseek-v3', 'hunyuan-dense', 'hy_v4', 'joyai-llm'], regexes: ['\\p{N}{1,3}', CJK_KANA, DEEPSEEK_V3], cleanSpaces: false },
  { names: ['spark2_5'], regexes: ['\\p{N}{1,3}', CJK_KANA, SPARK2_5, '\\p{N}'], cleanSpaces: false },
  { names: ['youtu'], regexes: [YOUTU_CJK, YOUTU], cleanSpaces: false, ignoreMerges: true },
  { names: ['falcon'], regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'] },
  {
    names: ['gpt-2', 'phi-2', 'mpt', 'olmo', 'jais', 'jina-es', 'jina-de', 'jina-v2-es', 'jina-v2-de', 'gigachat', 'a.x-4.0', 'exaone4',
      'mellum', 'modern-bert'],
    regexes: [GPT2],
  },
  { names: ['trillion', 'granite-docling'], regexes: [GPT2], cleanSpaces: false },
  { names: ['starcoder', 'refact', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'], regexes: ['\\p{N}', GPT2] },
  { names: ['command-r', 'smollm'], regexes: ['\\p{N}', GPT2], cleanSpaces: false },
  { names: ['stablelm2', 'megrez'], regexes: [QWEN2] },
  { names: ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'hunyuan', 'grok-2', 'solar-open'], regexes: [QWEN2], cleanSpaces: false },
  { names: ['qwen35'], regexes: [QWEN35], cleanSpaces: false },
  { names: ['bailingmoe', 'bailingmoe2', 'llada-moe'], regexes: [BAILINGMOE], cleanSpaces: false },
  { names: ['seed-coder'], regexes: [SEED_CODER], cleanSpaces: false },
  { names: ['ufakzeka'], regexes: [UFAKZEKA], cleanSpaces: false },
  { names: ['laguna'], regexes: ['[^\\n]+|[\\n]+', QWEN2], cleanSpaces: false },
  { names: ['exaone-moe'], regexes: [EXAONE_MOE] },
  { names: ['minicpm5'], regexes: ['\\p{N}{1,3}', MINICPM5], ignoreMerges: true },
  { names: ['jais-2'], regexes: [JAIS2] },
  { names: ['bloom', 'gpt3-finnish'], regexes: [BLOOM] },
  { names: ['poro-chat'], regexes: [BLOOM], cleanSpaces: false },
  { names: ['viking'], regexes: [BLOOM, '\\p{N}'], cleanSpaces: false },
  { names: ['tekken'], regexes: [TEKKEN], cleanSpaces: false, ignoreMerges: true, addBos: true },
  { names: ['gpt-4o', 'llama4', 'kanana2', 'talkie', 'minimax-m2'], regexes: [GPT4O], cleanSpaces: false },
  { names: ['granite-embed-multi-97m'], regexes: [GRANITE_EMBED_MULTI], cleanSpaces: false, ignoreMerges: true },
];

/** The configuration for a pre-tokenizer name; an absent name means llama.cpp's default. */
export function preTokenizerConfig(name: string | undefined): PreTokenizerConfig {
  const key = name === undefined || name === '' ? 'default' : name;
  const entry = PRE_TOKENIZERS.find((e) => e.names.includes(key));
  if (!entry) throw new TokenizerError(`unknown pre-tokenizer type '${key}' (tokenizer.ggml.pre)`);
  return {
    regexes: entry.regexes,
    cleanSpaces: entry.cleanSpaces ?? true,
    ignoreMerges: entry.ignoreMerges ?? false,
    addBos: entry.addBos ?? false,
    noBos: entry.noBos ?? false,
  };
}

export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = PRE_TOKENIZERS.flatMap((e) => e.names);

// ---- compiling the regexes ----------------------------------------------------

/** Stand-in characters of the collapsed text, one per category (as in llama.cpp). */
const COLLAPSED_OTHER = 0xd0;
const COLLAPSED_WHITESPACE = 0x0b;
const COLLAPSED_BY_CATEGORY = new Map<number, number>([
  [CpFlag.NUMBER, 0xd1],
  [CpFlag.LETTER, 0xd2],
  [CpFlag.PUNCTUATION, 0xd3],
  [CpFlag.MARK, 0xd4],
  [CpFlag.SYMBOL, 0xd5],
]);

/**
 * Class contents a \p{..} becomes in a collapsed regex: the category's stand-in
 * plus its ASCII members. llama.cpp's ASCII symbol list leaves out '~'; so do we.
 */
const CATEGORY_CLASS: Readonly<Record<string, string>> = {
  N: '\\xD10-9',
  L: '\\xD2A-Za-z',
  Lu: '\\xD2A-Za-z',
  Ll: '\\xD2A-Za-z',
  Lt: '\\xD2A-Za-z',
  Lm: '\\xD2A-Za-z',
  Lo: '\\xD2A-Za-z',
  P: '\\xD3!-#%-*,-/:;?@\\[-\\]_{}',
  M: '\\xD4',
  S: '\\xD5$+<->^`|',
};

/** C's isspace set: what std::regex's \s matches (non-ASCII whitespace is mapped onto \v first). */
const ASCII_SPACE = '\\t-\\r ';

type Splitter =
  | { kind: 'gpt2' }
  | { kind: 'llama3' }
  | { kind: 'collapsed'; regex: RegExp }
  | { kind: 'codepoints'; regex: RegExp };

function usesCategories(regex: string): boolean {
  return /\\p\{(?:N|L|P|M|S|Lu|Ll|Lt|Lm|Lo)\}/.test(regex);
}

/**
 * Rewrites a llama.cpp regex for JavaScript: \p{..} become collapsed-text
 * classes (when `collapsed`), and \s / \S become the ASCII set std::regex uses.
 */
function translateRegex(source: string, collapsed: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (next === 'p' && source[i + 2] === '{') {
        const close = source.indexOf('}', i + 3);
        const name = source.slice(i + 3, close);
        const members = CATEGORY_CLASS[name];
        if (close < 0 || members === undefined || !collapsed) {
          throw new TokenizerError(`unsupported Unicode class in pre-tokenizer regex: ${source.slice(i, close + 1)}`);
        }
        out += inClass ? members : `[${members}]`;
        i = close;
      } else if (next === 's') {
        out += inClass ? ASCII_SPACE : `[${ASCII_SPACE}]`;
        i++;
      } else if (next === 'S') {
        if (inClass) throw new TokenizerError(`unsupported \\S inside a class in pre-tokenizer regex: ${source}`);
        out += `[^${ASCII_SPACE}]`;
        i++;
      } else {
        out += ch + next;
        i++;
      }
      continue;
    }
    if (ch === '[' && !inClass) inClass = true;
    else if (ch === ']' && inClass) inClass = false;
    out += ch;
  }
  return out;
}

function compileSplitter(regex: string): Splitter {
  if (regex === GPT2) return { kind: 'gpt2' };
  if (regex === LLAMA3) return { kind: 'llama3' };
  if (usesCategories(regex)) {
    if (/[^\x00-\x7f]/.test(regex)) {
      throw new TokenizerError(`pre-tokenizer regex mixes Unicode classes and non-ASCII characters: ${regex}`);
    }
    return { kind: 'collapsed', regex: new RegExp(translateRegex(regex, true), 'g') };
  }
  return { kind: 'codepoints', regex: new RegExp(translateRegex(regex, false), 'gu') };
}

// ---- splitting ----------------------------------------------------------------

/** A text being split: its codepoints and their flags, looked up once. */
interface SplitText {
  cps: readonly number[];
  flags: Uint16Array;
}

/** Splits `text` into the pieces (word lengths in codepoints) one scanner finds inside a span. */
type SpanScanner = (t: SplitText, start: number, end: number, out: number[]) => void;

/** GPT-2's regex as a scanner: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
function scanGpt2(t: SplitText, start: number, end: number, out: number[]): void {
  const cpAt = (pos: number): number => (pos < end ? t.cps[pos]! : -1);
  const flagsAt = (pos: number): number => (pos < end ? t.flags[pos]! : 0);
  const WORDISH = CpFlag.WHITESPACE | CpFlag.LETTER | CpFlag.NUMBER;
  let pos = start;
  const emit = (to: number): void => {
    out.push(to - pos);
    pos = to;
  };
  while (pos < end) {
    const cp = cpAt(pos);
    if (cp === 0x27 /* ' */ && pos + 1 < end) {
      const next = cpAt(pos + 1);
      if (next === 0x73 || next === 0x74 || next === 0x6d || next === 0x64) { // s t m d
        emit(pos + 2);
        continue;
      }
      if (pos + 2 < end) {
        const next2 = cpAt(pos + 2);
        if ((next === 0x72 && next2 === 0x65) || (next === 0x76 && next2 === 0x65) || (next === 0x6c && next2 === 0x6c)) { // re ve ll
          emit(pos + 3);
          continue;
        }
      }
    }
    const spaced = cp === 0x20;
    const head = spaced ? flagsAt(pos + 1) : flagsAt(pos);
    const runOf = (test: (f: number) => boolean): boolean => {
      if (!test(head)) return false;
      let p = pos + (spaced ? 1 : 0);
      while (test(flagsAt(p))) p++;
      emit(p);
      return true;
    };
    if (runOf((f) => (f & CpFlag.LETTER) !== 0)) continue;
    if (runOf((f) => (f & CpFlag.NUMBER) !== 0)) continue;
    if (runOf((f) => f !== 0 && (f & WORDISH) === 0)) continue;
    let spaces = 0;
    while (flagsAt(pos + spaces) & CpFlag.WHITESPACE) spaces++;
    if (spaces > 1 && pos + spaces < end) emit(pos + spaces - 1); // \s+(?!\S): leave one space for the next word
    else if (spaces > 0) emit(pos + spaces);
    else emit(pos + 1);
  }
}

const isNewline = (cp: number): boolean => cp === 0x0a || cp === 0x0d;

/** Llama 3's regex as a scanner (case-insensitive contractions, digits in threes, newline runs). */
function scanLlama3(t: SplitText, start: number, end: number, out: number[]): void {
  const cpAt = (pos: number): number => (pos < end ? t.cps[pos]! : -1);
  const flagsAt = (pos: number): number => (pos < end ? t.flags[pos]! : 0);
  const asciiLower = (cp: number): number => (cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp);
  const WORDISH = CpFlag.WHITESPACE | CpFlag.LETTER | CpFlag.NUMBER;
  let pos = start;
  const emit = (to: number): void => {
    out.push(to - pos);
    pos = to;
  };
  while (pos < end) {
    const cp = cpAt(pos);
    const flags = flagsAt(pos);
    if (cp === 0x27 && pos + 1 < end) {
      const next = asciiLower(cpAt(pos + 1));
      if (next === 0x73 || next === 0x74 || next === 0x6d || next === 0x64) {
        emit(pos + 2);
        continue;
      }
      if (pos + 2 < end) {
        const next2 = asciiLower(cpAt(pos + 2));
        if ((next === 0x72 && next2 === 0x65) || (next === 0x76 && next2 === 0x65) || (next === 0x6c && next2 === 0x6c)) {
          emit(pos + 3);
          continue;
        }
      }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!isNewline(cp) && !(flags & CpFlag.NUMBER)) {
      if (flags & CpFlag.LETTER || flagsAt(pos + 1) & CpFlag.LETTER) {
        let p = pos + 1;
        while (flagsAt(p) & CpFlag.LETTER) p++;
        emit(p);
        continue;
      }
    }
    // \p{N}{1,3}
    if (flags & CpFlag.NUMBER) {
      let p = pos;
      while (flagsAt(p) & CpFlag.NUMBER) {
        p++;
        if (p - pos >= 3) emit(p);
      }
      if (p > pos) emit(p);
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*' (llama.cpp tests the unshifted flags for "in range" here)
    const spaced = cp === 0x20;
    let head = spaced ? flagsAt(pos + 1) : flags;
    if ((head & WORDISH) === 0 && flags !== 0) {
      let p = pos + (spaced ? 1 : 0);
      while ((head & WORDISH) === 0 && head !== 0) head = flagsAt(++p);
      while (isNewline(cpAt(p))) p++;
      emit(p);
      continue;
    }
    let spaces = 0;
    let afterLastNewline = 0;
    while (flagsAt(pos + spaces) & CpFlag.WHITESPACE) {
      if (isNewline(cpAt(pos + spaces))) afterLastNewline = pos + spaces + 1;
      spaces++;
    }
    if (afterLastNewline > 0) emit(afterLastNewline); // \s*[\r\n]+
    else if (spaces > 1 && pos + spaces < end) emit(pos + spaces - 1); // \s+(?!\S)
    else if (spaces > 0) emit(pos + spaces); // \s+
    else emit(pos + 1);
  }
}

/**
 * Runs a JS regex over the span's text (`subject`) like std::regex_iterator:
 * every match is a piece, and so is every gap between matches.
 */
function scanWithRegex(
  regex: RegExp,
  subject: (start: number, end: number) => string,
  countCodepoints: (s: string) => number,
): SpanScanner {
  return (_t, start, end, out) => {
    const span = subject(start, end);
    regex.lastIndex = 0;
    let consumed = 0; // UTF-16 index in span
    for (let m = regex.exec(span); m !== null; m = regex.exec(span)) {
      if (m[0].length === 0) {
        regex.lastIndex = m.index + 1; // an empty match splits nothing
        continue;
      }
      if (m.index > consumed) out.push(countCodepoints(span.slice(consumed, m.index)));
      out.push(countCodepoints(m[0]));
      consumed = m.index + m[0].length;
    }
    if (consumed < span.length) out.push(countCodepoints(span.slice(consumed)));
  };
}

function codepointCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A compiled list of pre-tokenizer regexes. */
export class PreTokenizer {
  private readonly splitters: Splitter[];
  private readonly needsCollapsed: boolean;
  private readonly needsCodepointText: boolean;

  constructor(regexes: readonly string[]) {
    this.splitters = regexes.map(compileSplitter);
    this.needsCollapsed = this.splitters.some((s) => s.kind === 'collapsed');
    this.needsCodepointText = this.splitters.some((s) => s.kind === 'codepoints');
  }

  /** Splits text into pre-tokens (words), as llama.cpp's unicode_regex_split does before byte encoding. */
  split(text: string): string[] {
    const cps = codepointsOf(text);
    const flags = new Uint16Array(cps.length);
    for (let i = 0; i < cps.length; i++) flags[i] = codepointFlags(cps[i]!);
    const t: SplitText = { cps, flags };

    const collapsed = this.needsCollapsed ? collapse(t) : '';
    const codepointText = this.needsCodepointText ? whitespaceToVerticalTab(t) : [];

    let lengths = [cps.length];
    for (const splitter of this.splitters) {
      const scan = this.scannerFor(splitter, collapsed, codepointText);
      const next: number[] = [];
      let start = 0;
      for (const length of lengths) {
        scan(t, start, start + length, next);
        start += length;
      }
      lengths = next;
    }

    const words: string[] = [];
    let start = 0;
    for (const length of lengths) {
      if (length > 0) words.push(stringFromCodepoints(cps, start, start + length));
      start += length;
    }
    return words;
  }

  private scannerFor(splitter: Splitter, collapsed: string, codepointText: readonly number[]): SpanScanner {
    switch (splitter.kind) {
      case 'gpt2':
        return scanGpt2;
      case 'llama3':
        return scanLlama3;
      case 'collapsed':
        return scanWithRegex(splitter.regex, (s, e) => collapsed.slice(s, e), (s) => s.length);
      case 'codepoints':
        return scanWithRegex(
          splitter.regex,
          (s, e) => stringFromCodepoints(codepointText, s, e),
          codepointCount,
        );
    }
  }
}

/** The collapsed text: ASCII kept, every other codepoint replaced by its category's stand-in. */
function collapse(t: SplitText): string {
  const units = t.cps.map((cp, i) => {
    const flags = t.flags[i]!;
    if (cp < 0x80) return cp;
    if (flags & CpFlag.WHITESPACE) return COLLAPSED_WHITESPACE;
    return COLLAPSED_BY_CATEGORY.get(flags & CpFlag.CATEGORIES) ?? COLLAPSED_OTHER;
  });
  return stringFromCodepoints(units, 0, units.length);
}

/** Codepoints with non-ASCII whitespace replaced by \v, as llama.cpp feeds std::wregex. */
function whitespaceToVerticalTab(t: SplitText): number[] {
  return t.cps.map((cp, i) => (cp > 0x7f && t.flags[i]! & CpFlag.WHITESPACE ? COLLAPSED_WHITESPACE : cp));
}
