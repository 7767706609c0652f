// The models the runtime benchmark runs: a random-weight Llama of about 60M
// parameters (written once as F32 with our GGUF writer, then quantized with our
// quantizeModel, which is byte-identical to llama-quantize), cached in the OS
// temp folder, and the real stories260K fixture. The random model borrows the
// Llama 2 SentencePiece vocabulary of a vocab-only fixture so that llama.cpp
// (native and wllama) accepts it.

import { existsSync, openAsBlob } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufValueType, readGguf, type GgufKV } from '../formats/gguf';
import { writeGguf, type GgufTensorToWrite } from '../formats/gguf-writer';
import { FileSink } from '../cli/file-sink';
import { quantizeModel } from '../quant/quantize-model';
import { GgmlType, ggmlType } from '../quant/types';

export const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));
const VOCAB_SOURCE = path.join(FIXTURES, 'tokenizer/ggml-vocab-llama-spm.gguf');
export const STORIES_260K = path.join(FIXTURES, 'models/stories260K.gguf');

export interface LlamaShape {
  nEmbd: number;
  nLayers: number;
  nHeads: number;
  /** Grouped-query attention: fewer key/value heads than query heads (default: nHeads). */
  nKvHeads?: number;
  nFf: number;
  nVocab: number;
  nCtx: number;
}

/** The shape of the ~60M-parameter model (width 512, 8 layers) the reference figures were measured on. */
export const RANDOM_LLAMA_60M: LlamaShape = { nEmbd: 512, nLayers: 8, nHeads: 8, nFf: 1376, nVocab: 32000, nCtx: 2048 };

/** The quantization recipes benchmarked for the random model. */
export const BENCH_RECIPES = ['Q4_0', 'Q8_0', 'Q4_K_M'] as const;

export interface BenchModel {
  /** Model name, e.g. "llama-60M". */
  model: string;
  /** Recipe or type, e.g. "Q4_K_M", "F32". */
  type: string;
  path: string;
}

interface TensorSpec {
  name: string;
  /** GGUF order: shape[0] is the row length. */
  shape: number[];
}

/** The tensors of a Llama with this shape (untied output, no biases): embedding, layers, output norm, output. */
export function llamaTensors(s: LlamaShape): TensorSpec[] {
  const kvWidth = (s.nEmbd / s.nHeads) * (s.nKvHeads ?? s.nHeads);
  const layer = (i: number): TensorSpec[] => [
    { name: `blk.${i}.attn_norm.weight`, shape: [s.nEmbd] },
    { name: `blk.${i}.attn_q.weight`, shape: [s.nEmbd, s.nEmbd] },
    { name: `blk.${i}.attn_k.weight`, shape: [s.nEmbd, kvWidth] },
    { name: `blk.${i}.attn_v.weight`, shape: [s.nEmbd, kvWidth] },
    { name: `blk.${i}.attn_output.weight`, shape: [s.nEmbd, s.nEmbd] },
    { name: `blk.${i}.ffn_norm.weight`, shape: [s.nEmbd] },
    { name: `blk.${i}.ffn_gate.weight`, shape: [s.nEmbd, s.nFf] },
    { name: `blk.${i}.ffn_up.weight`, shape: [s.nEmbd, s.nFf] },
    { name: `blk.${i}.ffn_down.weight`, shape: [s.nFf, s.nEmbd] },
  ];
  return [
    { name: 'token_embd.weight', shape: [s.nEmbd, s.nVocab] },
    ...Array.from({ length: s.nLayers }, (_, i) => layer(i)).flat(),
    { name: 'output_norm.weight', shape: [s.nEmbd] },
    { name: 'output.weight', shape: [s.nEmbd, s.nVocab] },
  ];
}

export function parameterCount(s: LlamaShape): number {
  return llamaTensors(s).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The Llama hyperparameter metadata for this shape, followed by the tokenizer entries of `vocab` (llama.cpp needs
 * them; our runtime runs token ids without a vocabulary, so the GPU benchmark passes none).
 */
export function llamaMetadata(s: LlamaShape, name: string, vocab?: GgufKV[]): GgufKV[] {
  if (vocab) {
    const tokens = vocab.find((e) => e.key === 'tokenizer.ggml.tokens')?.value;
    const vocabSize = typeof tokens === 'object' ? tokens.items.length : 0;
    if (vocabSize !== s.nVocab) throw new RangeError(`the borrowed vocabulary has ${vocabSize} tokens, the model shape asks for ${s.nVocab}`);
  }
  if (s.nEmbd % s.nHeads !== 0) throw new RangeError(`width ${s.nEmbd} does not split into ${s.nHeads} heads`);
  const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
  return [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufValueType.STRING, value: name },
    u32('llama.context_length', s.nCtx),
    u32('llama.embedding_length', s.nEmbd),
    u32('llama.block_count', s.nLayers),
    u32('llama.feed_forward_length', s.nFf),
    u32('llama.rope.dimension_count', s.nEmbd / s.nHeads),
    u32('llama.attention.head_count', s.nHeads),
    u32('llama.attention.head_count_kv', s.nKvHeads ?? s.nHeads),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufValueType.F32, value: 1e-5 },
    u32('general.file_type', 0),
    ...(vocab ?? []).filter((e) => e.key.startsWith('tokenizer.')),
  ];
}

/**
 * Deterministic weights: norms are 1; matrices are uniform in ±1/sqrt(row length) so
 * activations stay in a sane range through the layers (decode speed does not depend on values).
 */
function randomTensor(spec: TensorSpec, seed: number): Float32Array {
  const out = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
  if (spec.shape.length === 1) return out.fill(1);
  const scale = 2 / Math.sqrt(spec.shape[0]!);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32 - 0.5) * scale;
  }
  return out;
}

/** Writes an F32 Llama of this shape with random weights and the Llama 2 vocabulary to `file`. */
export async function writeRandomLlama(file: string, s: LlamaShape, name: string): Promise<void> {
  const vocab = await readGguf(await openAsBlob(VOCAB_SOURCE));
  const f32 = ggmlType(GgmlType.F32);
  const tensors: GgufTensorToWrite[] = llamaTensors(s).map((spec, i) => ({
    name: spec.name,
    shape: spec.shape,
    type: f32,
    data: () => {
      const values = randomTensor(spec, 0x9e3779b9 * (i + 1));
      return new Uint8Array(values.buffer);
    },
  }));
  await FileSink.writeAtomically(file, (sink) => writeGguf(sink, { version: 3, kv: llamaMetadata(s, name, vocab.kv), tensors }));
}

async function quantizeFile(source: string, recipe: string, file: string): Promise<void> {
  const blob = await openAsBlob(source);
  const gguf = await readGguf(blob);
  await FileSink.writeAtomically(file, (sink) => quantizeModel(blob, gguf, { recipe }, sink, { threads: Math.min(2, os.cpus().length) }));
}

/**
 * The benchmark's model files, made on first use and kept in os.tmpdir():
 * the random 60M Llama in each of BENCH_RECIPES, then stories260K (F32).
 */
export async function prepareBenchModels(log: (line: string) => void = () => {}): Promise<BenchModel[]> {
  const dir = path.join(os.tmpdir(), 'quantscope-bench-models');
  await mkdir(dir, { recursive: true });
  const model = 'llama-60M';
  // The shape is in the file names, so that a changed shape never picks up files of the old one.
  const s = RANDOM_LLAMA_60M;
  const stem = path.join(dir, `llama-${s.nEmbd}x${s.nLayers}-h${s.nHeads}-ff${s.nFf}-v${s.nVocab}`);
  const f32 = `${stem}-F32.gguf`;
  if (!existsSync(f32)) {
    log(`writing ${f32} (random weights, ${(parameterCount(s) / 1e6).toFixed(1)}M parameters)`);
    await writeRandomLlama(f32, s, model);
  }
  const models: BenchModel[] = [];
  for (const recipe of BENCH_RECIPES) {
    const file = `${stem}-${recipe}.gguf`;
    if (!existsSync(file)) {
      log(`quantizing to ${file}`);
      await quantizeFile(f32, recipe, file);
    }
    models.push({ model, type: recipe, path: file });
  }
  models.push({ model: 'stories260K', type: 'F32', path: STORIES_260K });
  return models;
}
