// GPT-2 style byte-level BPE (tokenizer.ggml.model = "gpt2"), as llama.cpp
// does it: pre-tokenize into words, write each word's UTF-8 bytes as GPT-2's
// printable stand-in characters, then repeatedly apply the lowest-ranked merge
// among adjacent pairs.

import { Heap } from './heap';
import { PreTokenizer } from './pretokenize';
import { byteLevelEncode } from './unicode';
import type { Vocab } from './vocab';

interface Bigram {
  left: number;
  right: number;
  /** The merged text when queued; if the symbols changed since, the pair is stale. */
  text: string;
  rank: number;
}

/** Lowest rank first; among equal ranks the leftmost pair. */
const bigramBefore = (a: Bigram, b: Bigram): boolean => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

export class BpeTokenizer {
  private readonly pre: PreTokenizer;

  constructor(private readonly vocab: Vocab) {
    this.pre = new PreTokenizer(vocab.pre!.regexes);
  }

  tokenize(text: string, out: number[]): void {
    for (const word of this.pre.split(text)) this.tokenizeWord(byteLevelEncode(word), out);
  }

  /** `word` is byte-level encoded: one character per byte. */
  private tokenizeWord(word: string, out: number[]): void {
    const { ids, merges } = this.vocab;
    if (this.vocab.ignoreMerges) {
      const whole = ids.get(word);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }

    // One symbol per character, linked as a list; merging grows the left symbol.
    const count = word.length;
    const symbols = Array.from(word);
    const prev = symbols.map((_, i) => i - 1);
    const next = symbols.map((_, i) => (i + 1 < count ? i + 1 : -1));

    const queue = new Heap<Bigram>(bigramBefore);
    const addBigram = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const rank = merges.get(`${symbols[left]} ${symbols[right]}`);
      if (rank !== undefined) queue.push({ left, right, text: symbols[left]! + symbols[right]!, rank });
    };

    for (let i = 1; i < count; i++) addBigram(i - 1, i);
    for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
      const { left, right } = bigram;
      if (symbols[left] === '' || symbols[right] === '' || symbols[left]! + symbols[right]! !== bigram.text) continue;
      symbols[left] = bigram.text;
      symbols[right] = '';
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      addBigram(prev[left]!, left);
      addBigram(left, next[left]!);
    }

    for (let i = 0; i !== -1 && count > 0; i = next[i]!) {
      const id = ids.get(symbols[i]!);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // Not in the vocabulary: llama.cpp looks up each single byte of the piece,
      // which only ever finds the ASCII ones; the rest are dropped.
      for (const ch of symbols[i]!) {
        const byteToken = ch.charCodeAt(0) < 0x80 ? ids.get(ch) : undefined;
        if (byteToken !== undefined) out.push(byteToken);
      }
    }
  }
}
