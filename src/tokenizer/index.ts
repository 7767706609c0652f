// Tokenizers built from GGUF metadata, behaving like llama.cpp's
// (llama_tokenize / llama_detokenize / llama_token_to_piece).

import type { GgufFile } from '../formats/gguf';
import { BpeTokenizer } from './bpe';
import { TokenizerError } from './errors';
import { SpmTokenizer } from './spm';
import { CHAR_TO_BYTE, utf8Decode, utf8Encode } from './unicode';
import { TokenAttr, loadVocab, type Vocab } from './vocab';

export { TokenizerError } from './errors';
export { renderChat, type ChatMessage, type RenderChatOptions } from './chat-template';

export interface EncodeOptions {
  /** Add BOS/EOS as the model's metadata asks (default true). */
  addSpecial?: boolean;
  /** Turn special-token texts such as "<|im_start|>" into their tokens (default true). */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop a leading BOS and trailing EOS when the model adds them (default false). */
  removeSpecial?: boolean;
  /** Render control tokens as their text instead of nothing (default false). */
  unparseSpecial?: boolean;
}

export interface Tokenizer {
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: number[], opts?: DecodeOptions): string;
  /** The text of one token; control tokens render as their text unless `special` is false. */
  tokenToPiece(id: number, special?: boolean): string;
  /** The bytes of one token's text (a piece may be part of a multi-byte character). */
  tokenToBytes(id: number, special?: boolean): Uint8Array;
  readonly vocabSize: number;
  readonly bos?: number;
  readonly eos?: number;
  readonly eot?: number;
  isEog(id: number): boolean;
}

/** Builds a tokenizer from a GGUF header; throws TokenizerError for an unknown model or pre-tokenizer, naming it. */
export function tokenizerFromGguf(file: GgufFile): Tokenizer {
  return new GgufTokenizer(loadVocab(file));
}

/** A piece of input: raw text still to tokenize, or a special token already cut out of it. */
type Fragment = string | number;

const ESCAPED_SPACE = '\u2581'; // "▁": SentencePiece's visible space

class GgufTokenizer implements Tokenizer {
  private readonly spm: SpmTokenizer | undefined;
  private readonly bpe: BpeTokenizer | undefined;
  /** Token pieces with special = true, computed on first use. */
  private readonly pieces: (Uint8Array | undefined)[];

  constructor(private readonly vocab: Vocab) {
    if (vocab.kind === 'spm') this.spm = new SpmTokenizer(vocab);
    else this.bpe = new BpeTokenizer(vocab);
    this.pieces = new Array<Uint8Array | undefined>(vocab.tokens.length);
  }

  get vocabSize(): number {
    return this.vocab.tokens.length;
  }
  get bos(): number | undefined {
    return this.vocab.bos;
  }
  get eos(): number | undefined {
    return this.vocab.eos;
  }
  get eot(): number | undefined {
    return this.vocab.eot;
  }

  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const addSpecial = opts.addSpecial ?? true;
    const { vocab } = this;
    const out: number[] = [];
    if (addSpecial && vocab.addBos) out.push(vocab.bos!);

    // SentencePiece models put a space before text that starts the input or follows a special token.
    let afterSpecial = true;
    for (const fragment of this.partitionSpecial(text, opts.parseSpecial ?? true)) {
      if (typeof fragment === 'number') {
        out.push(fragment);
        afterSpecial = true;
      } else if (this.spm) {
        const prefixed = vocab.addSpacePrefix && afterSpecial ? ` ${fragment}` : fragment;
        this.spm.tokenize(prefixed.replaceAll(' ', ESCAPED_SPACE), out);
        afterSpecial = false;
      } else {
        this.bpe!.tokenize(fragment, out);
      }
    }

    if (addSpecial && vocab.addEos) out.push(vocab.eos!);
    return out;
  }

  /**
   * Cuts special-token texts out of the input, longest tokens first. Control and
   * unknown tokens are only recognised when `parseSpecial`; user-defined ones always.
   */
  private partitionSpecial(text: string, parseSpecial: boolean): Fragment[] {
    const { vocab } = this;
    let fragments: Fragment[] = text === '' ? [] : [text];
    for (const id of vocab.specialTokens) {
      const attr = vocab.attrs[id]!;
      if (!parseSpecial && attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) continue;
      const special = vocab.tokens[id]!;
      const next: Fragment[] = [];
      for (const fragment of fragments) {
        if (typeof fragment === 'number' || !fragment.includes(special)) {
          next.push(fragment);
          continue;
        }
        let rest = fragment;
        for (let at = rest.indexOf(special); at >= 0; at = rest.indexOf(special)) {
          const left = attr & TokenAttr.LSTRIP ? trimAsciiSpaceEnd(rest.slice(0, at)) : rest.slice(0, at);
          if (left) next.push(left);
          next.push(id);
          rest = rest.slice(at + special.length);
          if (attr & TokenAttr.RSTRIP) rest = trimAsciiSpaceStart(rest);
        }
        if (rest) next.push(rest);
      }
      fragments = next;
    }
    return fragments;
  }

  decode(ids: number[], opts: DecodeOptions = {}): string {
    const { vocab } = this;
    let start = 0;
    let end = ids.length;
    // A tokenizer that puts a space before the text takes it off the first piece again.
    let stripSpace = vocab.addSpacePrefix;
    if (opts.removeSpecial && vocab.addBos && end > 0 && ids[0] === vocab.bos) {
      stripSpace = false;
      start++;
    }
    if (opts.removeSpecial && vocab.addEos && end > start && ids[end - 1] === vocab.eos) end--;

    const bytes: number[] = [];
    for (let i = start; i < end; i++) {
      const piece = this.tokenToBytes(ids[i]!, opts.unparseSpecial ?? false);
      const skip = stripSpace && piece[0] === 0x20 ? 1 : 0;
      stripSpace = false;
      for (let j = skip; j < piece.length; j++) bytes.push(piece[j]!);
    }
    return utf8Decode(Uint8Array.from(vocab.cleanSpaces ? cleanSpaces(bytes) : bytes));
  }

  tokenToPiece(id: number, special = true): string {
    return utf8Decode(this.tokenToBytes(id, special));
  }

  tokenToBytes(id: number, special = true): Uint8Array {
    const { vocab } = this;
    if (!Number.isInteger(id) || id < 0 || id >= vocab.tokens.length) {
      throw new TokenizerError(`token id ${id} is outside the vocabulary (0..${vocab.tokens.length - 1})`);
    }
    if (!special && vocab.attrs[id]! & (TokenAttr.UNKNOWN | TokenAttr.CONTROL)) return new Uint8Array(0);
    let piece = this.pieces[id];
    if (!piece) {
      piece = this.computePiece(id);
      this.pieces[id] = piece;
    }
    return piece;
  }

  private computePiece(id: number): Uint8Array {
    const attr = this.vocab.attrs[id]!;
    const text = this.vocab.tokens[id]!;
    if (attr & (TokenAttr.UNKNOWN | TokenAttr.CONTROL | TokenAttr.USER_DEFINED)) return utf8Encode(text);
    if (attr & TokenAttr.NORMAL) {
      return this.vocab.kind === 'spm' ? utf8Encode(text.replaceAll(ESCAPED_SPACE, ' ')) : byteLevelDecode(text);
    }
    if (attr & TokenAttr.BYTE) return Uint8Array.of(parseInt(text.slice(3, 5), 16));
    return new Uint8Array(0); // unused and undefined tokens render as nothing
  }
}

/** GPT-2 stand-in characters back to bytes; characters outside the mapping are marked as llama.cpp marks them. */
function byteLevelDecode(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    const byte = CHAR_TO_BYTE.get(ch.codePointAt(0)!);
    if (byte !== undefined) {
      bytes.push(byte);
      continue;
    }
    const hex = Array.from(utf8Encode(ch), (b) => b.toString(16).padStart(2, '0')).join('');
    bytes.push(...utf8Encode(`[UNK_BYTE_0x${hex}${text}]`));
  }
  return Uint8Array.from(bytes);
}

const SPACE = 0x20;
const APOSTROPHE = 0x27;
const code = (ch: string): number => ch.charCodeAt(0);

/**
 * llama.cpp's clean_up_tokenization_spaces, on bytes: drop the space before
 * ? ! . , ; turn " ' " into "'"; join " 's", " 'm", " 're", " 've" to the word.
 */
function cleanSpaces(input: number[]): number[] {
  const beforePunctuation = new Set([code('?'), code('!'), code('.'), code(',')]);
  const pass1: number[] = input.slice(0, 1);
  for (let i = 1; i < input.length; i++) {
    if (input[i - 1] === SPACE && beforePunctuation.has(input[i]!)) pass1.pop();
    pass1.push(input[i]!);
  }

  // A space after a lone apostrophe is skipped by blanking it (a later " '" then no longer sees a space).
  const text = pass1.slice();
  const pass2: number[] = text.slice(0, 1);
  for (let i = 1; i < text.length; i++) {
    const x = text[i]!;
    if (x === APOSTROPHE && i + 1 < text.length && text[i - 1] === SPACE && text[i + 1] === SPACE) {
      pass2.pop();
      text[++i] = 0;
    }
    pass2.push(x);
  }

  const pass3: number[] = pass2.slice(0, 1);
  for (let i = 1; i < pass2.length; i++) {
    const x = pass2[i]!;
    if (pass2[i - 1] === SPACE && x === APOSTROPHE && i + 1 < pass2.length) {
      const x1 = pass2[i + 1]!;
      const x2 = pass2[i + 2];
      const joinsWord =
        x1 === code('s') || x1 === code('m') ||
        (i + 2 < pass2.length && x2 === code('e') && (x1 === code('r') || x1 === code('v')));
      if (joinsWord) pass3.pop();
    }
    pass3.push(x);
  }
  return pass3;
}

const isAsciiSpace = (ch: string): boolean => ch === ' ' || (ch >= '\t' && ch <= '\r');

function trimAsciiSpaceStart(s: string): string {
  let i = 0;
  while (i < s.length && isAsciiSpace(s[i]!)) i++;
  return s.slice(i);
}

function trimAsciiSpaceEnd(s: string): string {
  let i = s.length;
  while (i > 0 && isAsciiSpace(s[i - 1]!)) i--;
  return s.slice(0, i);
}
