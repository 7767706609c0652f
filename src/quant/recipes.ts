// llama-quantize's choice of type per tensor (llama.cpp src/llama-quant.cpp: which tensors may be quantized, the
// recipe's default type, the per-tensor refinements of the k-quant mixes, user overrides and the fallback for rows
// that the chosen type's blocks do not divide), and the general.file_type value each recipe writes.

import { canQuantize } from './quantize';
import { ggmlTypeByName, type GgmlTypeTraits } from './types';

/** llama-quantize's recipes (mixes of types chosen per tensor): from the most bits per weight down, then the other legacy types and 16-bit floats. */
export const RECIPE_NAMES = [
  'Q8_0', 'Q6_K', 'Q5_K_M', 'Q5_K_S', 'Q4_K_M', 'Q4_K_S', 'Q3_K_L', 'Q3_K_M', 'Q3_K_S', 'Q2_K',
  'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'F16', 'BF16',
] as const;
export type RecipeName = (typeof RECIPE_NAMES)[number];

export interface QuantizeOptions {
  /** A recipe, or a single type name as llama-quantize accepts it (Q4_K means Q4_K_M; F32 converts to f32). */
  recipe: RecipeName | string;
  /** Every quantizable tensor gets the recipe's base type (shape fallbacks still apply), like --pure. */
  pure?: boolean;
  /** Like --tensor-type PATTERN=TYPE: the first pattern found in a tensor's name (regex search) picks its type. */
  tensorTypes?: { pattern: string; type: string }[];
  outputTensorType?: string;
  tokenEmbeddingType?: string;
}

export interface TensorPlanEntry {
  name: string;
  shape: number[];
  from: GgmlTypeTraits;
  to: GgmlTypeTraits;
  /** Why this type, in words, e.g. "attn_v in Q4_K_M gets Q6_K (layer 3 of 4 uses more bits)". */
  reason: string;
}

export interface ModelForPlan {
  arch: string;
  nLayer: number;
  nHeadKv?: number;
  nHead?: number;
  nExpert?: number;
  tensors: { name: string; shape: number[]; type: GgmlTypeTraits }[];
}

/** Options that llama-quantize would refuse: an unknown recipe or type, a bad pattern. */
export class QuantizeOptionsError extends Error {
  override readonly name = 'QuantizeOptionsError';
}

interface Recipe {
  name: string;
  /** LLAMA_FTYPE_* value. */
  fileType: number;
  baseType: GgmlTypeTraits;
}

function typeNamed(name: string): GgmlTypeTraits {
  const type = ggmlTypeByName(name);
  if (!type) throw new QuantizeOptionsError(`unknown tensor type "${name}"`);
  return type;
}

const RECIPES: ReadonlyMap<string, Recipe> = new Map(
  ([
    ['F32', 0, 'F32'], ['F16', 1, 'F16'], ['BF16', 32, 'BF16'],
    ['Q4_0', 2, 'Q4_0'], ['Q4_1', 3, 'Q4_1'], ['Q8_0', 7, 'Q8_0'], ['Q5_0', 8, 'Q5_0'], ['Q5_1', 9, 'Q5_1'],
    ['Q2_K', 10, 'Q2_K'], ['Q3_K_S', 11, 'Q3_K'], ['Q3_K_M', 12, 'Q3_K'], ['Q3_K_L', 13, 'Q3_K'],
    ['Q4_K_S', 14, 'Q4_K'], ['Q4_K_M', 15, 'Q4_K'], ['Q5_K_S', 16, 'Q5_K'], ['Q5_K_M', 17, 'Q5_K'], ['Q6_K', 18, 'Q6_K'],
  ] as const).map(([name, fileType, base]) => [name, { name, fileType, baseType: typeNamed(base) }]),
);

/** llama-quantize's aliases: a bare k-quant type name means its _M mix. */
const ALIASES: ReadonlyMap<string, string> = new Map([['Q3_K', 'Q3_K_M'], ['Q4_K', 'Q4_K_M'], ['Q5_K', 'Q5_K_M']]);

function recipeNamed(name: string): Recipe {
  const upper = name.trim().toUpperCase();
  const recipe = RECIPES.get(ALIASES.get(upper) ?? upper);
  if (!recipe) throw new QuantizeOptionsError(`unknown recipe "${name}" (expected one of ${[...RECIPES.keys(), ...ALIASES.keys()].join(', ')})`);
  return recipe;
}

/** general.file_type value llama-quantize writes for a recipe (LLAMA_FTYPE_*). */
export function fileTypeOf(recipe: string): number {
  return recipeNamed(recipe).fileType;
}

/** A type the user named for some tensors: it must exist and be one we can encode. */
function userType(name: string, what: string): GgmlTypeTraits {
  const type = typeNamed(name);
  if (!canQuantize(type)) throw new QuantizeOptionsError(`${what}: converting to ${type.name} is not supported`);
  return type;
}

/** ggml_n_dims: trailing dimensions of size 1 do not count. */
function dimensionCount(shape: number[]): number {
  let n = shape.length;
  while (n > 1 && shape[n - 1] === 1) n--;
  return Math.max(n, 1);
}

/** Name fragments of small or special 2-D weights that llama-quantize never quantizes. */
const KEPT_WEIGHTS: readonly [fragment: string, why: string][] = [
  ['_norm.weight', 'norm weight'],
  ['ffn_gate_inp.weight', 'expert router'],
  ['ffn_gate_tid2eid.weight', 'expert routing table'],
  ['altup', 'small altup weight'],
  ['laurel', 'small laurel weight'],
  ['per_layer_model_proj', 'per-layer projection'],
  ['ssm_conv1d', 'convolution weight'],
  ['shortconv.conv.weight', 'convolution weight'],
  ['indexer.k_proj.weight', 'small indexer projection'],
  ['indexer.q_proj.weight', 'small indexer projection'],
  ['time_mix_first.weight', 'small RWKV weight'],
  ['time_mix_w0.weight', 'small RWKV weight'],
  ['time_mix_w1.weight', 'small RWKV weight'],
  ['time_mix_w2.weight', 'small RWKV weight'],
  ['time_mix_v0.weight', 'small RWKV weight'],
  ['time_mix_v1.weight', 'small RWKV weight'],
  ['time_mix_v2.weight', 'small RWKV weight'],
  ['time_mix_a0.weight', 'small RWKV weight'],
  ['time_mix_a1.weight', 'small RWKV weight'],
  ['time_mix_a2.weight', 'small RWKV weight'],
  ['time_mix_g1.weight', 'small RWKV weight'],
  ['time_mix_g2.weight', 'small RWKV weight'],
  ['time_mix_decay_w1.weight', 'small RWKV weight'],
  ['time_mix_decay_w2.weight', 'small RWKV weight'],
  ['time_mix_lerp_fused.weight', 'small RWKV weight'],
  ['attn_rel_b.weight', 'relative position bias'],
  ['.position_embd', 'position embedding'],
  ['sam.pos_embd', 'position embedding'],
  ['sam.neck.', 'vision neck weight'],
  ['sam.net_', 'vision weight'],
  ['.rel_pos', 'relative position weight'],
  ['.patch_embd', 'patch embedding'],
  ['.patch_merger', 'patch merger'],
  ['a.rvq.codebook', 'audio codebook'],
  ['mm.a.code_embd', 'audio codebook'],
];

/** Why llama-quantize keeps a tensor as it is, or undefined when it may be quantized. */
function keptBecause(name: string, shape: number[]): string | undefined {
  const dims = dimensionCount(shape);
  if (dims < 2) return `${dims}-D`;
  if (!name.endsWith('weight')) return 'not a weight';
  if (name === 'position_embd.weight' || name === 'token_types.weight') return 'position/token-type embedding';
  return KEPT_WEIGHTS.find(([fragment]) => name.includes(fragment))?.[1];
}

type Category =
  | 'token_embd' | 'output' | 'attn_v' | 'attn_k' | 'attn_q' | 'attn_output' | 'ffn_up' | 'ffn_gate' | 'ffn_down' | 'other';

/** llama-quantize's broad tensor categories; attn_qkv and attn_kv_b count as attn_v (value-carrying, sensitive). */
function categoryOf(name: string): Category {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight' || name === 'per_layer_token_embd.weight') return 'token_embd';
  if (name.includes('attn_qkv.weight') || name.includes('attn_kv_b.weight') || name.includes('attn_v.weight')) return 'attn_v';
  if (name.includes('attn_k.weight')) return 'attn_k';
  if (name.includes('attn_q.weight')) return 'attn_q';
  if (name.includes('attn_output.weight')) return 'attn_output';
  if (name.includes('ffn_up')) return 'ffn_up';
  if (name.includes('ffn_gate')) return 'ffn_gate';
  if (name.includes('ffn_down')) return 'ffn_down';
  return 'other';
}

/** The layers a k-quant mix spends more bits on: the first and last eighth, and every third in between. */
function usesMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.trunc(layers / 8);
  return layer < eighth || layer >= Math.trunc((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

function layerOf(name: string): number | undefined {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Type plus the words explaining it. */
interface Choice {
  type: GgmlTypeTraits;
  reason: string;
}

/** Running state of one planning pass, as llama-quantize keeps it while it walks the tensors. */
class MixPlanner {
  private attnVSeen = 0;
  private ffnDownSeen = 0;
  private readonly attnVCount: number;
  private readonly tiedEmbeddings: boolean;
  private readonly nGqa: number;
  private readonly nExpert: number;
  private readonly is70B: boolean;

  constructor(private readonly model: ModelForPlan, private readonly recipe: Recipe, private readonly outputType: GgmlTypeTraits | undefined) {
    this.attnVCount = model.tensors.filter((t) => categoryOf(t.name) === 'attn_v').length;
    this.tiedEmbeddings = !model.tensors.some((t) => categoryOf(t.name) === 'output');
    const nHead = model.nHead ?? 0;
    const nHeadKv = model.nHeadKv ?? nHead;
    this.nGqa = nHeadKv > 0 ? Math.trunc(nHead / nHeadKv) : 0;
    this.nExpert = model.nExpert ?? 0;
    // llama.cpp's LLM_TYPE_70B: 80-layer Llama with grouped-query attention (8 query heads share each attn_v).
    this.is70B = model.arch === 'llama' && model.nLayer === 80 && nHead !== nHeadKv;
  }

  /** llama_tensor_get_type_impl for the mixes offered here: refines the recipe's base type for one tensor. */
  refine(name: string, shape: number[], base: GgmlTypeTraits): Choice {
    const recipe = this.recipe.name;
    const arch = this.model.arch;
    const category = categoryOf(name);
    const pick = (typeName: string, why: string): Choice => ({ type: typeNamed(typeName), reason: `${why} in ${recipe} gets ${typeName}` });
    const keep: Choice = { type: base, reason: `${recipe} default ${base.name}` };

    if (category === 'output' || (this.tiedEmbeddings && category === 'token_embd')) {
      const what = category === 'output' ? 'output' : 'token_embd (tied to the output)';
      if (this.outputType) return { type: this.outputType, reason: `${what}: output tensor type ${this.outputType.name}` };
      if (arch === 'falcon') return pick('Q8_0', `falcon ${what}`);
      if (shape[0]! % base.blockSize !== 0) return pick('Q8_0', `${what} with rows of ${shape[0]}`);
      if (base.name !== 'Q8_0') return pick('Q6_K', what);
      return keep;
    }

    if (category === 'attn_v') {
      const i = this.attnVSeen++;
      const n = this.attnVCount;
      let choice = keep;
      if (recipe === 'Q2_K') choice = pick(this.nGqa >= 4 ? 'Q4_K' : 'Q3_K', `attn_v (GQA ${this.nGqa})`);
      else if (recipe === 'Q3_K_M') choice = pick(i < 2 ? 'Q5_K' : 'Q4_K', `attn_v #${i}`);
      else if (recipe === 'Q3_K_L') choice = pick('Q5_K', 'attn_v');
      else if ((recipe === 'Q4_K_M' || recipe === 'Q5_K_M') && usesMoreBits(i, n)) choice = pick('Q6_K', `attn_v #${i} of ${n} (a layer that uses more bits)`);
      else if (recipe === 'Q4_K_S' && i < 4) choice = pick('Q5_K', `attn_v #${i} (one of the first 4)`);
      if (this.is70B && (choice.type.name === 'Q3_K' || choice.type.name === 'Q4_K')) choice = pick('Q5_K', 'attn_v of a 70B model');
      if (this.nExpert === 8) choice = pick('Q8_0', 'attn_v of an 8-expert model');
      return choice;
    }

    if (category === 'attn_k') return this.nExpert === 8 ? pick('Q8_0', 'attn_k of an 8-expert model') : keep;

    if (category === 'ffn_down') {
      const counted = this.ffnDownSeen++;
      const layers = this.model.nLayer;
      const layer = this.nExpert > 1 ? this.expertLayer(name) : counted;
      const where = `ffn_down layer ${layer} of ${layers}`;
      const sixteenth = Math.trunc(layers / 16);
      const eighth = Math.trunc(layers / 8);
      if (recipe === 'Q2_K') return pick('Q3_K', 'ffn_down');
      if (recipe === 'Q3_K_M') {
        if (layer < sixteenth) return pick('Q5_K', `${where} (first sixteenth)`);
        return arch !== 'falcon' || usesMoreBits(layer, layers) ? pick('Q4_K', where) : pick('Q3_K', where);
      }
      if (recipe === 'Q3_K_L') return pick(arch === 'falcon' ? 'Q4_K' : 'Q5_K', 'ffn_down');
      if (recipe === 'Q4_K_M') {
        if (arch === 'falcon') {
          if (layer < sixteenth) return pick('Q6_K', `${where} (first sixteenth)`);
          return pick(usesMoreBits(layer, layers) ? 'Q5_K' : 'Q4_K', where);
        }
        return usesMoreBits(layer, layers) ? pick('Q6_K', `${where} (a layer that uses more bits)`) : keep;
      }
      if (recipe === 'Q5_K_M') return usesMoreBits(layer, layers) ? pick('Q6_K', `${where} (a layer that uses more bits)`) : keep;
      if (recipe === 'Q4_K_S' && arch !== 'falcon' && layer < eighth) return pick('Q5_K', `${where} (first eighth)`);
      return keep;
    }

    if (category === 'attn_output') {
      if (arch === 'falcon') return recipe === 'Q3_K_L' ? pick('Q4_K', 'falcon attn_output') : keep;
      if (this.nExpert === 8) {
        const bumped = ['Q2_K', 'Q3_K_S', 'Q3_K_M', 'Q4_K_S', 'Q4_K_M'].includes(recipe);
        return bumped ? pick('Q5_K', 'attn_output of an 8-expert model') : keep;
      }
      if (recipe === 'Q2_K') return pick('Q3_K', 'attn_output');
      if (recipe === 'Q3_K_M') return pick('Q4_K', 'attn_output');
      if (recipe === 'Q3_K_L') return pick('Q5_K', 'attn_output');
    }
    return keep;
  }

  /** Mixture-of-experts files interleave expert tensors, so the layer comes from the name. */
  private expertLayer(name: string): number {
    const layer = layerOf(name);
    if (layer === undefined || layer >= this.model.nLayer) {
      throw new QuantizeOptionsError(`cannot tell the layer of tensor ${name} (expected blk.N. with N < ${this.model.nLayer})`);
    }
    return layer;
  }
}

/** The 32-wide type llama-quantize falls back to when a k-quant's 256-wide blocks do not divide a row. */
const FALLBACKS: ReadonlyMap<string, string> = new Map([
  ['Q2_K', 'Q4_0'], ['Q3_K', 'Q4_0'], ['Q4_K', 'Q5_0'], ['Q5_K', 'Q5_1'], ['Q6_K', 'Q8_0'],
]);

function fitsRowOrThrow(type: GgmlTypeTraits, tensor: { name: string; shape: readonly number[] }, what: string): GgmlTypeTraits {
  const rowLength = tensor.shape[0]!;
  if (rowLength % type.blockSize !== 0) {
    throw new QuantizeOptionsError(`${what} ${type.name}: rows of ${tensor.name} have ${rowLength} values, not a multiple of its block size ${type.blockSize}`);
  }
  return type;
}

/** tensor_type_fallback: a type whose blocks divide the row, F16 when nothing else does. */
function fitRow(choice: Choice, rowLength: number): Choice {
  const { type } = choice;
  if (rowLength % type.blockSize === 0) return choice;
  const fallbackName = FALLBACKS.get(type.name);
  const fallback = fallbackName && rowLength % typeNamed(fallbackName).blockSize === 0 ? typeNamed(fallbackName) : typeNamed('F16');
  return { type: fallback, reason: `${choice.reason}; row ${rowLength} not a multiple of ${type.blockSize}: fallback ${fallback.name}` };
}

/** llama-quantize processes tensors by layer (non-layer tensors first), by name within a layer. */
function processingOrder<T extends { name: string }>(tensors: T[]): T[] {
  const layer = (name: string) => layerOf(name) ?? -1;
  return [...tensors].sort((a, b) => layer(a.name) - layer(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The per-tensor plan, given the model's tensors and the architecture metadata that llama-quantize consults
 * (n_layer, n_expert, n_head/n_head_kv for GQA). Entries come in the model's tensor order.
 */
export function planQuantization(model: ModelForPlan, options: QuantizeOptions): TensorPlanEntry[] {
  const recipe = recipeNamed(options.recipe);
  const base = recipe.baseType;
  const outputType = options.outputTensorType ? userType(options.outputTensorType, 'output tensor type') : undefined;
  const tokenEmbeddingType = options.tokenEmbeddingType ? userType(options.tokenEmbeddingType, 'token embedding type') : undefined;
  const overrides = (options.tensorTypes ?? []).map(({ pattern, type }) => {
    let regex: RegExp;
    try {
      // llama-quantize lower-cases the pattern; a match anywhere in the name counts (std::regex_search).
      regex = new RegExp(pattern.toLowerCase());
    } catch (e) {
      throw new QuantizeOptionsError(`tensor type pattern "${pattern}" is not a valid regular expression: ${(e as Error).message}`);
    }
    return { pattern, regex, type: userType(type, `tensor type for "${pattern}"`) };
  });
  const planner = new MixPlanner(model, recipe, outputType);

  const choices = new Map<string, Choice>();
  for (const t of processingOrder(model.tensors)) {
    const kept = keptBecause(t.name, t.shape);
    if (kept !== undefined) {
      choices.set(t.name, { type: t.type, reason: `${kept}: kept ${t.type.name}` });
      continue;
    }
    const category = categoryOf(t.name);
    // llama-quantize applies these two as given, with no shape fallback, and fails on rows the blocks do not divide.
    if (tokenEmbeddingType && category === 'token_embd') {
      choices.set(t.name, { type: fitsRowOrThrow(tokenEmbeddingType, t, 'token embedding type'), reason: `token embedding type ${tokenEmbeddingType.name}` });
      continue;
    }
    if (outputType && category === 'output') {
      choices.set(t.name, { type: fitsRowOrThrow(outputType, t, 'output tensor type'), reason: `output tensor type ${outputType.name}` });
      continue;
    }
    // Float recipes convert every quantizable tensor; only block-quantized recipes have mixes and overrides.
    if (!base.quantized) {
      choices.set(t.name, { type: base, reason: `${recipe.name} recipe` });
      continue;
    }
    const override = overrides.find((o) => o.regex.test(t.name));
    let choice: Choice;
    if (override) choice = { type: override.type, reason: `tensor type override /${override.pattern}/ → ${override.type.name}` };
    else if (options.pure) choice = { type: base, reason: `pure ${base.name}` };
    else choice = planner.refine(t.name, t.shape, base);
    choices.set(t.name, fitRow(choice, t.shape[0]!));
  }

  return model.tensors.map((t) => {
    const choice = choices.get(t.name)!;
    return { name: t.name, shape: t.shape, from: t.type, to: choice.type, reason: choice.reason };
  });
}
