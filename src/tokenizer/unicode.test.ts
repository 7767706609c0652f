import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, CHAR_TO_BYTE, CpFlag, byteLevelEncode, codepointFlags, codepointsOf, stringFromCodepoints } from './unicode';

describe('codepointFlags', () => {
  it('groups general categories as llama.cpp does', () => {
    const category = (ch: string): number => codepointFlags(ch.codePointAt(0)!) & CpFlag.CATEGORIES;
    expect(category('a')).toBe(CpFlag.LETTER);
    expect(category('我')).toBe(CpFlag.LETTER);
    expect(category('٣')).toBe(CpFlag.NUMBER);
    expect(category('Ⅻ')).toBe(CpFlag.NUMBER);
    expect(category('\u0301')).toBe(CpFlag.MARK);
    expect(category('!')).toBe(CpFlag.PUNCTUATION);
    expect(category('~')).toBe(CpFlag.SYMBOL);
    expect(category('😁')).toBe(CpFlag.SYMBOL);
    expect(category('\u3000')).toBe(CpFlag.SEPARATOR);
    expect(category('\u200b')).toBe(CpFlag.CONTROL); // Cf
    expect(category('\u0378')).toBe(CpFlag.UNDEFINED); // unassigned
    expect(category('\u1c89')).toBe(CpFlag.UNDEFINED); // Unicode 16: newer than llama.cpp's tables
    expect(codepointFlags(0xd800)).toBe(CpFlag.CONTROL); // surrogate
    expect(codepointFlags(0x110000)).toBe(0);
  });

  it('marks Unicode White_Space', () => {
    for (const ch of [' ', '\t', '\n', '\u000b', '\u0085', '\u00a0', '\u2009', '\u3000']) {
      expect(codepointFlags(ch.codePointAt(0)!) & CpFlag.WHITESPACE, JSON.stringify(ch)).toBeTruthy();
    }
    expect(codepointFlags(0x200b) & CpFlag.WHITESPACE).toBe(0);
    expect(codepointFlags(0xfeff) & CpFlag.WHITESPACE).toBe(0);
  });
});

describe('GPT-2 byte mapping', () => {
  it('is a bijection onto printable characters with the known stand-ins', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    for (let b = 0; b < 256; b++) expect(CHAR_TO_BYTE.get(BYTE_TO_CHAR[b]!.codePointAt(0)!)).toBe(b);
    expect(byteLevelEncode(' é')).toBe('Ġ' + BYTE_TO_CHAR[0xc3] + BYTE_TO_CHAR[0xa9]);
  });
});

describe('codepoint strings', () => {
  it('round-trips long texts and replaces lone surrogates', () => {
    const long = 'ab😁'.repeat(5000);
    const cps = codepointsOf(long);
    expect(cps.length).toBe(15000);
    expect(stringFromCodepoints(cps, 0, cps.length)).toBe(long);
    expect(codepointsOf('a\ud800b')).toEqual([0x61, 0xfffd, 0x62]);
  });
});
