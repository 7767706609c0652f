// Choosing the next token from logits. The chain follows llama.cpp's default
// order: repetition penalties → top-k → top-p → min-p → temperature → draw.
// Temperature ≤ 0 means greedy (argmax, lowest id on ties). One code path samples
// a set of candidate logits: the whole row, or just the candidates a step needs
// (so that a GPU can select them and read back only those).

import type { TopValues } from '../backend/backend';
import { EngineError } from './errors';

export interface SamplingOptions {
  /** ≤ 0: greedy. Default 0.8. */
  readonly temperature?: number;
  /** Keep the k most likely tokens; ≤ 0 keeps all. Default 40. */
  readonly topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 keeps all. Default 0.95. */
  readonly topP?: number;
  /** Drop tokens less likely than minP × the top probability; 0 keeps all. Default 0.05. */
  readonly minP?: number;
  /** Divides positive logits (multiplies negative ones) of recently seen tokens; 1 disables. Default 1. */
  readonly repeatPenalty?: number;
  /** How many recent tokens the penalty looks at. Default 64. */
  readonly repeatLastN?: number;
  /** Seed of the random draw; the same seed replays the same choices. Default 0. */
  readonly seed?: number;
}

/** A small, fast, seedable generator (mulberry32): uniform floats in [0, 1). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Raw logits of some tokens (ids[i] has logits[i]; ids distinct). Sampling a step needs the whole row, or the
 * tokens `Sampler.candidatesNeeded` names: ranking by (logit desc, id asc) and penalizing only recent tokens, the
 * top k after the penalty lie within the top k + (recent count) before it, together with the recent tokens.
 */
export interface CandidateLogits {
  readonly ids: ArrayLike<number>;
  readonly logits: ArrayLike<number>;
}

/** What a step must provide: the `top` largest logits (Infinity: every one) and the logits of `recent`. */
export interface CandidateRequest {
  readonly top: number;
  readonly recent: readonly number[];
}

/** The candidates of a top-k selection: its ids, then the extra ids it does not already hold. */
export function candidatesOf(top: TopValues, extraIds: readonly number[]): CandidateLogits {
  const ids = Array.from(top.ids);
  const logits = Array.from(top.values);
  const held = new Set(ids);
  extraIds.forEach((id, i) => {
    if (held.has(id)) return;
    held.add(id);
    ids.push(id);
    logits.push(top.extraValues[i]!);
  });
  return { ids, logits };
}

interface Candidate {
  id: number;
  logit: number;
  p: number;
}

export class Sampler {
  private readonly temperature: number;
  private readonly topK: number;
  private readonly topP: number;
  private readonly minP: number;
  private readonly repeatPenalty: number;
  private readonly repeatLastN: number;
  private readonly random: () => number;

  constructor(options: SamplingOptions = {}) {
    this.temperature = options.temperature ?? 0.8;
    this.topK = options.topK ?? 40;
    this.topP = options.topP ?? 0.95;
    this.minP = options.minP ?? 0.05;
    this.repeatPenalty = options.repeatPenalty ?? 1;
    this.repeatLastN = options.repeatLastN ?? 64;
    const check = (name: string, ok: boolean) => {
      if (!ok) throw new EngineError(`invalid sampling option ${name}`);
    };
    check('temperature', Number.isFinite(this.temperature));
    check('topK', Number.isInteger(this.topK));
    check('topP (0 < p ≤ 1)', this.topP > 0 && this.topP <= 1);
    check('minP (0 ≤ p < 1)', this.minP >= 0 && this.minP < 1);
    check('repeatPenalty (> 0)', this.repeatPenalty > 0);
    check('repeatLastN (≥ 0)', Number.isInteger(this.repeatLastN) && this.repeatLastN >= 0);
    this.random = createRng(options.seed ?? 0);
  }

  /** Picks a token from a whole row of logits; `history` is the sequence so far (prompt included), used by the repetition penalty. */
  sample(logits: Float32Array, history: readonly number[] = []): number {
    return this.sampleCandidates({ ids: Int32Array.from(logits.keys()), logits }, history);
  }

  /** The logits the next draw needs, given the sequence so far (see CandidateLogits). */
  candidatesNeeded(history: readonly number[]): CandidateRequest {
    const recent = this.recentTokens(history);
    if (this.temperature <= 0) return { top: 1 + recent.length, recent };
    return { top: this.topK > 0 ? this.topK + recent.length : Infinity, recent };
  }

  /** Picks a token from the candidates `candidatesNeeded(history)` asked for (or from the whole row). */
  sampleCandidates(logits: CandidateLogits, history: readonly number[]): number {
    const recent = new Set(this.recentTokens(history));
    let candidates: Candidate[] = Array.from(logits.ids, (id, i) => {
      const logit = logits.logits[i]!;
      return { id, logit: recent.has(id) ? this.penalize(logit) : logit, p: 0 };
    });
    // Larger logit first, lower id first on ties.
    const byRank = (a: Candidate, b: Candidate) => b.logit - a.logit || a.id - b.id;
    if (this.temperature <= 0) return candidates.reduce((best, c) => (byRank(c, best) < 0 ? c : best)).id;

    candidates.sort(byRank);
    if (this.topK > 0) candidates = candidates.slice(0, this.topK);
    softmax(candidates, 1);
    if (this.topP < 1) {
      let cumulative = 0;
      let keep = candidates.length;
      for (let i = 0; i < candidates.length; i++) {
        cumulative += candidates[i]!.p;
        if (cumulative >= this.topP) {
          keep = i + 1;
          break;
        }
      }
      candidates = candidates.slice(0, keep);
    }
    if (this.minP > 0) {
      const threshold = candidates[0]!.p * this.minP;
      candidates = candidates.filter((c, i) => i === 0 || c.p >= threshold);
    }
    softmax(candidates, this.temperature);
    let r = this.random();
    for (const c of candidates) {
      r -= c.p;
      if (r < 0) return c.id;
    }
    return candidates[candidates.length - 1]!.id;
  }

  /** The distinct tokens the repetition penalty applies to. */
  private recentTokens(history: readonly number[]): number[] {
    if (this.repeatPenalty === 1 || this.repeatLastN === 0 || history.length === 0) return [];
    return [...new Set(history.slice(-this.repeatLastN))];
  }

  /** A recent token's logit after the penalty, rounded to f32 like the logits. */
  private penalize(logit: number): number {
    return Math.fround(logit > 0 ? logit / this.repeatPenalty : logit * this.repeatPenalty);
  }
}

/** Sets p of each candidate to softmax(logit / temperature); candidates are sorted, largest first. */
function softmax(candidates: Candidate[], temperature: number): void {
  const max = candidates[0]!.logit / temperature;
  let sum = 0;
  for (const c of candidates) {
    c.p = Math.exp(c.logit / temperature - max);
    sum += c.p;
  }
  for (const c of candidates) c.p /= sum;
}
