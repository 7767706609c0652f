// The generation loop: evaluate the prompt in batches, then sample and feed
// back one token at a time until a stop token, the token budget or the end of
// the context.

import { forwardTop, type CausalLM } from '../model/model';
import { EngineError } from './errors';
import { logProbWith } from './evaluate';
import { KvCache } from './kv-cache';
import { candidatesOf, Sampler, type SamplingOptions } from './sampling';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. */
  readonly maxTokens: number;
  /** Stop after any of these (default: the model's EOS token). The stop token is yielded. */
  readonly stopTokens?: readonly number[];
  /** Context length of the cache (default: prompt + maxTokens, at most the training context). */
  readonly nCtx?: number;
  /** A cache to reuse (it is cleared first); otherwise one of nCtx positions is made. */
  readonly cache?: KvCache;
}

export interface GeneratedToken {
  readonly token: number;
  /** log p(token) under the model's raw distribution (before penalties and temperature). */
  readonly logProb: number;
  /** Position of the token in the sequence. */
  readonly position: number;
}

export interface GenerationStats {
  readonly promptTokens: number;
  readonly generatedTokens: number;
  readonly promptMs: number;
  readonly generateMs: number;
}

/**
 * Yields generated tokens one by one. The returned value (when the generator finishes)
 * has timing statistics.
 */
export async function* generate(model: CausalLM, prompt: readonly number[], options: GenerateOptions): AsyncGenerator<GeneratedToken, GenerationStats> {
  if (prompt.length === 0) throw new EngineError('the prompt must contain at least one token');
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 0) throw new EngineError(`maxTokens must be a non-negative integer, got ${options.maxTokens}`);
  const nCtx = options.cache?.nCtx ?? options.nCtx ?? Math.min(prompt.length + Math.max(1, options.maxTokens), Math.max(model.hparams.nCtxTrain, prompt.length + 1));
  if (prompt.length >= nCtx) throw new EngineError(`the prompt (${prompt.length} tokens) does not fit a context of ${nCtx}`);
  const eos = model.hparams.eosToken;
  const stop = new Set(options.stopTokens ?? (eos === undefined ? [] : [eos]));
  const sampler = new Sampler(options);
  const cache = options.cache ?? new KvCache(model, nCtx);
  cache.clear();
  const history = [...prompt];
  // Evaluates tokens and brings back only the logits the next draw needs (see Sampler.candidatesNeeded).
  const evaluate = async (tokens: readonly number[]) => {
    const { top, recent } = sampler.candidatesNeeded(history);
    const found = await forwardTop(model, tokens, cache.length, cache.storage, top, recent);
    cache.advance(tokens.length);
    return { candidates: candidatesOf(found, recent), normalizer: found };
  };

  const start = performance.now();
  let step = await evaluate(prompt);
  const promptMs = performance.now() - start;

  let generated = 0;
  while (generated < options.maxTokens) {
    const { candidates, normalizer } = step;
    const token = sampler.sampleCandidates(candidates, history);
    const logit = candidates.logits[Array.prototype.indexOf.call(candidates.ids, token)]!;
    history.push(token);
    generated++;
    yield { token, logProb: logProbWith(logit, normalizer), position: cache.length };
    if (stop.has(token) || cache.free === 0 || generated === options.maxTokens) break;
    step = await evaluate([token]);
  }
  return { promptTokens: prompt.length, generatedTokens: generated, promptMs, generateMs: performance.now() - start - promptMs };
}

/** Runs `generate` to the end: every token, and the statistics. */
export async function generateAll(model: CausalLM, prompt: readonly number[], options: GenerateOptions): Promise<{ tokens: GeneratedToken[]; stats: GenerationStats }> {
  const run = generate(model, prompt, options);
  const tokens: GeneratedToken[] = [];
  for (let step = await run.next(); ; step = await run.next()) {
    if (step.done) return { tokens, stats: step.value };
    tokens.push(step.value);
  }
}
