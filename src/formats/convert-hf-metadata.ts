// The general.* metadata llama.cpp's converter (gguf-py's Metadata) writes for a model folder
// without a model card: sampling defaults from generation_config.json; the name, organization,
// basename, finetune, version and size label it derives from config.json's _name_or_path or
// else from the folder's name; and the size label from the parameter count when the name has none.

import { GgufValueType, type GgufKV } from './gguf';
import { ConvertError } from './convert-hf-errors';

export interface ModelIdComponents {
  fullName?: string;
  organization?: string;
  basename?: string;
  finetune?: string;
  version?: string;
  sizeLabel?: string;
}

type Part = { text: string; kinds: Set<'basename' | 'size_label' | 'finetune' | 'version' | 'type'> };

const isDecimal = (ch: string | undefined) => ch !== undefined && /^\p{Nd}$/u.test(ch);
const isAlpha = (ch: string | undefined) => ch !== undefined && /^\p{L}$/u.test(ch);

const VERSION = /^(v|iter)?\p{Nd}+([.]\p{Nd}+)*$/iu;
const QUANT_TYPE = /^(i?q\p{Nd}(_[\p{L}\p{N}_])*|b?fp?(16|32))$/iu;
const SIZE = /^(([A]|\p{Nd}+[x])?\p{Nd}+([._]\p{Nd}+)?[KMBT][\p{Nd}]?|small|mini|medium|large|x?xl)$/iu;
const FINETUNE = /^(chat|instruct|vision|lora)$/iu;

/** Parameters a size part such as "1.5B" stands for, or undefined when it is not a plain number (e.g. "8x7B"). */
function labelParams(part: string): number | undefined {
  const number = part.slice(0, -1);
  if (!/^\p{Nd}+(\.\p{Nd}+)?$/u.test(number)) return undefined;
  return Number(number) * 1000 ** ' KMBT'.indexOf(part.at(-1)!);
}

/** A size part as the converter normalizes it: "7_5b" → "7.5B", bloom-style "7b1" → "7.1B". */
function normalizedSize(part: string): string {
  let p = part.replaceAll('_', '.');
  if (isDecimal(p.at(-1))) p = `${p.slice(0, -2)}.${p.at(-1)}${p.at(-2)}`;
  if (p.length > 1 && isDecimal(p.at(-2)) && 'kmbt'.includes(p.at(-1)!)) p = p.slice(0, -1) + p.at(-1)!.toUpperCase();
  return p;
}

/**
 * Splits a Hugging Face model id ("org/Name-1.5B-Instruct") into the parts the converter
 * annotates: versions, quantization types, size labels (a size far from `totalParams` is
 * taken for a context length and counts as finetune), finetune words, and the basename.
 */
export function modelIdComponents(modelId: string | undefined, totalParams: number): ModelIdComponents {
  if (modelId === undefined) return {};
  if (modelId.includes(' ')) return { fullName: modelId };
  const slash = modelId.indexOf('/');
  let organization: string | undefined = slash < 0 ? undefined : modelId.slice(0, slash);
  const fullName = slash < 0 ? modelId : modelId.slice(slash + 1);
  if (organization?.startsWith('.')) organization = undefined;

  const parts: Part[] = fullName.split('-').filter((p) => p.length > 0).map((text) => ({ text, kinds: new Set() }));
  parts.forEach((part, i) => {
    if (VERSION.test(part.text)) {
      part.kinds.add('version');
    } else if (QUANT_TYPE.test(part.text)) {
      part.kinds.add('type');
      part.text = part.text.toUpperCase();
    } else if (i > 0 && SIZE.test(part.text)) {
      let text = normalizedSize(part.text);
      const params = totalParams !== 0 ? labelParams(text) : undefined;
      if (params !== undefined && totalParams > 0 && Math.abs(params - totalParams) > Math.floor((7 * totalParams) / 8)) {
        // Far from the model's size: most likely a context length.
        part.kinds.add('finetune');
        text = text.slice(0, -1) + text.at(-1)!.toLowerCase();
      }
      if (part.kinds.size === 0) part.kinds.add('size_label');
      part.text = text;
    } else if (i > 0 && FINETUNE.test(part.text)) {
      part.kinds.add('finetune');
    }
  });
  // Word sizes ("small") give way to numeric ones.
  if (parts.some((p) => p.kinds.has('size_label') && [...p.text].some(isDecimal))) {
    for (const p of parts) if (p.kinds.has('size_label') && [...p.text].every(isAlpha)) p.kinds.delete('size_label');
  }
  let atStart = true;
  for (const p of parts) {
    if (atStart && ((p.kinds.size === 0 && isAlpha(p.text[0])) || p.kinds.has('version'))) {
      p.kinds.add('basename');
    } else {
      atStart = false;
      if (p.kinds.size === 0) p.kinds.add('finetune');
    }
  }
  for (const p of [...parts].reverse()) {
    if (!(p.kinds.has('basename') && p.kinds.size > 1)) break;
    p.kinds.delete('basename');
  }
  const joined = (keep: (p: Part) => boolean) => [...new Set(parts.filter(keep).map((p) => p.text))].join('-') || undefined;
  const sizeLabel = joined((p) => p.kinds.has('size_label'));
  const finetune = parts.filter((p) => p.kinds.has('finetune')).map((p) => p.text).join('-') || undefined;
  const version = parts.filter((p) => p.kinds.has('version') && !p.kinds.has('basename')).map((p) => p.text).join('-') || undefined;
  const basename = sizeLabel === undefined && finetune === undefined && version === undefined
    ? undefined
    : parts.filter((p) => p.kinds.has('basename')).map((p) => p.text).join('-') || undefined;
  return { fullName, organization, basename, finetune, version, sizeLabel };
}

const isCased = (ch: string) => /[\p{Lowercase}\p{Uppercase}\p{Lt}]/u.test(ch);

/** Python's str.title(): a character after a cased one is lowercased, any other title-cased. */
function pythonTitle(word: string): string {
  let out = '';
  let previousCased = false;
  for (const ch of word) {
    const upper = ch.toUpperCase();
    out += previousCased ? ch.toLowerCase() : upper.length > 1 ? upper[0] + upper.slice(1).toLowerCase() : upper;
    previousCased = isCased(ch);
  }
  return out;
}

/** The converter's id_to_title: words split on "-" and spaces, all-lowercase words title-cased unless they are versions or start with a digit. */
export function idToTitle(id: string): string {
  const isLower = (w: string) => !/[\p{Uppercase}\p{Lt}]/u.test(w) && /\p{Lowercase}/u.test(w);
  return id.trim().replaceAll('-', ' ').split(/\s+/).filter((w) => w.length > 0)
    .map((w) => (isLower(w) && !/^(v\p{Nd}+(?:\.\p{Nd}+)*|\p{Nd}.*)$/u.test(w) ? pythonTitle(w) : w))
    .join(' ');
}

/** A finite double printed with `digits` decimals, rounding half to even on its exact binary value (Python's format). */
export function formatFixedHalfEven(x: number, digits: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biasedExponent = Number(bits >> 52n);
  const fraction = bits & ((1n << 52n) - 1n);
  // |x| = mantissa * 2^exponent exactly.
  const mantissa = biasedExponent === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biasedExponent === 0 ? 1 : biasedExponent) - 1075;
  const scale = 10n ** BigInt(digits);
  let numerator = mantissa * scale;
  let denominator = 1n;
  if (exponent >= 0) numerator <<= BigInt(exponent);
  else denominator <<= BigInt(-exponent);
  let quotient = numerator / denominator;
  const twiceRemainder = 2n * (numerator % denominator);
  if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) quotient += 1n;
  const text = quotient.toString().padStart(digits + 1, '0');
  const body = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return x < 0 && quotient !== 0n ? `-${body}` : body;
}

/** gguf-py's size_label for a dense model: the parameter count with K/M/B/T and at least two significant digits. */
export function sizeLabel(totalParams: number): string {
  const [scaled, suffix] = totalParams > 1e12 ? [totalParams * 1e-12, 'T'] : totalParams > 1e9 ? [totalParams * 1e-9, 'B']
    : totalParams > 1e6 ? [totalParams * 1e-6, 'M'] : [totalParams * 1e-3, 'K'];
  const integerDigits = formatFixedHalfEven(scaled, 0).replace(/^0+/, '').length;
  return `${formatFixedHalfEven(scaled, Math.max(2 - integerDigits, 0))}${suffix}`;
}

/** generation_config.json keys and the general.sampling.* values they give, in the writer's order. */
const SAMPLING: readonly { from: string; key: string; type: 'string' | 'i32' | 'f32' }[] = [
  { from: 'sequence', key: 'sequence', type: 'string' },
  { from: 'top_k', key: 'top_k', type: 'i32' },
  { from: 'top_p', key: 'top_p', type: 'f32' },
  { from: 'min_p', key: 'min_p', type: 'f32' },
  { from: 'xtc_probability', key: 'xtc_probability', type: 'f32' },
  { from: 'xtc_threshold', key: 'xtc_threshold', type: 'f32' },
  { from: 'temperature', key: 'temp', type: 'f32' },
  { from: 'penalty_last_n', key: 'penalty_last_n', type: 'i32' },
  { from: 'penalty_repeat', key: 'penalty_repeat', type: 'f32' },
  { from: 'mirostat', key: 'mirostat', type: 'i32' },
  { from: 'mirostat_tau', key: 'mirostat_tau', type: 'f32' },
  { from: 'mirostat_eta', key: 'mirostat_eta', type: 'f32' },
];

function samplingKv(generationConfig: Record<string, unknown>): GgufKV[] {
  const kv: GgufKV[] = [];
  for (const { from, key, type } of SAMPLING) {
    const value = generationConfig[from];
    if (value === undefined || value === null) continue;
    const field = `generation_config.json ${from}`;
    if (type === 'string') {
      if (typeof value !== 'string') throw new ConvertError(field, `must be a string, found ${JSON.stringify(value)}`);
      if (value) kv.push({ key: `general.sampling.${key}`, type: GgufValueType.STRING, value });
    } else {
      const ok = typeof value === 'number' && (type === 'f32' || Number.isInteger(value));
      if (!ok) throw new ConvertError(field, `must be ${type === 'i32' ? 'an integer' : 'a number'}, found ${JSON.stringify(value)}`);
      kv.push({ key: `general.sampling.${key}`, type: type === 'i32' ? GgufValueType.I32 : GgufValueType.F32, value: value as number });
    }
  }
  return kv;
}

export interface GeneralMetadataInput {
  /** The model folder's name. */
  folderName: string;
  /** config.json as written (its _name_or_path, when a model id, names the model). */
  config: Record<string, unknown>;
  /** generation_config.json, when the folder has a readable one. */
  generationConfig?: Record<string, unknown>;
  /** Elements of all the GGUF's tensors. */
  totalParams: number;
}

/** The general.* keys after general.architecture and general.type, in the converter's order. */
export function generalMetadataKv({ folderName, config, generationConfig, totalParams }: GeneralMetadataInput): GgufKV[] {
  const meta: Omit<ModelIdComponents, 'fullName'> & { name?: string } = {};
  const adopt = (id: string) => {
    const c = modelIdComponents(id, totalParams);
    meta.name ??= c.fullName === undefined ? undefined : idToTitle(c.fullName);
    meta.organization ??= c.organization === undefined ? undefined : idToTitle(c.organization);
    meta.basename ??= c.basename;
    meta.finetune ??= c.finetune;
    meta.version ??= c.version;
    meta.sizeLabel ??= c.sizeLabel;
  };
  const nameOrPath = config._name_or_path;
  // Only a model id ("org/name"), not a path on the machine that saved the config.
  if (typeof nameOrPath === 'string' && nameOrPath.split('/').length <= 2) adopt(nameOrPath);
  adopt(folderName);
  if (meta.sizeLabel === undefined && totalParams > 0) meta.sizeLabel = sizeLabel(totalParams);

  const kv = samplingKv(generationConfig ?? {});
  const text = (key: string, value: string | undefined) => {
    // The writer skips empty strings.
    if (value) kv.push({ key: `general.${key}`, type: GgufValueType.STRING, value });
  };
  text('name', meta.name);
  text('version', meta.version);
  text('organization', meta.organization);
  text('finetune', meta.finetune);
  text('basename', meta.basename);
  text('size_label', meta.sizeLabel);
  return kv;
}
