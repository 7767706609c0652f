import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectPreTokenizer, hfTokenizerKv, TokenType, type HfTokenizerInput } from './hf-tokenizer';
import { hfTokenizerFiles, sentencePieceModelOf } from './convert-hf-inverse';
import { writeSentencePieceModel } from './sentencepiece-model';
import { ConvertError } from './convert-hf-errors';
import { metaArray, metaValue, readGguf, type GgufKV } from './gguf';

const FIXTURES = '../shared/fixtures';

const vocabFixture = async (family: string) => readGguf(await openAsBlob(`${FIXTURES}/tokenizer/ggml-vocab-${family}.gguf`));

/** A key-value pair as [key without "tokenizer.", plain value]. */
function plain(kv: GgufKV): [string, unknown] {
  const v = kv.value as { items?: ArrayLike<unknown> };
  return [kv.key.replace(/^tokenizer\./, ''), typeof v === 'object' && v !== null && 'items' in v ? Array.from(v.items!) : kv.value];
}

const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN_REGEX = '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const splitThenBytes = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
});

describe('vocabularies as the converter writes them', () => {
  it.each([
    ['llama-bpe', 'llama', LLAMA3_REGEX, { bos_token_id: 128000, eos_token_id: 128001 }],
    ['qwen2', 'qwen2', QWEN2_REGEX, { bos_token_id: 151643 }],
  ] as const)('%s: tokens, types, merges, special ids and template equal the converter’s vocab GGUF', async (family, arch, regex, configIds) => {
    const gguf = await vocabFixture(family);
    const { tokenizer, tokenizerConfig } = hfTokenizerFiles(gguf, splitThenBytes(regex));
    if (family === 'qwen2') Object.assign(tokenizerConfig, { bos_token: null, pad_token: '<|endoftext|>' });
    const vocabSize = metaArray(gguf, 'tokenizer.ggml.tokens')!.items.length;
    const kv = hfTokenizerKv({ arch, vocabSize, tokenizerJson: tokenizer as Record<string, unknown>, tokenizerConfig, config: { vocab_size: vocabSize, ...configIds } });
    const expected = gguf.kv.filter((e) => e.key.startsWith('tokenizer.'));
    expect(kv.map((e) => e.key)).toEqual(expected.map((e) => e.key));
    for (const e of expected) expect(metaValue({ kv }, e.key), e.key).toEqual(e.value);
  });

  it('llama-spm: a SentencePiece tokenizer.model gives the vocab GGUF’s tokens, scores, types, special ids and add flags', async () => {
    const gguf = await vocabFixture('llama-spm');
    const { tokenizer } = hfTokenizerFiles(gguf);
    // Llama 2's tokenizer_config.json: AddedToken objects, add_bos_token true, add_eos_token false.
    const added = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: false, rstrip: false, single_word: false });
    const tokenizerConfig = { add_bos_token: true, add_eos_token: false, bos_token: added('<s>'), eos_token: added('</s>'), unk_token: added('<unk>'), pad_token: null };
    const kv = hfTokenizerKv({
      arch: 'llama', vocabSize: 32000, config: { bos_token_id: 1, eos_token_id: 2 },
      sentencePieceModel: sentencePieceModelOf(gguf), tokenizerJson: tokenizer as Record<string, unknown>, tokenizerConfig,
    });
    const expected = gguf.kv.filter((e) => e.key.startsWith('tokenizer.'));
    expect(kv.map((e) => e.key)).toEqual(expected.map((e) => e.key));
    for (const e of expected) expect(metaValue({ kv }, e.key), e.key).toEqual(e.value);
  });

  it('SentencePiece: ids up to vocab_size are unused [PADn] with score -10000, then added_tokens.json and added_tokens_decoder override', () => {
    const pieces = [
      { piece: '<unk>', score: 0, type: TokenType.UNKNOWN }, { piece: '<s>', score: 0, type: TokenType.CONTROL },
      { piece: '<0x41>', score: 0, type: TokenType.BYTE }, { piece: '▁a', score: -1.5, type: TokenType.NORMAL },
      { piece: '<user>', score: 0, type: TokenType.USER_DEFINED }, { piece: 'x', score: -7, type: TokenType.UNUSED },
    ];
    const kv = hfTokenizerKv({
      arch: 'qwen2', vocabSize: 9, config: {}, sentencePieceModel: writeSentencePieceModel(pieces),
      addedTokensJson: { '<extra>': 6, '<far>': 20 },
      tokenizerConfig: { added_tokens_decoder: { 7: { content: '<|im_start|>', special: false }, 5: { content: '▁▁plain', special: false } } },
    }).map(plain);
    expect(kv).toEqual([
      ['ggml.model', 'llama'], ['ggml.pre', 'default'],
      ['ggml.tokens', ['<unk>', '<s>', '<0x41>', '▁a', '<user>', '  plain', '<extra>', '<|im_start|>', '[PAD8]']],
      ['ggml.scores', [0, 0, 0, -1.5, 0, -1000, -1000, -1000, -10000]],
      // A user-defined piece counts as normal; <|...|> looks special, so it is CONTROL although not flagged.
      ['ggml.token_type', [2, 3, 6, 1, 1, 4, 4, 3, 5]],
    ]);
  });

  it('Llama HF vocabulary: base tokens then added ones, transformers’ default special tokens CONTROL, scores -1000', () => {
    const tokenizerJson = {
      model: { type: 'BPE', byte_fallback: true, vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '<0x0A>': 3, '▁hi': 4 }, merges: [] },
      added_tokens: [{ id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true },
        { id: 6, content: '<|tool|>', special: true }, { id: 5, content: 'hello world', special: false }],
      decoder: { type: 'Sequence', decoders: [] },
    };
    const kv = hfTokenizerKv({ arch: 'llama', vocabSize: 7, config: {}, tokenizerJson, tokenizerConfig: { additional_special_tokens: ['<|tool|>'] } }).map(plain);
    expect(kv.slice(0, 5)).toEqual([
      ['ggml.model', 'llama'], ['ggml.pre', 'default'],
      ['ggml.tokens', ['<unk>', '<s>', '</s>', '<0x0A>', '▁hi', 'hello world', '<|tool|>']],
      ['ggml.scores', [-1000, -1000, -1000, -1000, -1000, -1000, -1000]],
      ['ggml.token_type', [3, 3, 3, 6, 1, 4, 3]],
    ]);
    // Without a Sequence decoder the converter does not use the Llama HF vocabulary: it goes the GPT-2 way.
    const noDecoder = hfTokenizerKv({ arch: 'llama', vocabSize: 7, config: {}, tokenizerJson: { ...tokenizerJson, decoder: null, pre_tokenizer: { type: 'ByteLevel' } } });
    expect(metaValue({ kv: noDecoder }, 'tokenizer.ggml.model')).toBe('gpt2');
    // Qwen models never use it.
    const qwen = hfTokenizerKv({ arch: 'qwen2', vocabSize: 7, config: {}, tokenizerJson: { ...tokenizerJson, pre_tokenizer: { type: 'ByteLevel' } } });
    expect(metaValue({ kv: qwen }, 'tokenizer.ggml.model')).toBe('gpt2');
  });

  it('GPT-2 vocabulary: [PADn] holes, added tokens CONTROL or USER_DEFINED (with ▁ as spaces), ids beyond vocab_size refused', () => {
    const tokenizerJson = {
      model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: ['a b'] },
      added_tokens: [{ id: 3, content: '<pad>', special: false }, { id: 4, content: '▁user▁word', special: false }, { id: 5, content: '<ctl>', special: true }],
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    };
    const kv = hfTokenizerKv({ arch: 'qwen3', vocabSize: 6, config: {}, tokenizerJson }).map(plain);
    expect(kv).toEqual([
      ['ggml.model', 'gpt2'], ['ggml.pre', 'gpt-2'],
      ['ggml.tokens', ['a', 'b', '[PAD2]', '<pad>', ' user word', '<ctl>']],
      ['ggml.token_type', [1, 1, 5, 3, 4, 3]],
      ['ggml.merges', ['a b']],
    ]);
    expect(() => hfTokenizerKv({ arch: 'qwen3', vocabSize: 5, config: {}, tokenizerJson })).toThrow(/"<ctl>" with id 5, beyond config\.json vocab_size 5/);
  });

  it('needs tokenizer.json when there is no tokenizer.model, and a BPE model in it', () => {
    expect(() => hfTokenizerKv({ arch: 'llama', vocabSize: 4, config: {} })).toThrow(ConvertError);
    expect(() => hfTokenizerKv({ arch: 'llama', vocabSize: 4, config: {}, tokenizerJson: { model: { type: 'Unigram', vocab: [] } } }))
      .toThrow(/tokenizer\.json model\.type: "Unigram" is not supported/);
  });
});

describe('the pre-tokenizer name', () => {
  it('is recognized from the pre-tokenizer configuration', () => {
    expect(detectPreTokenizer(splitThenBytes(LLAMA3_REGEX))).toBe('llama-bpe');
    expect(detectPreTokenizer(splitThenBytes(QWEN2_REGEX))).toBe('qwen2');
    expect(detectPreTokenizer(splitThenBytes(TEKKEN_REGEX))).toBe('tekken');
    expect(detectPreTokenizer({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, use_regex: true }] })).toBe('smollm');
    expect(detectPreTokenizer({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true })).toBe('gpt-2');
  });

  it('refuses configurations it does not know, as the converter refuses unknown tokenizers', () => {
    expect(() => detectPreTokenizer({ type: 'Metaspace', replacement: '▁' })).toThrow(/pre_tokenizer: Metaspace is not recognized/);
    expect(() => detectPreTokenizer(null)).toThrow(/none is not recognized/);
    expect(() => detectPreTokenizer(splitThenBytes('\\p{N}+'))).toThrow(ConvertError);
  });
});

// Special tokens, add_* flags and chat templates: each case's expected keys are what gguf-py
// 0.19's SpecialVocab (load_merges=True) writes for the same files.
describe('special tokens, add flags and chat templates (SpecialVocab)', () => {
  const tokenizerJson = {
    model: { type: 'BPE', vocab: { a: 0, b: 1, c: 2, 'a b': 3, ab: 4 }, merges: [['a', 'b'], ['a', ' b']] },
    added_tokens: ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '[CLS]', '[SEP]'].map((content, i) => ({ id: 5 + i, content, special: true })),
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
  };
  const special = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  const sequence = (id: 'A' | 'B') => ({ Sequence: { id, type_id: 0 } });
  const template = (single: unknown[], pair: unknown[] = []) => ({ type: 'TemplateProcessing', single, pair });
  const BOT = '<|begin_of_text|>';
  const EOT = '<|end_of_text|>';

  const run = (extra: Partial<HfTokenizerInput> & { postProcessor?: unknown }) => {
    const { postProcessor, ...input } = extra;
    const kv = hfTokenizerKv({ arch: 'qwen2', vocabSize: 10, config: {}, tokenizerJson: { ...tokenizerJson, post_processor: postProcessor }, ...input });
    return kv.slice(kv.findIndex((e) => e.key === 'tokenizer.ggml.token_type') + 1).map(plain);
  };

  it('merges with spaces encode them as Ġ', () => {
    expect(run({})[0]).toEqual(['ggml.merges', ['a b', 'a \u0120b']]);
  });

  it.each<[string, Partial<HfTokenizerInput> & { postProcessor?: unknown }, [string, unknown][]]>([
    ['Llama 3: a Sequence post-processor whose template starts with BOS adds BOS; its pair template adds no SEP', {
      postProcessor: { type: 'Sequence', processors: [{ type: 'ByteLevel' }, template([special(BOT), sequence('A')], [special(BOT), sequence('A'), special(BOT), sequence('B')])] },
      tokenizerConfig: { bos_token: BOT, eos_token: EOT, chat_template: '{{ x }}' }, config: { bos_token_id: 5, eos_token_id: [6, 7] },
    }, [['ggml.bos_token_id', 5], ['ggml.eos_token_id', 6], ['ggml.add_bos_token', true], ['ggml.add_sep_token', false], ['chat_template', '{{ x }}']]],
    ['tokenizer_config.json add flags override the template’s, in the template’s order', {
      postProcessor: template([special(BOT), sequence('A')]),
      tokenizerConfig: { add_eos_token: true, add_bos_token: false, bos_token: { content: BOT, lstrip: false }, eos_token: EOT },
    }, [['ggml.bos_token_id', 5], ['ggml.eos_token_id', 6], ['ggml.add_bos_token', false], ['ggml.add_eos_token', true]]],
    ['a trailing special token other than the EOS becomes the EOS, the configured EOS the EOT', {
      postProcessor: template([special(BOT), sequence('A'), special('<|eot_id|>')], [special(BOT), sequence('A'), special(EOT), sequence('B'), special('<|eot_id|>')]),
      tokenizerConfig: { bos_token: BOT, eos_token: EOT },
    }, [['ggml.bos_token_id', 5], ['ggml.eos_token_id', 7], ['ggml.eot_token_id', 6], ['ggml.add_bos_token', true], ['ggml.add_eos_token', true], ['ggml.add_sep_token', false]]],
    ['CLS and SEP stand in for BOS and EOS', {
      postProcessor: template([special('[CLS]'), sequence('A'), special('[SEP]')], [special('[CLS]'), sequence('A'), special('[SEP]'), sequence('B'), special('[SEP]')]),
      tokenizerConfig: { cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[SEP]' },
    }, [['ggml.bos_token_id', 8], ['ggml.eos_token_id', 9], ['ggml.seperator_token_id', 9], ['ggml.padding_token_id', 9],
      ['ggml.add_bos_token', true], ['ggml.add_eos_token', true], ['ggml.add_sep_token', false]]],
    ['RobertaProcessing adds BOS, EOS and SEP; CLS has no GGUF key', {
      postProcessor: { type: 'RobertaProcessing', sep: ['[SEP]', 9], cls: ['[CLS]', 8] },
      tokenizerConfig: { eos_token: EOT, mask_token: '[CLS]' }, config: { bos_token_id: 5 },
    }, [['ggml.eos_token_id', 6], ['ggml.seperator_token_id', 9], ['ggml.mask_token_id', 8], ['ggml.bos_token_id', 5],
      ['ggml.add_bos_token', true], ['ggml.add_eos_token', true], ['ggml.add_sep_token', true]]],
    ['without tokenizer_config.json: the post-processor’s flags and config.json’s ids only', {
      postProcessor: template([special(BOT), sequence('A'), special(EOT)]),
      config: { bos_token_id: 5, eos_token_id: 6, pad_token_id: 99, unk_token_id: 0 },
    }, [['ggml.bos_token_id', 5], ['ggml.eos_token_id', 6], ['ggml.unknown_token_id', 0], ['ggml.padding_token_id', 99], ['ggml.add_bos_token', true], ['ggml.add_eos_token', true]]],
    ['an empty tokenizer_config.json counts as none: no chat template from chat_template.jinja either', {
      tokenizerConfig: {}, chatTemplateJinja: 'J', config: { eos_token_id: 6 },
    }, [['ggml.eos_token_id', 6]]],
  ])('%s', (_, input, expected) => {
    expect(run(input).slice(1)).toEqual(expected);
  });

  it.each<[string, Partial<HfTokenizerInput>, [string, unknown][]]>([
    ['a list of named templates: NAME keys, the list of names, the default one', {
      tokenizerConfig: { eos_token: '<|eot_id|>', chat_template: [{ name: 'default', template: 'D' }, { name: 'tool-use', template: 'T' }, { name: 'rag', template: '' }] },
    }, [['ggml.eos_token_id', 7], ['chat_template.tool_use', 'T'], ['chat_templates', ['tool_use', 'rag']], ['chat_template', 'D']]],
    ['chat_template.jinja when tokenizer_config.json has none', { tokenizerConfig: { eos_token: '<|eot_id|>' }, chatTemplateJinja: 'J {{ messages }}' },
      [['ggml.eos_token_id', 7], ['chat_template', 'J {{ messages }}']]],
    ['tokenizer_config.json’s template wins over chat_template.jinja', { tokenizerConfig: { chat_template: 'C' }, chatTemplateJinja: 'J' }, [['chat_template', 'C']]],
    ['even a null one', { tokenizerConfig: { chat_template: null }, chatTemplateJinja: 'J' }, []],
    ['chat_template.json', { tokenizerConfig: { bos_token: BOT }, chatTemplateJson: { chat_template: 'FromJson' } }, [['ggml.bos_token_id', 5], ['chat_template', 'FromJson']]],
    ['chat_template.jinja with additional_chat_templates', {
      tokenizerConfig: { bos_token: BOT }, chatTemplateJinja: 'Main', additionalChatTemplates: [{ name: 'tool_use', template: 'Tools' }],
    }, [['ggml.bos_token_id', 5], ['chat_template.tool_use', 'Tools'], ['chat_templates', ['tool_use']], ['chat_template', 'Main']]],
  ])('chat template: %s', (_, input, expected) => {
    expect(run(input).slice(1)).toEqual(expected);
  });

  it('refuses a negative special token id', () => {
    expect(() => run({ config: { eos_token_id: -1 } })).toThrow(/special token eos: has the invalid id -1/);
  });
});

describe('what LlamaModel.set_vocab adds after the vocabulary', () => {
  const tokenizerJson = {
    model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] },
    added_tokens: [{ id: 2, content: '<s>', special: true }],
    pre_tokenizer: { type: 'ByteLevel', use_regex: true },
    post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>' } }, { Sequence: { id: 'A' } }], pair: [] },
  };
  const tail = (arch: 'llama' | 'qwen2', vocabSize: number, tokenizerConfig: Record<string, unknown>) => {
    const kv = hfTokenizerKv({ arch, vocabSize, config: {}, tokenizerJson, tokenizerConfig });
    return kv.slice(kv.findIndex((e) => e.key === 'tokenizer.ggml.token_type') + 1).map(plain);
  };

  it('add_prefix_space from tokenizer_config.json (null as false), Llama only', () => {
    expect(tail('llama', 3, { bos_token: '<s>', add_prefix_space: true })).toEqual([
      ['ggml.bos_token_id', 2], ['ggml.add_bos_token', true], ['ggml.add_space_prefix', true],
    ]);
    expect(tail('llama', 3, { bos_token: '<s>', add_prefix_space: null }).at(-1)).toEqual(['ggml.add_space_prefix', false]);
    expect(tail('qwen2', 3, { bos_token: '<s>', add_prefix_space: true }).map(([k]) => k)).not.toContain('ggml.add_space_prefix');
  });

  it('add_bos_token false for a 49152-token vocabulary (SmolLM), replacing the template’s value in place', () => {
    expect(tail('llama', 49152, { bos_token: '<s>' })).toEqual([['ggml.bos_token_id', 2], ['ggml.add_bos_token', false]]);
  });

  it('CodeLlama (32016 tokens) gets its EOT token, 32010 unless configured', () => {
    expect(tail('llama', 32016, { bos_token: '<s>' })).toEqual([['ggml.bos_token_id', 2], ['ggml.add_bos_token', true], ['ggml.eot_token_id', 32010]]);
  });
});
