import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from './errors';
import { PreTokenizer, SUPPORTED_PRE_TOKENIZERS, preTokenizerConfig } from './pretokenize';

const split = (pre: string, text: string): string[] => new PreTokenizer(preTokenizerConfig(pre).regexes).split(text);

describe('pre-tokenizer splits', () => {
  it('GPT-2: contractions, letter/number/symbol runs with one leading space, trailing spaces kept apart', () => {
    expect(split('gpt-2', "Hello, y'all! 1234  x\n")).toEqual(['Hello', ',', ' y', "'", 'all', '!', ' 1234', ' ', ' x', '\n']);
    expect(split('gpt-2', "I'M here")).toEqual(['I', "'", 'M', ' here']); // GPT-2's contractions are case-sensitive
  });

  it('Llama 3: case-insensitive contractions, digits in threes, newline runs', () => {
    expect(split('llama-bpe', "I'M 1234567 ok\n\n  x")).toEqual(['I', "'M", ' ', '123', '456', '7', ' ok', '\n\n', ' ', ' x']);
  });

  it('Qwen2: one digit per piece (the general regex path)', () => {
    expect(split('qwen2', 'abc 123!?\n')).toEqual(['abc', ' ', '1', '2', '3', '!?\n']);
  });

  it('StarCoder: digits split first, then GPT-2 rules', () => {
    expect(split('starcoder', 'x = 42')).toEqual(['x', ' =', ' ', '4', '2']);
  });

  it('DeepSeek Coder: newlines, letter runs, punctuation runs, CJK, single digits', () => {
    expect(split('deepseek-coder', 'Hello world\n123')).toEqual(['Hello', ' world', '\n', '1', '2', '3']);
  });

  it('DeepSeek LLM: its literal letter classes and CJK ranges', () => {
    expect(split('deepseek-llm', 'Hello 世界 123')).toEqual(['Hello', ' ', '世界', ' ', '123']);
  });

  it('treats non-ASCII whitespace as whitespace and keeps every character', () => {
    const text = 'a\u00a0b\u3000 c 😁 é\u0301';
    expect(split('qwen2', text).join('')).toBe(text);
    expect(split('llama-bpe', text).join('')).toBe(text);
  });

  it('compiles every supported pre-tokenizer and names unknown ones', () => {
    for (const name of SUPPORTED_PRE_TOKENIZERS) expect(split(name, "Hi, it's 2024 — ok?\n").join('')).toBe("Hi, it's 2024 — ok?\n");
    expect(() => preTokenizerConfig('nope')).toThrow(TokenizerError);
    expect(() => preTokenizerConfig('nope')).toThrow(/nope/);
    expect(preTokenizerConfig(undefined).regexes).toEqual(preTokenizerConfig('default').regexes);
  });
});

describe('hand-written scanners agree with the regexes they implement', () => {
  // A regex wrapped in (?:...) is no longer recognised, so it runs through the general regex path.
  const alphabet = ["'", 's', 'S', 't', 'l', 'L', 'e', 'r', 'v', 'd', 'm', ' ', '\n', '\r', '\t', 'a', 'Z', '7', '٣', 'Ⅻ', '.', '!', '~', '$', '_', '😁', 'é', '\u0301', '我', '\u00a0', '\u3000', '\u200b', '\u0378', '\u0000'];
  const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 16 }).map((chars) => chars.join(''));

  it.each(['gpt-2', 'llama-bpe'])('%s', (name) => {
    const regex = preTokenizerConfig(name).regexes[0]!;
    const scanner = new PreTokenizer([regex]);
    const general = new PreTokenizer([`(?:${regex})`]);
    fc.assert(
      fc.property(text, (s) => {
        expect(scanner.split(s)).toEqual(general.split(s));
      }),
      { numRuns: 2000 },
    );
  });
});
