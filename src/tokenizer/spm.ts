// SentencePiece-style tokenization (tokenizer.ggml.model = "llama"), as
// llama.cpp does it: start from single characters and repeatedly merge the
// adjacent pair whose concatenation is the highest-scoring vocabulary token;
// characters left without a token fall back to <0xXX> byte tokens.

import { TokenizerError } from './errors';
import { Heap } from './heap';
import { utf8Encode } from './unicode';
import type { Vocab } from './vocab';

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** Length of left + right when the pair was queued; a mismatch later means the pair is stale. */
  size: number;
}

/** Highest score first; among equal scores the leftmost pair. */
const bigramBefore = (a: Bigram, b: Bigram): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);

export class SpmTokenizer {
  /** byte value -> its <0xXX> token (or a one-character token), -1 when the vocabulary has neither. */
  private readonly byteTokens = new Int32Array(256);

  constructor(private readonly vocab: Vocab) {
    for (let byte = 0; byte < 256; byte++) {
      const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
      this.byteTokens[byte] = vocab.ids.get(hex) ?? (byte < 0x80 ? vocab.ids.get(String.fromCharCode(byte)) : undefined) ?? -1;
    }
  }

  /** Tokenizes text whose spaces are already escaped as "▁". */
  tokenize(text: string, out: number[]): void {
    // Symbols are spans of `text`, linked as a list; merging grows the left span.
    const starts: number[] = [];
    for (let i = 0; i < text.length; i += text.codePointAt(i)! > 0xffff ? 2 : 1) starts.push(i);
    const count = starts.length;
    if (count === 0) return;
    const lengths = starts.map((s, i) => (starts[i + 1] ?? text.length) - s);
    const prev = starts.map((_, i) => i - 1);
    const next = starts.map((_, i) => (i + 1 < count ? i + 1 : -1));

    const ids = this.vocab.ids;
    const scores = this.vocab.scores;
    const queue = new Heap<Bigram>(bigramBefore);
    const tryAddBigram = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const size = lengths[left]! + lengths[right]!;
      const id = ids.get(text.slice(starts[left]!, starts[left]! + size));
      if (id !== undefined) queue.push({ left, right, score: scores[id]!, size });
    };

    for (let i = 1; i < count; i++) tryAddBigram(i - 1, i);
    for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
      const { left, right } = bigram;
      if (lengths[left] === 0 || lengths[right] === 0 || lengths[left]! + lengths[right]! !== bigram.size) continue;
      lengths[left] = bigram.size;
      lengths[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      tryAddBigram(prev[left]!, left);
      tryAddBigram(left, next[left]!);
    }

    // Every merged span is a token (pairs are only queued when they are), so only
    // single characters can be missing from the vocabulary: those become bytes.
    for (let i = 0; i !== -1; i = next[i]!) {
      const piece = text.slice(starts[i]!, starts[i]! + lengths[i]!);
      const id = ids.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const byte of utf8Encode(piece)) {
        const byteToken = this.byteTokens[byte]!;
        if (byteToken < 0) throw new TokenizerError(`no token for byte 0x${byte.toString(16)} (the vocabulary has no <0x..> byte tokens)`);
        out.push(byteToken);
      }
    }
  }
}
