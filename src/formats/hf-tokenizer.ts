// Tokenizer metadata for a GGUF, read from a Hugging Face tokenizer.json (+ tokenizer_config.json,
// config.json), following what llama.cpp's convert_hf_to_gguf.py writes when a model folder has
// no SentencePiece tokenizer.model:
//  - a byte-level BPE (no byte_fallback) becomes tokenizer.ggml.model "gpt2" with merges;
//  - a BPE with byte_fallback (Llama 2 / Mistral exported by transformers) becomes "llama",
//    with the placeholder score -1000 the converter gives every token of such a vocabulary;
//  - anything else (Unigram, WordPiece, ...) is refused, naming the field.

import { GgufValueType, type GgufKV } from './gguf';
import { ConvertError } from './convert-hf-errors';

/** llama.cpp's token types (gguf-py TokenType). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

interface AddedToken { id: number; content: string; special?: boolean }

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean };
  added_tokens?: AddedToken[];
  pre_tokenizer?: unknown;
}

export interface HfTokenizerInput {
  tokenizerJson: unknown;
  tokenizerConfig?: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** The vocabulary size the converter uses: config.json's vocab_size when present. */
function vocabSize(tok: TokenizerJson, config: Record<string, unknown>): number {
  const fromConfig = config.vocab_size;
  if (typeof fromConfig === 'number') return fromConfig;
  const ids = [...Object.values(tok.model?.vocab ?? {}), ...(tok.added_tokens ?? []).map((t) => t.id)];
  return Math.max(-1, ...ids) + 1;
}

/**
 * The pre-tokenizer name llama.cpp stores in tokenizer.ggml.pre. The real converter picks it
 * by hashing the token ids of a fixed test text, which needs the tokenizer itself; we instead
 * recognise the pre-tokenizer configuration those hashes stand for:
 *  - Llama 3's split regex (contractions case-insensitive, numbers in groups of 1-3) → "llama-bpe";
 *  - Qwen2's regex (the same but single digits: `\p{N}` instead of `\p{N}{1,3}`) → "qwen2";
 *  - splitting digits individually before a byte-level step (SmolLM) → "smollm";
 *  - a bare byte-level pre-tokenizer with its built-in GPT-2 regex → "gpt-2";
 *  - otherwise → "default".
 */
export function detectPreTokenizer(preTokenizer: unknown): string {
  const text = JSON.stringify(preTokenizer ?? null);
  const regexes = [...text.matchAll(/"Regex":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
  const caseInsensitiveContractions = regexes.some((r) => r.startsWith("(?i:'s|'t|'re|'ve|'m|'ll|'d)"));
  if (caseInsensitiveContractions && regexes.some((r) => r.includes('\\p{N}{1,3}'))) return 'llama-bpe';
  if (caseInsensitiveContractions && regexes.some((r) => r.includes('\\p{N}|'))) return 'qwen2';
  const digitsThenByteLevel = /"type":"Digits","individual_digits":true/.test(text) && text.includes('"type":"ByteLevel"');
  if (digitsThenByteLevel) return 'smollm';
  const obj = preTokenizer as { type?: string; use_regex?: boolean } | null;
  if (obj?.type === 'ByteLevel' && obj.use_regex !== false) return 'gpt-2';
  return 'default';
}

/** gguf-py's heuristic for added tokens that are special although not flagged so. */
function looksSpecial(token: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token)
    || (token.startsWith('<|') && token.endsWith('|>'))
    || (token.startsWith('<｜') && token.endsWith('｜>'))
    || (token.startsWith('<unused') && token.endsWith('>'));
}

const SPECIAL_TOKEN_TYPES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const;
const SPECIAL_KEY: Record<string, string> = {
  bos: 'bos_token_id', eos: 'eos_token_id', unk: 'unknown_token_id', sep: 'seperator_token_id',
  pad: 'padding_token_id', cls: 'cls_token_id', mask: 'mask_token_id',
};

/**
 * gguf-py's SpecialVocab: special ids from tokenizer_config.json's `<type>_token` (looked up among
 * tokenizer.json's added tokens), then config.json's `<type>_token_id` for the ones still missing;
 * the add_bos/add_eos flags; the chat template. Written in that order, ids in the order found.
 */
function specialVocabKv(tok: TokenizerJson, tokenizerConfig: Record<string, unknown>, config: Record<string, unknown>, nVocab: number): GgufKV[] {
  const ids = new Map<string, number>();
  const set = (type: string, id: unknown) => {
    if (ids.has(type) || typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= nVocab) return;
    ids.set(type, id);
  };
  const addFlags = new Map<string, boolean>();
  for (const type of SPECIAL_TOKEN_TYPES) {
    const flag = tokenizerConfig[`add_${type}_token`];
    if (typeof flag === 'boolean') addFlags.set(type, flag);
    const entry = tokenizerConfig[`${type}_token`];
    const content = typeof entry === 'string' ? entry : (entry as { content?: unknown } | null)?.content;
    if (typeof content !== 'string') continue;
    set(type, tok.added_tokens?.find((t) => t.content === content)?.id);
  }
  for (const type of SPECIAL_TOKEN_TYPES) set(type, config[`${type}_token_id`]);

  const kv: GgufKV[] = [];
  for (const [type, id] of ids) kv.push({ key: `tokenizer.ggml.${SPECIAL_KEY[type]}`, type: GgufValueType.U32, value: id });
  for (const [type, flag] of addFlags) kv.push({ key: `tokenizer.ggml.add_${type}_token`, type: GgufValueType.BOOL, value: flag });
  const template = tokenizerConfig.chat_template;
  if (typeof template === 'string') kv.push({ key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: template });
  return kv;
}

function stringArray(key: string, items: string[]): GgufKV {
  return { key, type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, items } };
}

function tokenTypes(types: number[]): GgufKV {
  return { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.I32, items: Int32Array.from(types) } };
}

/** The tokenizer.* key-value pairs the converter writes, in its order. */
export function hfTokenizerKv({ tokenizerJson, tokenizerConfig = {}, config }: HfTokenizerInput): GgufKV[] {
  if (typeof tokenizerJson !== 'object' || tokenizerJson === null) throw new ConvertError('tokenizer.json', 'is not a JSON object');
  const tok = tokenizerJson as TokenizerJson;
  const modelType = tok.model?.type;
  if (modelType !== 'BPE') {
    throw new ConvertError('tokenizer.json model.type', `${JSON.stringify(modelType)} is not supported without a tokenizer.model (only BPE vocabularies can be converted)`);
  }
  if (typeof tok.model?.vocab !== 'object' || tok.model.vocab === null) throw new ConvertError('tokenizer.json model.vocab', 'missing or not an object');
  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(tok.model.vocab)) byId.set(id, text);
  const added = new Map<number, AddedToken>();
  for (const t of tok.added_tokens ?? []) {
    byId.set(t.id, t.content);
    added.set(t.id, t);
  }
  return tok.model.byte_fallback ? llamaHfVocab(tok, byId, added, tokenizerConfig, config) : gpt2Vocab(tok, byId, added, tokenizerConfig, config);
}

/** The converter's get_vocab_base + _set_vocab_gpt2. */
function gpt2Vocab(tok: TokenizerJson, byId: Map<number, string>, added: Map<number, AddedToken>, tokenizerConfig: Record<string, unknown>, config: Record<string, unknown>): GgufKV[] {
  const nVocab = vocabSize(tok, config);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < nVocab; id++) {
    const text = byId.get(id);
    const addedToken = added.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
    } else if (addedToken) {
      const control = addedToken.special === true || looksSpecial(text);
      // User-defined tokens are stored with SentencePiece's "▁" turned back into spaces.
      tokens.push(control ? text : text.replaceAll('▁', ' '));
      types.push(control ? TokenType.CONTROL : TokenType.USER_DEFINED);
    } else {
      tokens.push(text);
      types.push(TokenType.NORMAL);
    }
  }
  const merges = (tok.model?.merges ?? []).map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2) return `${m[0]} ${m[1]}`;
    throw new ConvertError(`tokenizer.json model.merges[${i}]`, 'must be "a b" or ["a", "b"]');
  });
  return [
    { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'gpt2' },
    { key: 'tokenizer.ggml.pre', type: GgufValueType.STRING, value: detectPreTokenizer(tok.pre_tokenizer) },
    stringArray('tokenizer.ggml.tokens', tokens),
    tokenTypes(types),
    ...(merges.length > 0 ? [stringArray('tokenizer.ggml.merges', merges)] : []),
    ...specialVocabKv(tok, tokenizerConfig, config, nVocab),
  ];
}

/**
 * transformers' all_special_tokens as LlamaHfVocab sees them: tokenizer_config.json's named special
 * tokens and its additional_special_tokens.
 */
function configSpecialTokens(tokenizerConfig: Record<string, unknown>): string[] {
  const named = SPECIAL_TOKEN_TYPES.map((type) => tokenizerConfig[`${type}_token`]);
  const additional = Array.isArray(tokenizerConfig.additional_special_tokens) ? tokenizerConfig.additional_special_tokens : [];
  return [...named, ...additional]
    .map((entry) => (typeof entry === 'string' ? entry : (entry as { content?: unknown } | null)?.content))
    .filter((t): t is string => typeof t === 'string');
}

/**
 * The converter's LlamaHfVocab (_set_vocab_llama_hf): the base vocabulary in id order, then the
 * added tokens beyond it; every score is -1000, special tokens are CONTROL, <0xXX> tokens BYTE.
 */
function llamaHfVocab(tok: TokenizerJson, byId: Map<number, string>, added: Map<number, AddedToken>, tokenizerConfig: Record<string, unknown>, config: Record<string, unknown>): GgufKV[] {
  const vocab = tok.model!.vocab!;
  const baseSize = Object.keys(vocab).length;
  const idOf = (text: string) => vocab[text] ?? [...added.values()].find((t) => t.content === text)?.id;
  const specialIds = new Set(configSpecialTokens(tokenizerConfig).map(idOf).filter((id) => id !== undefined));
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < baseSize; id++) {
    const text = byId.get(id);
    if (text === undefined) throw new ConvertError('tokenizer.json model.vocab', `has no token with id ${id}`);
    tokens.push(text);
    types.push(/^<0x[0-9A-Fa-f]{2}>$/.test(text) ? TokenType.BYTE : specialIds.has(id) ? TokenType.CONTROL : TokenType.NORMAL);
  }
  const beyondBase = [...added.values()].filter((t) => t.id >= baseSize).sort((a, b) => a.id - b.id);
  for (const t of beyondBase) {
    tokens.push(t.content);
    types.push(specialIds.has(t.id) ? TokenType.CONTROL : TokenType.USER_DEFINED);
  }
  return [
    { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'llama' },
    { key: 'tokenizer.ggml.pre', type: GgufValueType.STRING, value: 'default' },
    stringArray('tokenizer.ggml.tokens', tokens),
    { key: 'tokenizer.ggml.scores', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.F32, items: new Float32Array(tokens.length).fill(-1000) } },
    tokenTypes(types),
    ...specialVocabKv(tok, tokenizerConfig, config, tokens.length),
  ];
}
