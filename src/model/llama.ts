// The Llama block and its close relatives, as one plain forward pass:
//   x = embed(tokens)
//   per layer:  x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n)   with n = rmsnorm(x)
//               x += Wdown · (silu(Wgate·n) ⊙ Wup·n)                 with n = rmsnorm(x)
//   logits = Wout · rmsnorm(x)        (Wout = token embedding when output.weight is absent)
// Variants: Mistral is Llama; Qwen2 adds Q/K/V biases and NeoX RoPE; Qwen3 adds an
// RMSNorm over each Q and K head before RoPE.

import { readTensorBytes, type GgufFile } from '../formats/gguf';
import { GgmlType } from '../quant/types';
import { topValuesOf, type AttentionParams, type Backend, type BackendBuffer, type BackendKvCache, type BackendWeight, type RopeParams, type TopValues } from '../backend/backend';
import { ModelError } from './errors';
import { readLlamaHparams, type LlamaHparams } from './hparams';
import type { CausalLM, LoadOptions } from './model';
import { TensorChecker, TensorLoader, type WeightSource } from './tensors';

/** The weights of one block: `W` is a header entry while checking, an uploaded weight while loading. */
interface LlamaLayer<W = BackendWeight> {
  attnNorm: W;
  wq: W;
  wk: W;
  wv: W;
  bq: W | undefined;
  bk: W | undefined;
  bv: W | undefined;
  qNorm: W | undefined;
  kNorm: W | undefined;
  wo: W;
  ffnNorm: W;
  gate: W;
  up: W;
  down: W;
}

interface LlamaWeights<W = BackendWeight> {
  tokenEmbd: W;
  outputNorm: W;
  /** Absent when the output projection is tied to the token embedding. */
  output: W | undefined;
  layers: LlamaLayer<W>[];
}

/** Activation buffers sized for maxBatch tokens. */
interface Scratch {
  x: BackendBuffer;
  normed: BackendBuffer;
  q: BackendBuffer;
  k: BackendBuffer;
  v: BackendBuffer;
  attn: BackendBuffer;
  gate: BackendBuffer;
  up: BackendBuffer;
  logits: BackendBuffer;
}

export class LlamaModel implements CausalLM {
  private readonly rope: { q: RopeParams; k: RopeParams };
  private readonly attentionParams: AttentionParams;
  private readonly scratch: Scratch;

  private constructor(
    readonly hparams: LlamaHparams,
    readonly backend: Backend,
    readonly maxBatch: number,
    ropeFreqFactors: Float32Array | undefined,
    private readonly tokenEmbd: BackendWeight,
    private readonly layers: LlamaLayer[],
    private readonly outputNorm: BackendWeight,
    private readonly output: BackendWeight,
  ) {
    const { nHeads, nKvHeads, headDim, ropeDims, ropeFreqBase, ropeFreqScale, ropeNeox, nEmbd, nFf, nVocab } = hparams;
    const ropeShared = { headDim, ropeDims, freqBase: ropeFreqBase, freqScale: ropeFreqScale, neox: ropeNeox, freqFactors: ropeFreqFactors };
    this.rope = { q: { ...ropeShared, nHeads }, k: { ...ropeShared, nHeads: nKvHeads } };
    this.attentionParams = { nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
    const buffer = (width: number) => backend.createBuffer(maxBatch * width);
    this.scratch = {
      x: buffer(nEmbd),
      normed: buffer(nEmbd),
      q: buffer(nHeads * headDim),
      k: buffer(nKvHeads * headDim),
      v: buffer(nKvHeads * headDim),
      attn: buffer(nHeads * headDim),
      gate: buffer(nFf),
      up: buffer(nFf),
      logits: buffer(nVocab),
    };
  }

  static async load(blob: Blob, file: GgufFile, backend: Backend, maxBatch: number, options: Pick<LoadOptions, 'onProgress' | 'signal'> = {}): Promise<LlamaModel> {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new ModelError(`maxBatch must be a positive integer, got ${maxBatch}`);
    const checker = new TensorChecker(file, backend);
    const embdInfo = checker.info('token_embd.weight');
    if (!embdInfo) throw new ModelError('missing tensor token_embd.weight');
    const hp = readLlamaHparams(file, embdInfo.shape[1] ?? 1);
    const planned = await llamaWeights(hp, checker);
    if (hp.architecture === 'qwen3' && planned.layers.some((l) => !l.qNorm || !l.kNorm)) throw new ModelError('qwen3 model without attn_q_norm / attn_k_norm tensors');

    const ropeFreqFactors = await readRopeFreqFactors(blob, checker, hp);
    const weights = await llamaWeights(hp, new TensorLoader(blob, checker, backend, options.onProgress, options.signal));
    return new LlamaModel(hp, backend, maxBatch, ropeFreqFactors, weights.tokenEmbd, weights.layers, weights.outputNorm, weights.output ?? weights.tokenEmbd);
  }

  createCache(nCtx: number): BackendKvCache {
    return this.backend.createKvCache(this.hparams.nLayers, nCtx, this.hparams.nKvHeads * this.hparams.headDim);
  }

  async forward(tokens: ArrayLike<number>, startPos: number, cache: BackendKvCache, outputs: 'last' | 'all'): Promise<Float32Array> {
    if (outputs === 'last') return this.backend.read(this.recordPass(tokens, startPos, cache));
    this.checkPositions(tokens.length, startPos, cache);
    const nVocab = this.hparams.nVocab;
    const logits = new Float32Array(tokens.length * nVocab);
    for (let first = 0; first < tokens.length; first += this.maxBatch) {
      const batch = Array.prototype.slice.call(tokens, first, Math.min(tokens.length, first + this.maxBatch)) as number[];
      logits.set(await this.backend.read(this.forwardBatch(batch, startPos + first, cache, batch.length)), first * nVocab);
    }
    return logits;
  }

  async forwardTop(tokens: ArrayLike<number>, startPos: number, cache: BackendKvCache, k: number, extraIds: readonly number[]): Promise<TopValues> {
    const logits = this.recordPass(tokens, startPos, cache);
    if (this.backend.topK && Number.isFinite(k)) return this.backend.topK(logits, k, extraIds);
    return topValuesOf(await this.backend.read(logits), k, extraIds);
  }

  /** Records the passes over `tokens` (none read back); returns the backend buffer of the last token's logits. */
  private recordPass(tokens: ArrayLike<number>, startPos: number, cache: BackendKvCache): BackendBuffer {
    this.checkPositions(tokens.length, startPos, cache);
    let last = 0;
    while (last + this.maxBatch < tokens.length) last += this.maxBatch;
    for (let first = 0; first < last; first += this.maxBatch) {
      this.forwardBatch(Array.prototype.slice.call(tokens, first, first + this.maxBatch) as number[], startPos + first, cache, 0);
    }
    return this.forwardBatch(Array.prototype.slice.call(tokens, last) as number[], startPos + last, cache, 1);
  }

  private checkPositions(n: number, startPos: number, cache: BackendKvCache): void {
    if (n === 0) throw new ModelError('forward needs at least one token');
    if (!Number.isInteger(startPos) || startPos < 0 || startPos + n > cache.nCtx) {
      throw new ModelError(`positions ${startPos}..${startPos + n - 1} do not fit a context of ${cache.nCtx}`);
    }
  }

  /**
   * Records one pass over at most maxBatch tokens; returns the buffer that will hold the logits of its last
   * `nOutputs` tokens (empty for none). Nothing is read back here: a GPU backend runs the pass as one submission
   * when the caller reads the logits, or what it needs of them.
   */
  private forwardBatch(tokens: number[], startPos: number, cache: BackendKvCache, nOutputs: number): BackendBuffer {
    const b = this.backend;
    const { nEmbd, nFf, nHeads, nKvHeads, headDim, rmsEps, nVocab } = this.hparams;
    const n = tokens.length;
    const rows = (buffer: BackendBuffer, width: number, count = n, first = 0) => b.view(buffer, first * width, count * width);
    const s = this.scratch;
    const x = rows(s.x, nEmbd);
    const normed = rows(s.normed, nEmbd);
    const q = rows(s.q, nHeads * headDim);
    const k = rows(s.k, nKvHeads * headDim);
    const v = rows(s.v, nKvHeads * headDim);
    const attn = rows(s.attn, nHeads * headDim);
    const gate = rows(s.gate, nFf);
    const up = rows(s.up, nFf);

    b.embed(this.tokenEmbd, tokens, x);
    this.layers.forEach((layer, il) => {
      b.rmsNorm(x, layer.attnNorm, normed, n, rmsEps);
      this.project(layer.wq, layer.bq, normed, q, n);
      this.project(layer.wk, layer.bk, normed, k, n);
      this.project(layer.wv, layer.bv, normed, v, n);
      if (layer.qNorm) b.rmsNorm(q, layer.qNorm, q, n * nHeads, rmsEps);
      if (layer.kNorm) b.rmsNorm(k, layer.kNorm, k, n * nKvHeads, rmsEps);
      b.rope(q, n, startPos, this.rope.q);
      b.rope(k, n, startPos, this.rope.k);
      b.storeKv(cache, il, k, v, startPos, n);
      b.attention(q, cache, il, attn, startPos, n, this.attentionParams);
      b.matmul(layer.wo, attn, normed, n);
      b.add(x, normed, x);

      b.rmsNorm(x, layer.ffnNorm, normed, n, rmsEps);
      b.matmul(layer.gate, normed, gate, n);
      b.matmul(layer.up, normed, up, n);
      // Row by row: like ggml's, the vectorized SiLU starts afresh at each row.
      for (let t = 0; t < n; t++) b.siluMul(rows(gate, nFf, 1, t), rows(up, nFf, 1, t), rows(gate, nFf, 1, t));
      b.matmul(layer.down, gate, normed, n);
      b.add(x, normed, x);
    });
    if (nOutputs === 0) return b.view(s.logits, 0, 0);

    const first = n - nOutputs;
    const outNormed = rows(s.normed, nEmbd, nOutputs);
    const logits = rows(s.logits, nVocab, nOutputs);
    b.rmsNorm(rows(s.x, nEmbd, nOutputs, first), this.outputNorm, outNormed, nOutputs, rmsEps);
    b.matmul(this.output, outNormed, logits, nOutputs);
    return logits;
  }

  private project(weight: BackendWeight, bias: BackendWeight | undefined, x: BackendBuffer, out: BackendBuffer, n: number): void {
    this.backend.matmul(weight, x, out, n);
    if (bias) this.backend.addBias(out, bias, n);
  }
}

/** Every tensor a Llama-family model uses, by GGUF name and shape, from a source of weights. */
async function llamaWeights<W>(hp: LlamaHparams, tensors: WeightSource<W>): Promise<LlamaWeights<W>> {
  const { nEmbd, nFf, nVocab, nHeads, nKvHeads, headDim } = hp;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const tokenEmbd = await tensors.require('token_embd.weight', [nEmbd, nVocab]);
  const outputNorm = await tensors.require('output_norm.weight', [nEmbd]);
  const output = await tensors.optional('output.weight', [nEmbd, nVocab]);
  const layers: LlamaLayer<W>[] = [];
  for (let i = 0; i < hp.nLayers; i++) {
    const name = (suffix: string) => `blk.${i}.${suffix}`;
    layers.push({
      attnNorm: await tensors.require(name('attn_norm.weight'), [nEmbd]),
      wq: await tensors.require(name('attn_q.weight'), [nEmbd, qDim]),
      wk: await tensors.require(name('attn_k.weight'), [nEmbd, kvDim]),
      wv: await tensors.require(name('attn_v.weight'), [nEmbd, kvDim]),
      bq: await tensors.optional(name('attn_q.bias'), [qDim]),
      bk: await tensors.optional(name('attn_k.bias'), [kvDim]),
      bv: await tensors.optional(name('attn_v.bias'), [kvDim]),
      qNorm: await tensors.optional(name('attn_q_norm.weight'), [headDim]),
      kNorm: await tensors.optional(name('attn_k_norm.weight'), [headDim]),
      wo: await tensors.require(name('attn_output.weight'), [qDim, nEmbd]),
      ffnNorm: await tensors.require(name('ffn_norm.weight'), [nEmbd]),
      gate: await tensors.require(name('ffn_gate.weight'), [nEmbd, nFf]),
      up: await tensors.require(name('ffn_up.weight'), [nEmbd, nFf]),
      down: await tensors.require(name('ffn_down.weight'), [nFf, nEmbd]),
    });
  }
  return { tokenEmbd, outputNorm, output, layers };
}

/** Llama 3.1-style RoPE scaling: one F32 divisor per rotated pair, read once on the host (it shapes the RoPE tables). */
async function readRopeFreqFactors(blob: Blob, checker: TensorChecker, hp: LlamaHparams): Promise<Float32Array | undefined> {
  const info = checker.info('rope_freqs.weight');
  if (!info) return undefined;
  if (info.type.id !== GgmlType.F32 || info.elements !== hp.ropeDims / 2) {
    throw new ModelError(`tensor rope_freqs.weight must hold ${hp.ropeDims / 2} F32 values, got ${info.elements} ${info.type.name}`);
  }
  const bytes = await readTensorBytes(blob, info);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
