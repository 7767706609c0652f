// Tokenizer metadata for a GGUF, read from a Hugging Face model folder the way llama.cpp's
// convert_hf_to_gguf.py and gguf-py's SpecialVocab write it:
//  - a SentencePiece tokenizer.model is used when present (token scores and types from it);
//  - otherwise, for Llama/Mistral, a tokenizer.json BPE with byte_fallback and a Sequence decoder
//    (Llama 2 / Mistral exported by transformers) becomes "llama" with the placeholder score -1000;
//  - otherwise the tokenizer.json BPE becomes "gpt2" with merges, and its pre-tokenizer name.
// Then the special tokens, the add_bos/add_eos/add_sep flags and the chat template(s).

import { GgufValueType, type GgufKV } from './gguf';
import { ConvertError } from './convert-hf-errors';
import { PieceType, readSentencePieceModel } from './sentencepiece-model';

/** llama.cpp's token types (gguf-py TokenType); SentencePiece numbers its piece types the same way. */
export const TokenType = PieceType;

type Json = Record<string, unknown>;

interface AddedToken { id: number; content: string; special?: boolean }

interface TokenizerJson {
  model?: { type?: unknown; vocab?: unknown; merges?: unknown; byte_fallback?: unknown };
  added_tokens?: AddedToken[];
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: { type?: unknown } | null;
}

export interface ChatTemplateChoice { name: string; template: string }

export interface HfTokenizerInput {
  arch: 'llama' | 'qwen2' | 'qwen3';
  /** config.json as written: special token ids are read from it, not from transformers' defaults. */
  config: Json;
  /** vocab_size after transformers' config defaults. */
  vocabSize: number;
  tokenizerJson?: Json;
  tokenizerConfig?: Json;
  /** tokenizer.model, a SentencePiece model. */
  sentencePieceModel?: Uint8Array;
  /** added_tokens.json (SentencePiece vocabularies only). */
  addedTokensJson?: Json;
  /** chat_template.jinja's text. */
  chatTemplateJinja?: string;
  /** additional_chat_templates/NAME.jinja, used with chat_template.jinja. */
  additionalChatTemplates?: ChatTemplateChoice[];
  /** chat_template.json, used when there is no chat_template.jinja. */
  chatTemplateJson?: Json;
}

const str = (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value });
const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
const bool = (key: string, value: boolean): GgufKV => ({ key, type: GgufValueType.BOOL, value });
const strings = (key: string, items: string[]): GgufKV => ({ key, type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, items } });

/** Key-value pairs in write order; writing a key again replaces its value in place, as gguf-py's writer does. */
class KvList {
  private readonly entries = new Map<string, GgufKV>();
  add(...kvs: GgufKV[]): void {
    for (const kv of kvs) this.entries.set(kv.key, kv);
  }
  list(): GgufKV[] {
    return [...this.entries.values()];
  }
}

/** The tokenizer.* key-value pairs the converter writes, in its order. */
export function hfTokenizerKv(input: HfTokenizerInput): GgufKV[] {
  const kv = new KvList();
  const tok = input.tokenizerJson as TokenizerJson | undefined;
  if (input.sentencePieceModel || (tok && input.arch === 'llama' && isLlamaHfTokenizer(tok))) {
    const vocab = input.sentencePieceModel ? sentencePieceVocab(input.sentencePieceModel, input) : llamaHfVocab(tok!, input.tokenizerConfig ?? {});
    kv.add(...scoredVocabKv(vocab), ...specialVocabKv(specialVocab(input, { nVocab: vocab.tokens.length })));
  } else if (tok) {
    kv.add(...gpt2VocabKv(tok, input.vocabSize), ...specialVocabKv(specialVocab(input, { loadMerges: true })));
  } else {
    throw new ConvertError('tokenizer.json', 'missing from the model folder (and there is no SentencePiece tokenizer.model)');
  }
  if (input.arch === 'llama') kv.add(...llamaVocabExtrasKv(input));
  return kv.list();
}

// ---- vocabularies ---------------------------------------------------------------

interface ScoredVocab { tokens: string[]; scores: number[]; types: number[] }

function scoredVocabKv({ tokens, scores, types }: ScoredVocab): GgufKV[] {
  return [
    str('tokenizer.ggml.model', 'llama'),
    str('tokenizer.ggml.pre', 'default'),
    strings('tokenizer.ggml.tokens', tokens),
    { key: 'tokenizer.ggml.scores', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.F32, items: Float32Array.from(scores) } },
    tokenTypesKv(types),
  ];
}

function tokenTypesKv(types: number[]): GgufKV {
  return { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.I32, items: Int32Array.from(types) } };
}

/** The converter's heuristic for added tokens that are special although not flagged so. */
function looksSpecial(token: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token)
    || (token.startsWith('<|') && token.endsWith('|>'))
    || (token.startsWith('<｜') && token.endsWith('｜>'))
    || (token.startsWith('<unused') && token.endsWith('>'));
}

/** User-defined tokens are stored with SentencePiece's "▁" turned back into spaces. */
const spacesRestored = (token: string) => token.replaceAll('▁', ' ');

function nonNegativeId(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ConvertError(field, `must be a non-negative integer id, found ${JSON.stringify(value)}`);
  return value;
}

/**
 * The converter's _create_vocab_sentencepiece: every id below vocab_size starts as an unused
 * [PADn] with score -10000; the model's pieces fill their ids (user-defined pieces count as
 * normal); then added_tokens.json and tokenizer_config.json's added_tokens_decoder override.
 */
function sentencePieceVocab(model: Uint8Array, input: HfTokenizerInput): ScoredVocab {
  const pieces = readSentencePieceModel(model);
  const size = input.vocabSize;
  const tokens = Array.from({ length: size }, (_, i) => `[PAD${i}]`);
  const scores = new Array<number>(size).fill(-10000);
  const types = new Array<number>(size).fill(TokenType.UNUSED);
  const known = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.UNUSED, TokenType.BYTE] as number[];
  for (const [id, p] of pieces.slice(0, size).entries()) {
    tokens[id] = p.piece;
    scores[id] = p.score;
    types[id] = known.includes(p.type) ? p.type : TokenType.NORMAL;
  }
  for (const [content, value] of Object.entries(input.addedTokensJson ?? {})) {
    const id = nonNegativeId(value, `added_tokens.json ${content}`);
    if (id >= size) continue;
    tokens[id] = content;
    scores[id] = -1000;
    types[id] = TokenType.USER_DEFINED;
  }
  const decoder = input.tokenizerConfig?.added_tokens_decoder;
  for (const [key, data] of Object.entries(typeof decoder === 'object' && decoder !== null ? decoder : {})) {
    const id = Number(key);
    const content = (data as { content?: unknown } | null)?.content;
    if (!Number.isInteger(id) || id < 0 || typeof content !== 'string') {
      throw new ConvertError(`tokenizer_config.json added_tokens_decoder ${key}`, 'needs an integer id and a string content');
    }
    if (id >= size) continue;
    const control = (data as { special?: unknown }).special === true || looksSpecial(content);
    tokens[id] = control ? content : spacesRestored(content);
    types[id] = control ? TokenType.CONTROL : TokenType.USER_DEFINED;
    scores[id] = -1000;
  }
  return { tokens, scores, types };
}

function bpeModel(tok: TokenizerJson): { vocab: Record<string, number>; added: AddedToken[] } {
  const modelType = tok.model?.type;
  if (modelType !== 'BPE') {
    throw new ConvertError('tokenizer.json model.type', `${JSON.stringify(modelType)} is not supported without a tokenizer.model (only BPE vocabularies can be converted)`);
  }
  const vocab = tok.model?.vocab;
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new ConvertError('tokenizer.json model.vocab', 'missing or not an object');
  for (const [text, id] of Object.entries(vocab)) nonNegativeId(id, `tokenizer.json model.vocab ${JSON.stringify(text)}`);
  const added = Array.isArray(tok.added_tokens) ? tok.added_tokens : [];
  for (const t of added) {
    nonNegativeId(t?.id, 'tokenizer.json added_tokens id');
    if (typeof t.content !== 'string') throw new ConvertError('tokenizer.json added_tokens content', `must be a string, found ${JSON.stringify(t.content)}`);
  }
  return { vocab: vocab as Record<string, number>, added };
}

/** transformers' get_vocab(): the base vocabulary plus the added tokens, text → id. */
function fullVocab(vocab: Record<string, number>, added: AddedToken[]): Map<string, number> {
  const all = new Map(Object.entries(vocab));
  for (const t of added) all.set(t.content, t.id);
  return all;
}

/**
 * gguf-py's LlamaHfVocab applies to BPE vocabularies with byte_fallback and a Sequence decoder
 * (Llama 3's, with ignore_merges and no byte_fallback, goes the GPT-2 way).
 */
function isLlamaHfTokenizer(tok: TokenizerJson): boolean {
  return tok.model?.type === 'BPE' && tok.model.byte_fallback === true && tok.decoder?.type === 'Sequence';
}

/** The special tokens transformers' Llama tokenizer reports: configured ones, else its defaults. */
function llamaSpecialTokens(tokenizerConfig: Json): string[] {
  const defaults: Record<string, string> = { bos: '<s>', eos: '</s>', unk: '<unk>' };
  const named = SPECIAL_TOKEN_TYPES.map((type) => (`${type}_token` in tokenizerConfig ? tokenizerConfig[`${type}_token`] : defaults[type]));
  const additional = Array.isArray(tokenizerConfig.additional_special_tokens) ? tokenizerConfig.additional_special_tokens : [];
  return [...named, ...additional].map(tokenContent).filter((t): t is string => t !== undefined);
}

/**
 * The converter's LlamaHfVocab: the base vocabulary in id order, then the added tokens beyond
 * it; every score is -1000, special tokens are CONTROL, <0xXX> tokens BYTE.
 */
function llamaHfVocab(tok: TokenizerJson, tokenizerConfig: Json): ScoredVocab {
  const { vocab, added } = bpeModel(tok);
  const all = fullVocab(vocab, added);
  const byId = new Map<number, string>();
  for (const [text, id] of all) byId.set(id, text);
  const baseSize = Object.keys(vocab).length;
  const specials = new Set(llamaSpecialTokens(tokenizerConfig).filter((t) => all.has(t)));
  const specialIds = new Set([...specials].map((t) => all.get(t)));
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < baseSize; id++) {
    const text = byId.get(id);
    if (text === undefined) throw new ConvertError('tokenizer.json model.vocab', `has no token with id ${id}`);
    tokens.push(text);
    types.push(/^<0x[0-9A-Fa-f]{2}>$/.test(text) ? TokenType.BYTE : specialIds.has(id) ? TokenType.CONTROL : TokenType.NORMAL);
  }
  const beyondBase = added.filter((t) => t.id >= baseSize).sort((a, b) => a.id - b.id);
  for (const t of beyondBase) {
    tokens.push(t.content);
    types.push(specials.has(t.content) ? TokenType.CONTROL : TokenType.USER_DEFINED);
  }
  return { tokens, scores: tokens.map(() => -1000), types };
}

/** The converter's get_vocab_base + _set_vocab_gpt2: tokens padded to vocab_size, then merges via SpecialVocab. */
function gpt2VocabKv(tok: TokenizerJson, vocabSize: number): GgufKV[] {
  const { vocab, added } = bpeModel(tok);
  const all = fullVocab(vocab, added);
  const byId = new Map<number, string>();
  for (const [text, id] of all) {
    if (id >= vocabSize) throw new ConvertError('tokenizer.json', `has token ${JSON.stringify(text)} with id ${id}, beyond config.json vocab_size ${vocabSize}`);
    byId.set(id, text);
  }
  const addedById = new Map(added.map((t) => [t.id, t]));
  const addedByContent = new Map(added.map((t) => [t.content, t]));
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const text = byId.get(id);
    const addedToken = text === undefined ? undefined : addedById.get(id) ?? addedByContent.get(text);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
    } else if (addedToken) {
      const control = addedToken.special === true || looksSpecial(text);
      tokens.push(control ? text : spacesRestored(text));
      types.push(control ? TokenType.CONTROL : TokenType.USER_DEFINED);
    } else {
      tokens.push(text);
      types.push(TokenType.NORMAL);
    }
  }
  return [
    str('tokenizer.ggml.model', 'gpt2'),
    str('tokenizer.ggml.pre', detectPreTokenizer(tok.pre_tokenizer)),
    strings('tokenizer.ggml.tokens', tokens),
    tokenTypesKv(types),
  ];
}

// ---- the pre-tokenizer name ---------------------------------------------------------

// The Split regexes of tokenizer.json files, as llama.cpp's llama-vocab.cpp quotes them.
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN_REGEX = '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

/** One pre-tokenizer step as a short signature, e.g. `Split(<regex>)` or `ByteLevel(use_regex=false)`. */
function stepSignature(step: unknown): string {
  const s = (step ?? {}) as Record<string, unknown>;
  switch (s.type) {
    case 'Split': {
      const pattern = s.pattern as { Regex?: unknown; String?: unknown } | undefined;
      const isolated = s.behavior === 'Isolated' && s.invert !== true;
      return `Split(${JSON.stringify(pattern?.Regex ?? pattern?.String)}${isolated ? '' : `, ${String(s.behavior)}, invert=${String(s.invert)}`})`;
    }
    case 'ByteLevel':
      return `ByteLevel(use_regex=${s.use_regex !== false}${s.add_prefix_space === true ? ', add_prefix_space' : ''})`;
    case 'Digits':
      return `Digits(individual=${s.individual_digits === true})`;
    default:
      return String(s.type);
  }
}

function signature(preTokenizer: unknown): string {
  const p = preTokenizer as { type?: unknown; pretokenizers?: unknown } | null | undefined;
  if (!p) return 'none';
  const steps = p.type === 'Sequence' && Array.isArray(p.pretokenizers) ? p.pretokenizers : [p];
  return steps.map(stepSignature).join(' + ');
}

/** Pre-tokenizer configurations (as signatures) and the tokenizer.ggml.pre names llama.cpp gives them. */
const KNOWN_PRE_TOKENIZERS: ReadonlyMap<string, string> = new Map([
  [`Split(${JSON.stringify(LLAMA3_REGEX)}) + ByteLevel(use_regex=false)`, 'llama-bpe'],
  [`Split(${JSON.stringify(QWEN2_REGEX)}) + ByteLevel(use_regex=false)`, 'qwen2'],
  [`Split(${JSON.stringify(TEKKEN_REGEX)}) + ByteLevel(use_regex=false)`, 'tekken'],
  ['Digits(individual=true) + ByteLevel(use_regex=true)', 'smollm'],
  ['ByteLevel(use_regex=true)', 'gpt-2'],
]);

/**
 * The pre-tokenizer name llama.cpp stores in tokenizer.ggml.pre. The real converter tokenizes
 * a fixed text and looks the hash of the ids up in its table, refusing unknown ones; we look
 * the pre-tokenizer configuration those hashes stand for up instead, refusing unknown ones too:
 * Llama 3's regex split (llama-bpe), Qwen2's (qwen2), Mistral Nemo's (tekken), single digits
 * before byte-level (smollm), GPT-2's byte-level regex (gpt-2).
 */
export function detectPreTokenizer(preTokenizer: unknown): string {
  const sig = signature(preTokenizer);
  const name = KNOWN_PRE_TOKENIZERS.get(sig);
  if (!name) {
    throw new ConvertError('tokenizer.json pre_tokenizer', `${sig.length > 300 ? `${sig.slice(0, 300)}...` : sig} is not recognized (known: ${[...new Set(KNOWN_PRE_TOKENIZERS.values())].join(', ')})`);
  }
  return name;
}

// ---- gguf-py's SpecialVocab -------------------------------------------------------------

const SPECIAL_TOKEN_TYPES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const;
/** GGUF keys of the special token ids the writer has a setter for (cls, prefix, ... have none). */
const SPECIAL_ID_KEYS: Record<string, string> = {
  bos: 'bos_token_id', eos: 'eos_token_id', unk: 'unknown_token_id', sep: 'seperator_token_id',
  pad: 'padding_token_id', mask: 'mask_token_id', eot: 'eot_token_id', eom: 'eom_token_id',
};
/** The add_<type>_token flags the writer has a setter for. */
const ADD_FLAG_TYPES = new Set(['bos', 'eos', 'sep']);

interface SpecialVocab {
  merges: string[];
  ids: Map<string, number>;
  addFlags: Map<string, boolean>;
  chatTemplate: string | ChatTemplateChoice[] | undefined;
}

/** A tokenizer_config.json `<type>_token` entry's text: a string or an AddedToken object's content. */
function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  const content = (entry as { content?: unknown } | null)?.content;
  return typeof content === 'string' ? content : undefined;
}

/** Python truthiness of a JSON value. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length > 0;
  return Boolean(v);
}

/** tokenizer.json merges as "a b" strings; pairs with spaces in them encode the space as "Ġ". */
function mergesOf(tok: TokenizerJson | undefined): string[] {
  const merges = tok?.model?.merges;
  if (!Array.isArray(merges) || merges.length === 0) return [];
  const first: unknown = merges[0];
  const isPair = Array.isArray(first) && first.length === 2 && typeof first[0] === 'string';
  if (typeof first !== 'string' && !isPair) throw new ConvertError('tokenizer.json model.merges', 'must be "a b" strings or ["a", "b"] pairs');
  return merges.map((m: unknown, i) => {
    if (typeof first === 'string' && typeof m === 'string') return m;
    if (isPair && Array.isArray(m) && m.every((part) => typeof part === 'string')) return (m as string[]).map((part) => part.replaceAll(' ', '\u0120')).join(' ');
    throw new ConvertError(`tokenizer.json model.merges[${i}]`, 'does not have the format of the first merge');
  });
}

function specialTokenOf(step: unknown): unknown {
  return ((step as { SpecialToken?: { id?: unknown } } | null)?.SpecialToken ?? {}).id;
}

function sequenceOf(step: unknown): unknown {
  return ((step as { Sequence?: { id?: unknown } } | null)?.Sequence ?? {}).id;
}

/**
 * gguf-py's SpecialVocab: the add_* flags implied by tokenizer.json's post-processor, then (when
 * tokenizer_config.json has content) the chat template, the add_<type>_token flags and the
 * special ids of tokenizer_config.json's `<type>_token` entries, then config.json's
 * `<type>_token_id` for the types still missing. Entries keep the order they were first set in.
 */
function specialVocab(input: HfTokenizerInput, options: { loadMerges?: boolean; nVocab?: number; types?: readonly string[] }): SpecialVocab {
  const tok = input.tokenizerJson as TokenizerJson | undefined;
  const types = [...(options.types ?? SPECIAL_TOKEN_TYPES)];
  const sv: SpecialVocab = { merges: options.loadMerges ? mergesOf(tok) : [], ids: new Map(), addFlags: new Map(), chatTemplate: undefined };
  const setId = (type: string, id: unknown) => {
    if (typeof id !== 'number' || !Number.isInteger(id)) return;
    if (id < 0) throw new ConvertError(`special token ${type}`, `has the invalid id ${id}`);
    if ((options.nVocab === undefined || id < options.nVocab) && !sv.ids.has(type)) sv.ids.set(type, id);
  };
  // SpecialVocab rewrites these entries as it goes, so it works on a copy.
  const tc: Json = { ...(input.tokenizerConfig ?? {}) };
  const hasConfig = truthy(input.tokenizerConfig);

  if (tok) readPostProcessor(tok, tc, hasConfig, types, sv.addFlags);
  if (!hasConfig) {
    readConfigJsonIds(input.config, types, setId);
    return sv;
  }
  const fileTemplate = input.chatTemplateJinja !== undefined
    ? (input.additionalChatTemplates?.length ? [{ name: 'default', template: input.chatTemplateJinja }, ...input.additionalChatTemplates] : input.chatTemplateJinja)
    : input.chatTemplateJson?.chat_template;
  const template = 'chat_template' in tc ? tc.chat_template : fileTemplate;
  if (typeof template === 'string' || Array.isArray(template)) sv.chatTemplate = template as string | ChatTemplateChoice[];
  for (const type of types) {
    const flag = tc[`add_${type}_token`];
    if (typeof flag === 'boolean') sv.addFlags.set(type, flag);
    const content = tokenContent(tc[`${type}_token`]);
    if (content === undefined) continue;
    setId(type, tok?.added_tokens?.find((t) => t.content === content)?.id);
  }
  readConfigJsonIds(input.config, types, setId);
  return sv;
}

function readConfigJsonIds(config: Json, types: readonly string[], setId: (type: string, id: unknown) => void): void {
  const textConfig = (config.text_config ?? {}) as Json;
  for (const type of types) setId(type, config[`${type}_token_id`] ?? textConfig[`${type}_token_id`]);
}

/**
 * SpecialVocab's reading of tokenizer.json's post_processor (one processor, or a Sequence of
 * them): RobertaProcessing adds bos, eos and sep; a TemplateProcessing adds BOS when its
 * single-sequence template starts with the BOS (or CLS) token, EOS when it ends with a special
 * token (which becomes the EOS, the old one the EOT), and SEP when its pair template has a
 * SEP/EOS token between A and B.
 */
function readPostProcessor(tok: TokenizerJson, tc: Json, hasConfig: boolean, types: string[], add: Map<string, boolean>): void {
  let bos = tc.bos_token;
  let cls = tc.cls_token;
  let eos = tc.eos_token;
  let sep = tc.sep_token;
  if (!truthy(bos) && truthy(cls) && hasConfig) tc.bos_token = bos = cls;
  if (!truthy(eos) && truthy(sep) && hasConfig) tc.eos_token = eos = sep;
  const postProcessor = tok.post_processor as { processors?: unknown } | null | undefined;
  if (!truthy(postProcessor)) return;
  const processors = (Array.isArray(postProcessor!.processors) ? postProcessor!.processors : [postProcessor]) as Record<string, unknown>[];
  for (const processor of processors) {
    if (processor?.type === 'RobertaProcessing') {
      add.set('bos', true);
      add.set('eos', true);
      add.set('sep', true);
      if (!truthy(cls) && hasConfig) tc.cls_token = cls = (processor.cls as unknown[] | undefined ?? [bos])[0];
      if (!truthy(sep) && hasConfig) tc.sep_token = sep = (processor.sep as unknown[] | undefined ?? [eos])[0];
      continue;
    }
    if (processor?.type !== 'TemplateProcessing') continue;
    const single = Array.isArray(processor.single) ? processor.single : [];
    let pair = Array.isArray(processor.pair) ? processor.pair : [];
    let first: unknown;
    let last: unknown;
    if (single.length > 1) {
      first = specialTokenOf(single[0]);
      if (truthy(first)) {
        if (!hasConfig) bos = first;
        add.set('bos', first === bos || first === cls);
      }
      last = specialTokenOf(single.at(-1));
      if (truthy(last)) {
        if (!hasConfig) eos = last;
        else if (last !== eos) {
          // The template's trailing token becomes the EOS; the configured one is kept as EOT (or EOM).
          const fallback = !types.includes('eot') ? 'eot' : !types.includes('eom') ? 'eom' : undefined;
          if (fallback) {
            types.push(fallback);
            tc[`${fallback}_token`] = eos;
          }
          tc.eos_token = eos = last;
        }
        add.set('eos', last === eos);
      }
    }
    if (pair.length === 0) continue;
    const start = truthy(first) && specialTokenOf(pair[0]) === first ? 1 : 0;
    const stop = truthy(last) && specialTokenOf(pair.at(-1)) === last ? pair.length - 1 : pair.length;
    pair = pair.slice(start, stop);
    if (pair.length === 0 || sequenceOf(pair[0]) !== 'A' || sequenceOf(pair.at(-1)) !== 'B') continue;
    const between = pair.slice(1, -1);
    if (between.length === 0) continue;
    let addSep = false;
    const entry = specialTokenOf(between[0]);
    if (truthy(entry) && (entry === sep || entry === eos) && !truthy(last)) addSep = true;
    if (between.length === 2) {
      const second = specialTokenOf(between[1]);
      if (truthy(second) && (second === sep || second === eos)) addSep = true;
    }
    add.set('sep', addSep);
    if (addSep && !truthy(sep) && hasConfig) tc.sep_token = eos;
  }
}

/** SpecialVocab.add_to_gguf: merges, ids and flags that have a GGUF key, then the chat template(s). */
function specialVocabKv(sv: SpecialVocab): GgufKV[] {
  const kv: GgufKV[] = [];
  if (sv.merges.length > 0) kv.push(strings('tokenizer.ggml.merges', sv.merges));
  for (const [type, id] of sv.ids) if (SPECIAL_ID_KEYS[type]) kv.push(u32(`tokenizer.ggml.${SPECIAL_ID_KEYS[type]}`, id));
  for (const [type, flag] of sv.addFlags) if (ADD_FLAG_TYPES.has(type)) kv.push(bool(`tokenizer.ggml.add_${type}_token`, flag));
  if (sv.chatTemplate !== undefined) kv.push(...chatTemplateKv(sv.chatTemplate));
  return kv;
}

/**
 * The writer's add_chat_template: a string is tokenizer.chat_template; a list of {name, template}
 * gives tokenizer.chat_template.NAME for each named one (NAME with non-alphanumerics as "_"),
 * the list of names as tokenizer.chat_templates, and the "default" one as tokenizer.chat_template.
 * Empty strings are not written.
 */
function chatTemplateKv(template: string | ChatTemplateChoice[]): GgufKV[] {
  if (typeof template === 'string') return template ? [str('tokenizer.chat_template', template)] : [];
  const kv: GgufKV[] = [];
  const names: string[] = [];
  let fallback: string | undefined;
  for (const choice of template) {
    const name = String(choice?.name ?? '').replace(/[^A-Za-z0-9]/g, '_');
    const text = choice?.template;
    if (!name || typeof text !== 'string') continue;
    if (name === 'default') {
      fallback = text;
      continue;
    }
    if (!names.includes(name)) names.push(name);
    if (text) kv.push(str(`tokenizer.chat_template.${name}`, text));
  }
  if (names.length > 0) kv.push(strings('tokenizer.chat_templates', names));
  if (fallback) kv.push(str('tokenizer.chat_template', fallback));
  return kv;
}

/**
 * What LlamaModel.set_vocab adds after the vocabulary: CodeLlama's EOT token (vocab_size
 * 32016), tokenizer_config.json's add_prefix_space, and add_bos_token false for SmolLM-sized
 * vocabularies (49152).
 */
function llamaVocabExtrasKv(input: HfTokenizerInput): GgufKV[] {
  const kv: GgufKV[] = [];
  if (input.vocabSize === 32016) {
    const infill = specialVocab(input, { types: ['prefix', 'suffix', 'middle', 'eot'] });
    const defaults: Record<string, number> = { prefix: 32007, suffix: 32008, middle: 32009, eot: 32010 };
    for (const [type, id] of Object.entries(defaults)) if (!infill.ids.has(type)) infill.ids.set(type, id);
    kv.push(...specialVocabKv(infill));
  }
  const tc = input.tokenizerConfig ?? {};
  if ('add_prefix_space' in tc) {
    const value = tc.add_prefix_space;
    if (value !== null && typeof value !== 'boolean') throw new ConvertError('tokenizer_config.json add_prefix_space', `must be true, false or null, found ${JSON.stringify(value)}`);
    kv.push(bool('tokenizer.ggml.add_space_prefix', value === true));
  }
  if (input.vocabSize === 49152) kv.push(bool('tokenizer.ggml.add_bos_token', false));
  return kv;
}
