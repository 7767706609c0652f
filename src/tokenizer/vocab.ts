// The vocabulary of a GGUF model, read from its tokenizer.* metadata with the
// defaults and fix-ups llama.cpp applies when it loads one (llama-vocab.cpp).

import { GgufValueType, metaArray, metaString, metaValue, type GgufFile } from '../formats/gguf';
import { TokenizerError } from './errors';
import { preTokenizerConfig, type PreTokenizerConfig } from './pretokenize';
import { utf8Encode } from './unicode';

/** Per-token attribute bits (llama_token_attr). */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
} as const;

/** GGUF tokenizer.ggml.token_type values -> attribute bits. */
const ATTR_BY_TOKEN_TYPE: Readonly<Record<number, number>> = {
  1: TokenAttr.NORMAL,
  2: TokenAttr.UNKNOWN,
  3: TokenAttr.CONTROL,
  4: TokenAttr.USER_DEFINED,
  5: TokenAttr.UNUSED,
  6: TokenAttr.BYTE,
};

export type VocabKind = 'spm' | 'bpe';

export interface Vocab {
  kind: VocabKind;
  tokens: readonly string[];
  ids: ReadonlyMap<string, number>;
  scores: Float32Array;
  attrs: Uint16Array;
  /** BPE merges: "left right" -> rank (lower merges first). */
  merges: ReadonlyMap<string, number>;
  /** BPE only: the pre-tokenizer settings. */
  pre: PreTokenizerConfig | undefined;
  bos: number | undefined;
  eos: number | undefined;
  eot: number | undefined;
  addBos: boolean;
  addEos: boolean;
  addSpacePrefix: boolean;
  cleanSpaces: boolean;
  ignoreMerges: boolean;
  /** Tokens that end generation. */
  eog: ReadonlySet<number>;
  /** Control, user-defined and unknown tokens, longest text first: the order they are cut out of text. */
  specialTokens: readonly number[];
}

const KEY = (name: string): string => `tokenizer.ggml.${name}`;

// Texts llama.cpp recognises when the metadata does not name the token (first match wins here;
// llama.cpp takes whichever its hash map yields first).
const EOT_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>',
  '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>',
];
const EOM_TEXTS = ['<|eom_id|>'];
const FIM_PAD_TEXTS = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP_TEXTS = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP_TEXTS = ['<|file_sep|>'];
const EOG_TEXTS = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>',
  '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>',
  '<end_of_utterance>', '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
]);
/** gpt-oss markers llama.cpp always renders, whatever their type says. */
const ALWAYS_RENDERED_TEXTS = ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>'];

function stringArray(file: GgufFile, name: string): string[] | undefined {
  const arr = metaArray(file, KEY(name));
  if (!arr) return undefined;
  if (arr.itemType !== GgufValueType.STRING) throw new TokenizerError(`${KEY(name)} must be an array of strings`);
  return arr.items as string[];
}

function numberArray(file: GgufFile, name: string, n: number): ArrayLike<number> | undefined {
  const arr = metaArray(file, KEY(name));
  if (!arr) return undefined;
  const items = arr.items;
  if (!(items instanceof Float32Array || items instanceof Int32Array)) {
    throw new TokenizerError(`${KEY(name)} must be an array of float32 or int32`);
  }
  if (items.length < n) throw new TokenizerError(`${KEY(name)} has ${items.length} entries for ${n} tokens`);
  return items;
}

function metaBool(file: GgufFile, name: string): boolean | undefined {
  const v = metaValue(file, KEY(name));
  return typeof v === 'boolean' ? v : undefined;
}

/** A token id from metadata, or the default when the key is absent or out of range (as llama.cpp warns and does). */
function specialId(file: GgufFile, name: string, fallback: number | undefined, n: number): number | undefined {
  const start = fallback !== undefined && fallback < n ? fallback : undefined;
  const v = metaValue(file, KEY(name));
  const id = typeof v === 'bigint' ? Number(v) : v;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < n ? id : start;
}

export function loadVocab(file: GgufFile): Vocab {
  const model = metaString(file, KEY('model'));
  if (model === undefined) throw new TokenizerError(`missing ${KEY('model')}`);
  let kind: VocabKind;
  if (model === 'llama') kind = 'spm';
  else if (model === 'gpt2') kind = 'bpe';
  else throw new TokenizerError(`unsupported tokenizer model '${model}' (${KEY('model')})`);

  const pre = kind === 'bpe' ? preTokenizerConfig(metaString(file, KEY('pre'))) : undefined;

  const tokens = stringArray(file, 'tokens');
  if (!tokens) throw new TokenizerError(`missing ${KEY('tokens')}`);
  const n = tokens.length;
  const scoreItems = numberArray(file, 'scores', n);
  const typeItems = numberArray(file, 'token_type', n);

  const texts: string[] = new Array<string>(n);
  const ids = new Map<string, number>();
  const scores = new Float32Array(n);
  const attrs = new Uint16Array(n);
  for (let id = 0; id < n; id++) {
    const text = tokens[id] === '' ? `[EMPTY_${id}]` : tokens[id]!;
    if (ids.has(text)) throw new TokenizerError(`duplicate token in vocabulary: '${text}' has ids ${ids.get(text)} and ${id}`);
    ids.set(text, id);
    texts[id] = text;
    scores[id] = scoreItems ? scoreItems[id]! : 0;
    attrs[id] = typeItems ? (ATTR_BY_TOKEN_TYPE[typeItems[id]!] ?? TokenAttr.UNDEFINED) : TokenAttr.NORMAL;
  }

  const merges = new Map<string, number>();
  if (kind === 'bpe') {
    const list = stringArray(file, 'merges');
    if (!list) throw new TokenizerError(`missing ${KEY('merges')}`);
    list.forEach((merge, rank) => {
      // The pair splits at the first space after the first character; the earliest rank wins.
      if (merge.indexOf(' ', 1) > 0 && !merges.has(merge)) merges.set(merge, rank);
    });
  }

  // Defaults per model type, then metadata overrides.
  const bos = specialId(file, 'bos_token_id', kind === 'spm' ? 1 : pre?.noBos ? undefined : 11, n);
  const eos = specialId(file, 'eos_token_id', kind === 'spm' ? 2 : 11, n);
  let eot = specialId(file, 'eot_token_id', undefined, n);
  let eom = specialId(file, 'eom_token_id', undefined, n);
  let fimPad = specialId(file, 'fim_pad_token_id', undefined, n);
  let fimRep = specialId(file, 'fim_rep_token_id', undefined, n);
  let fimSep = specialId(file, 'fim_sep_token_id', undefined, n);

  const addBos = metaBool(file, 'add_bos_token') ?? (kind === 'spm' ? true : pre!.addBos);
  const addEos = metaBool(file, 'add_eos_token') ?? false;
  const addSpacePrefix = metaBool(file, 'add_space_prefix') ?? kind === 'spm';
  if (addBos && bos === undefined) throw new TokenizerError(`${KEY('add_bos_token')} is true, but ${KEY('bos_token_id')} is not set`);
  if (addEos && eos === undefined) throw new TokenizerError(`${KEY('add_eos_token')} is true, but ${KEY('eos_token_id')} is not set`);

  // Tokens recognised by their text are promoted to control tokens, as llama.cpp does.
  const findByText = (candidates: readonly string[]): number | undefined => {
    for (const text of candidates) {
      const id = ids.get(text);
      if (id !== undefined) {
        attrs[id]! |= TokenAttr.CONTROL;
        return id;
      }
    }
    return undefined;
  };
  eot ??= findByText(EOT_TEXTS);
  eom ??= findByText(EOM_TEXTS);
  fimPad ??= findByText(FIM_PAD_TEXTS);
  fimRep ??= findByText(FIM_REP_TEXTS);
  fimSep ??= findByText(FIM_SEP_TEXTS);

  const eog = new Set<number>();
  for (const id of [fimPad, fimRep, fimSep]) if (id !== undefined) eog.add(id);
  for (const text of EOG_TEXTS) {
    const id = ids.get(text);
    if (id === undefined) continue;
    eog.add(id);
    attrs[id]! |= TokenAttr.CONTROL;
  }
  for (const text of ALWAYS_RENDERED_TEXTS) {
    const id = ids.get(text);
    if (id !== undefined) attrs[id] = TokenAttr.USER_DEFINED;
  }
  for (const id of [eos, eot, eom]) if (id !== undefined) eog.add(id);
  dropConflictingEog(texts, attrs, eog);

  const specialTokens: number[] = [];
  for (let id = 0; id < n; id++) {
    if (attrs[id]! & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) specialTokens.push(id);
  }
  // Longest first by UTF-8 length, as llama.cpp compares them.
  const byteLength = new Map(specialTokens.map((id) => [id, utf8Encode(texts[id]!).length]));
  specialTokens.sort((a, b) => byteLength.get(b)! - byteLength.get(a)! || a - b);

  applyModelSpecificAttrs(file, ids, attrs, specialTokens);

  return {
    kind, tokens: texts, ids, scores, attrs, merges, pre,
    bos, eos, eot,
    addBos, addEos, addSpacePrefix,
    cleanSpaces: pre ? pre.cleanSpaces : false,
    ignoreMerges: pre ? pre.ignoreMerges : false,
    eog, specialTokens,
  };
}

/**
 * llama.cpp's EOG exceptions: in vocabularies with both <|return|>/<|call|> (gpt-oss)
 * or <|calls|>/<|flush|> (solar-open), "<|end|>" does not end generation; with
 * <|tool_response> (Gemma 4), "</s>" does not.
 */
function dropConflictingEog(texts: readonly string[], attrs: Uint16Array, eog: Set<number>): void {
  const eogByText = new Map([...eog].map((id) => [texts[id]!, id]));
  const has = (text: string): boolean => eogByText.has(text);
  const end = eogByText.get('<|end|>');
  const hasCall = has('<|call|>') || has('<|calls|>');
  if (end !== undefined && ((has('<|return|>') && hasCall) || (hasCall && has('<|flush|>')))) {
    eog.delete(end);
    attrs[end] = TokenAttr.USER_DEFINED;
  }
  const closeTag = eogByText.get('</s>');
  if (closeTag !== undefined && has('<|tool_response>')) {
    eog.delete(closeTag);
    attrs[closeTag] = TokenAttr.NORMAL;
  }
}

/** Phi-3 models strip whitespace after their special tokens; llama.cpp keys this on the model name. */
function applyModelSpecificAttrs(file: GgufFile, ids: ReadonlyMap<string, number>, attrs: Uint16Array, specialTokens: readonly number[]): void {
  const name = (metaString(file, 'general.name') ?? '').toLowerCase();
  if (!name.includes('phi-3') && !name.includes('phi3')) return;
  for (const id of specialTokens) attrs[id]! |= TokenAttr.RSTRIP;
  const set = (text: string, on: boolean): void => {
    const id = ids.get(text);
    if (id !== undefined) attrs[id] = on ? attrs[id]! | TokenAttr.RSTRIP : attrs[id]! & ~TokenAttr.RSTRIP;
  };
  set('</s>', true);
  for (const text of ['<unk>', '<s>', '<|endoftext|>']) set(text, false);
}
