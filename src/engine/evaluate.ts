// Scoring token sequences: log-probabilities of each next token, and perplexity
// computed exactly as llama-perplexity does it.

import { softmaxNormalizer, type SoftmaxNormalizer } from '../backend/backend';
import type { CausalLM } from '../model/model';
import { EngineError } from './errors';

/** log softmax(logits)[target], with the sum in double precision as llama-perplexity does. */
export function logProbOf(logits: Float32Array, target: number, offset = 0, nVocab = logits.length - offset): number {
  return logProbWith(logits[offset + target]!, softmaxNormalizer(logits, offset, nVocab));
}

/** log p of the token whose logit is `logit`, under the softmax of a row with this normalizer. */
export function logProbWith(logit: number, { max, sumExp }: SoftmaxNormalizer): number {
  return logit - max - Math.log(sumExp);
}

/**
 * logProbs[i] = log p(tokens[i + 1] | tokens[0..i]) for a sequence that fits one context
 * (tokens.length − 1 values).
 */
export async function tokenLogProbs(model: CausalLM, tokens: ArrayLike<number>): Promise<Float64Array> {
  if (tokens.length < 2) throw new EngineError('scoring needs at least two tokens');
  const cache = model.createCache(tokens.length);
  const logits = await model.forward(tokens, 0, cache, 'all');
  const nVocab = model.hparams.nVocab;
  const out = new Float64Array(tokens.length - 1);
  for (let i = 0; i + 1 < tokens.length; i++) out[i] = logProbOf(logits, tokens[i + 1]!, i * nVocab, nVocab);
  return out;
}

export interface PerplexityOptions {
  /** Context per chunk (llama-perplexity -c). */
  readonly nCtx: number;
  /** Token placed at the start of every chunk (llama-perplexity replaces the first token with BOS); none when undefined. */
  readonly bosToken?: number | undefined;
  /** Called with the logits of every scored position, in scoring order. */
  readonly onScoredLogits?: (logits: Float32Array, position: number, chunk: number) => void;
  /** Called after each chunk with the running perplexity estimate. */
  readonly onChunk?: (chunk: number, chunks: number, perplexity: number) => void;
}

export interface PerplexityResult {
  readonly perplexity: number;
  /** Mean negative log-likelihood of the scored tokens. */
  readonly nll: number;
  readonly scored: number;
  readonly chunks: number;
}

/**
 * llama-perplexity's method: the text is cut into ⌊n / nCtx⌋ chunks of nCtx tokens; each
 * chunk starts from an empty cache with its first token replaced by BOS, and only the
 * second half is scored (positions nCtx/2 … nCtx−2 predicting the token after each).
 */
export async function perplexity(model: CausalLM, tokens: ArrayLike<number>, options: PerplexityOptions): Promise<PerplexityResult> {
  const { nCtx, bosToken } = options;
  if (!Number.isInteger(nCtx) || nCtx < 4) throw new EngineError(`perplexity context must be an integer of at least 4, got ${nCtx}`);
  const chunks = Math.floor(tokens.length / nCtx);
  if (chunks === 0) throw new EngineError(`perplexity needs at least ${nCtx} tokens, got ${tokens.length}`);
  const nVocab = model.hparams.nVocab;
  const firstScored = nCtx >> 1;
  const cache = model.createCache(nCtx);
  let nll = 0;
  let scored = 0;
  for (let c = 0; c < chunks; c++) {
    const chunk = Array.prototype.slice.call(tokens, c * nCtx, (c + 1) * nCtx) as number[];
    if (bosToken !== undefined) chunk[0] = bosToken;
    const logits = await model.forward(chunk, 0, cache, 'all');
    for (let pos = firstScored; pos < nCtx - 1; pos++) {
      if (options.onScoredLogits) options.onScoredLogits(logits.subarray(pos * nVocab, (pos + 1) * nVocab), pos, c);
      nll -= logProbOf(logits, chunk[pos + 1]!, pos * nVocab, nVocab);
      scored++;
    }
    options.onChunk?.(c, chunks, Math.exp(nll / scored));
  }
  return { perplexity: Math.exp(nll / scored), nll: nll / scored, scored, chunks };
}
