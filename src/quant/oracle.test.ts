// Property test against llama.cpp itself: random small Llama-shaped models,
// quantized by quantizeModel and by llama_model_quantize (src/quant/llama-oracle.ts),
// must give the same file byte for byte, for several recipes and options.

import fc from 'fast-check';
import { mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GgufValueType, readGguf, readTensorBytes, type GgufKV } from '../formats/gguf';
import { writeGguf, type GgufTensorToWrite } from '../formats/gguf-writer';
import { MemorySink } from '../formats/sink';
import { f32ToBf16, f32ToF16 } from './fp16';
import { LlamaOracleError, loadLlamaOracle } from './llama-oracle';
import { quantizeModel } from './quantize-model';
import type { QuantizeOptions } from './recipes';
import { GgmlType, ggmlType } from './types';

const RECIPES: QuantizeOptions[] = [
  { recipe: 'Q4_K_M' },
  { recipe: 'Q3_K_S' },
  { recipe: 'Q2_K' },
  { recipe: 'Q5_0' },
  { recipe: 'Q6_K' },
  { recipe: 'Q4_1', pure: true },
  // llama.cpp aborts the process when a type given explicitly does not divide the rows, so these are 32-wide types
  // (every row length here is a multiple of 32).
  {
    recipe: 'Q4_K_M',
    tensorTypes: [{ pattern: 'ffn_up', type: 'Q5_1' }, { pattern: 'blk\\.0\\.attn_[qk]', type: 'Q8_0' }],
    outputTensorType: 'Q8_0',
    tokenEmbeddingType: 'Q4_0',
  },
];

interface ModelSpec {
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  kvGroups: number;
  nVocab: number;
  /** Storage of the 2-D weights; norms are always F32. */
  weightType: 'F32' | 'F16' | 'BF16';
  seed: number;
}

/** Row lengths that are multiples of 256, of 32 only, and of neither (those fall back to F16). */
const modelSpec: fc.Arbitrary<ModelSpec> = fc.record({
  nEmbd: fc.constantFrom(256, 512, 128, 96),
  nFf: fc.constantFrom(256, 512, 320, 96, 136, 200),
  nLayer: fc.integer({ min: 1, max: 3 }),
  nHead: fc.constantFrom(1, 2, 4),
  kvGroups: fc.constantFrom(1, 2),
  nVocab: fc.integer({ min: 16, max: 300 }),
  weightType: fc.constantFrom('F32', 'F16', 'BF16'),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

/** Small deterministic generator (mulberry32), so a failing seed reproduces. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Weights of one of several shapes of distribution, at a scale from 1e-4 to 10, with some all-zero and constant rows. */
function randomValues(next: () => number, rowLength: number, rows: number): Float32Array {
  const scale = 10 ** (next() * 5 - 4);
  const kind = Math.floor(next() * 4);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const draw = [
    () => gaussian(),
    () => gaussian() / Math.max(0.05, Math.sqrt(next())), // heavy tails
    () => next() * 2 - 1,
    () => (next() < 0.9 ? 0 : gaussian()), // sparse
  ][kind]!;
  const out = new Float32Array(rowLength * rows);
  for (let r = 0; r < rows; r++) {
    const rowKind = next();
    const constant = gaussian() * scale;
    for (let c = 0; c < rowLength; c++) {
      const v = rowKind < 0.03 ? 0 : rowKind < 0.06 ? constant : draw() * scale;
      out[r * rowLength + c] = Math.max(-60000, Math.min(60000, v));
    }
  }
  return out;
}

function encodeWeights(values: Float32Array, type: ModelSpec['weightType']): Uint8Array {
  if (type === 'F32') return new Uint8Array(values.buffer);
  const toBits = type === 'F16' ? f32ToF16 : f32ToBf16;
  return new Uint8Array(Uint16Array.from(values, toBits).buffer);
}

/** A GGUF of a Llama with random weights, laid out as llama.cpp's converter writes one. */
async function randomModel(spec: ModelSpec): Promise<Uint8Array> {
  const next = random(spec.seed);
  const nHeadKv = spec.nHead % spec.kvGroups === 0 ? spec.nHead / spec.kvGroups : spec.nHead;
  const nEmbdKv = (spec.nEmbd / spec.nHead) * nHeadKv;
  const f32 = ggmlType(GgmlType.F32);
  const weightType = ggmlType(GgmlType[spec.weightType]);
  const weight = (name: string, rowLength: number, rows: number): GgufTensorToWrite => {
    const data = encodeWeights(randomValues(next, rowLength, rows), spec.weightType);
    return { name, shape: [rowLength, rows], type: weightType, data: () => data };
  };
  const norm = (name: string): GgufTensorToWrite => {
    const data = new Uint8Array(Float32Array.from({ length: spec.nEmbd }, () => 1 + next() * 0.1).buffer);
    return { name, shape: [spec.nEmbd], type: f32, data: () => data };
  };
  const tensors = [weight('token_embd.weight', spec.nEmbd, spec.nVocab)];
  for (let i = 0; i < spec.nLayer; i++) {
    tensors.push(
      norm(`blk.${i}.attn_norm.weight`),
      weight(`blk.${i}.attn_q.weight`, spec.nEmbd, spec.nEmbd),
      weight(`blk.${i}.attn_k.weight`, spec.nEmbd, nEmbdKv),
      weight(`blk.${i}.attn_v.weight`, spec.nEmbd, nEmbdKv),
      weight(`blk.${i}.attn_output.weight`, spec.nEmbd, spec.nEmbd),
      norm(`blk.${i}.ffn_norm.weight`),
      weight(`blk.${i}.ffn_gate.weight`, spec.nEmbd, spec.nFf),
      weight(`blk.${i}.ffn_up.weight`, spec.nEmbd, spec.nFf),
      weight(`blk.${i}.ffn_down.weight`, spec.nFf, spec.nEmbd),
    );
  }
  tensors.push(norm('output_norm.weight'), weight('output.weight', spec.nEmbd, spec.nVocab));
  const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
  const kv: GgufKV[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufValueType.STRING, value: `random ${JSON.stringify(spec)}` },
    u32('llama.context_length', 128),
    u32('llama.embedding_length', spec.nEmbd),
    u32('llama.block_count', spec.nLayer),
    u32('llama.feed_forward_length', spec.nFf),
    u32('llama.attention.head_count', spec.nHead),
    u32('llama.attention.head_count_kv', nHeadKv),
    u32('llama.rope.dimension_count', spec.nEmbd / spec.nHead),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufValueType.F32, value: 1e-5 },
    u32('general.file_type', spec.weightType === 'F32' ? 0 : spec.weightType === 'F16' ? 1 : 32),
  ];
  const sink = new MemorySink();
  await writeGguf(sink, { kv, tensors });
  return sink.bytes();
}

/** The first tensor whose bytes differ, for a readable failure; undefined when the files are equal. */
async function firstDifference(ours: Uint8Array<ArrayBuffer>, theirs: Uint8Array<ArrayBuffer>): Promise<string | undefined> {
  if (Buffer.compare(ours, theirs) === 0) return undefined;
  const [oursBlob, theirsBlob] = [new Blob([ours]), new Blob([theirs])];
  const [a, b] = [await readGguf(oursBlob), await readGguf(theirsBlob)];
  for (const [i, t] of b.tensors.entries()) {
    const o = a.tensors[i];
    if (!o || o.name !== t.name || o.type.id !== t.type.id) return `tensor ${i}: ours ${o?.name} ${o?.type.name}, llama.cpp ${t.name} ${t.type.name}`;
    if (Buffer.compare(await readTensorBytes(oursBlob, o), await readTensorBytes(theirsBlob, t)) !== 0) return `tensor ${t.name} (${t.type.name}): bytes differ`;
  }
  return `headers differ (${ours.length} vs ${theirs.length} bytes)`;
}

describe('quantizeModel against llama_model_quantize', () => {
  const oracle = loadLlamaOracle();
  const dir = mkdtempSync(join(tmpdir(), 'quant-oracle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a failure of llama.cpp with its log', () => {
    const missing = join(dir, 'missing.gguf');
    expect(() => oracle.quantize(missing, join(dir, 'never.gguf'), { recipe: 'Q8_0' })).toThrow(LlamaOracleError);
    expect(() => oracle.quantize(missing, join(dir, 'never.gguf'), { recipe: 'Q8_0' })).toThrow(missing);
  });

  for (const [index, options] of RECIPES.entries()) {
    it(`writes llama.cpp's bytes for random models: ${JSON.stringify(options)}`, async () => {
      await fc.assert(
        fc.asyncProperty(modelSpec, async (spec) => {
          const input = join(dir, `in-${index}.gguf`);
          const output = join(dir, `out-${index}.gguf`);
          writeFileSync(input, await randomModel(spec));
          oracle.quantize(input, output, options);
          const blob = await openAsBlob(input);
          const sink = new MemorySink();
          await quantizeModel(blob, await readGguf(blob), options, sink);
          expect(await firstDifference(sink.bytes(), new Uint8Array(readFileSync(output)))).toBeUndefined();
        }),
        { numRuns: 6 },
      );
    });
  }
});
