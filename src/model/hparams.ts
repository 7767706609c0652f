// Hyperparameters of a Llama-family model, read from GGUF metadata with the
// defaults llama.cpp applies when a key is absent.

import { metaNumber, metaString, metaValue, type GgufFile } from '../formats/gguf';
import { ModelError } from './errors';

/** Architectures that share the Llama block (see llama.ts for their differences). */
export const LLAMA_FAMILY = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
export type LlamaArchitecture = (typeof LLAMA_FAMILY)[number];

export interface LlamaHparams {
  readonly architecture: LlamaArchitecture;
  readonly nVocab: number;
  /** Context length the model was trained with. */
  readonly nCtxTrain: number;
  readonly nEmbd: number;
  readonly nLayers: number;
  readonly nFf: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  /** Size of each attention head (attention.key_length, default nEmbd / nHeads). */
  readonly headDim: number;
  /** Leading dimensions of each head that RoPE rotates. */
  readonly ropeDims: number;
  readonly ropeFreqBase: number;
  /** 1 / linear RoPE scaling factor. */
  readonly ropeFreqScale: number;
  /** NeoX-style RoPE (pairs i, i + ropeDims/2) rather than adjacent pairs. */
  readonly ropeNeox: boolean;
  readonly rmsEps: number;
  readonly bosToken: number | undefined;
  readonly eosToken: number | undefined;
}

type Metadata = Pick<GgufFile, 'kv'>;

function positiveInteger(value: number, key: string): number {
  if (!Number.isInteger(value) || value < 1) throw new ModelError(`metadata ${key} must be a positive integer, got ${value}`);
  return value;
}

/** Reads the hyperparameters; nVocab comes from the embedding tensor's shape. */
export function readLlamaHparams(file: Metadata, nVocab: number): LlamaHparams {
  const arch = metaString(file, 'general.architecture');
  if (arch === undefined) throw new ModelError('missing metadata general.architecture');
  if (!(LLAMA_FAMILY as readonly string[]).includes(arch)) {
    throw new ModelError(`architecture "${arch}" is not supported (supported: ${LLAMA_FAMILY.join(', ')})`);
  }
  const architecture = arch as LlamaArchitecture;
  const key = (name: string) => `${arch}.${name}`;
  const int = (name: string, fallback?: number) => {
    const v = metaNumber(file, key(name)) ?? fallback;
    if (v === undefined) throw new ModelError(`missing metadata ${key(name)}`);
    return positiveInteger(v, key(name));
  };

  const headCountKv = metaValue(file, key('attention.head_count_kv'));
  if (typeof headCountKv === 'object') throw new ModelError(`${key('attention.head_count_kv')}: per-layer head counts are not supported`);

  const nEmbd = int('embedding_length');
  const nHeads = int('attention.head_count');
  const nKvHeads = int('attention.head_count_kv', nHeads);
  if (nHeads % nKvHeads !== 0) throw new ModelError(`${nHeads} attention heads are not a multiple of ${nKvHeads} KV heads`);
  const headDim = int('attention.key_length', nEmbd / nHeads);
  const valueDim = int('attention.value_length', headDim);
  if (valueDim !== headDim) throw new ModelError(`value head size ${valueDim} differs from key head size ${headDim}`);
  const ropeDims = int('rope.dimension_count', headDim);
  if (ropeDims > headDim || ropeDims % 2 !== 0) throw new ModelError(`RoPE dimension count ${ropeDims} does not fit heads of ${headDim}`);

  const scalingType = metaString(file, key('rope.scaling.type')) ?? 'none';
  const scalingFactor = metaNumber(file, key('rope.scaling.factor')) ?? 0;
  if (scalingType !== 'none' && scalingType !== 'linear') throw new ModelError(`RoPE scaling "${scalingType}" is not supported`);
  const ropeFreqScale = scalingType === 'linear' && scalingFactor > 0 ? 1 / scalingFactor : 1;

  const rmsEps = metaNumber(file, key('attention.layer_norm_rms_epsilon')) ?? 1e-5;
  const token = (name: string) => {
    const v = metaNumber(file, `tokenizer.ggml.${name}_token_id`);
    return v !== undefined && v >= 0 && v < nVocab ? v : undefined;
  };

  return {
    architecture,
    nVocab,
    nCtxTrain: int('context_length', 2048),
    nEmbd,
    nLayers: int('block_count'),
    nFf: int('feed_forward_length'),
    nHeads,
    nKvHeads,
    headDim,
    ropeDims,
    ropeFreqBase: metaNumber(file, key('rope.freq_base')) ?? 10000,
    ropeFreqScale,
    ropeNeox: architecture === 'qwen2' || architecture === 'qwen3',
    rmsEps,
    bosToken: token('bos'),
    eosToken: token('eos'),
  };
}
