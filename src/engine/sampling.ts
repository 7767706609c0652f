// Choosing the next token from logits. The chain follows llama.cpp's default
// order: repetition penalties → top-k → top-p → min-p → temperature → draw.
// Temperature ≤ 0 means greedy (argmax, lowest id on ties).

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

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
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

  /** Picks a token; `history` is the sequence so far (prompt included), used by the repetition penalty. */
  sample(logits: Float32Array, history: readonly number[] = []): number {
    const penalized = this.applyRepeatPenalty(logits, history);
    if (this.temperature <= 0) return argmax(penalized);

    let candidates: Candidate[] = Array.from(penalized, (logit, id) => ({ id, logit, p: 0 }));
    candidates.sort((a, b) => b.logit - a.logit || a.id - b.id);
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

  private applyRepeatPenalty(logits: Float32Array, history: readonly number[]): Float32Array {
    if (this.repeatPenalty === 1 || this.repeatLastN === 0 || history.length === 0) return logits;
    const out = logits.slice();
    const recent = new Set(history.slice(-this.repeatLastN));
    for (const id of recent) {
      if (id < 0 || id >= out.length) continue;
      const v = out[id]!;
      out[id] = v > 0 ? v / this.repeatPenalty : v * this.repeatPenalty;
    }
    return out;
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
