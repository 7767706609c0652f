import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topValuesOf } from '../backend/backend';
import { EngineError } from './errors';
import { candidatesOf, createRng, Sampler } from './sampling';

const logits = new Float32Array([1, 3, 2.5, -1, 0]);

/** Frequencies of each token over many draws. */
function histogram(sampler: Sampler, draws: number, history: number[] = []): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.sample(logits, history)]!++;
  return counts.map((c) => c / draws);
}

describe('Sampler', () => {
  it('is greedy at temperature 0, lowest id on ties', () => {
    expect(new Sampler({ temperature: 0 }).sample(logits)).toBe(1);
  });

  it('replays the same choices for the same seed', () => {
    const draw = (seed: number) => {
      const s = new Sampler({ temperature: 1, topK: 0, topP: 1, minP: 0, seed });
      return Array.from({ length: 20 }, () => s.sample(logits));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('draws in proportion to softmax(logits / temperature)', () => {
    const temperature = 1.5;
    const freq = histogram(new Sampler({ temperature, topK: 0, topP: 1, minP: 0, seed: 1 }), 20000);
    const weights = Array.from(logits, (l) => Math.exp(l / temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => expect(freq[i]).toBeCloseTo(w / total, 1));
  });

  it('top-k, top-p and min-p restrict the candidates', () => {
    const topK = histogram(new Sampler({ temperature: 1, topK: 2, topP: 1, minP: 0, seed: 2 }), 2000);
    expect(topK[0]! + topK[3]! + topK[4]!).toBe(0);
    // p(1) ≈ 0.53, p(2) ≈ 0.32: top-p 0.5 keeps only token 1.
    expect(histogram(new Sampler({ temperature: 1, topK: 0, topP: 0.5, minP: 0, seed: 3 }), 500)[1]).toBe(1);
    // min-p 0.5 keeps tokens at least half as likely as token 1: tokens 1 and 2.
    const minP = histogram(new Sampler({ temperature: 1, topK: 0, topP: 1, minP: 0.5, seed: 4 }), 2000);
    expect(minP[1]! + minP[2]!).toBe(1);
  });

  it('repetition penalty demotes recent tokens', () => {
    const sampler = new Sampler({ temperature: 0, repeatPenalty: 2 });
    expect(sampler.sample(logits, [1])).toBe(2); // 3 / 2 = 1.5 < 2.5
    expect(sampler.sample(logits, [1, 2])).toBe(1); // 1.5 beats 1.25 and 1
    expect(new Sampler({ temperature: 0, repeatPenalty: 2, repeatLastN: 1 }).sample(logits, [1, 0])).toBe(1);
  });

  it('rounds penalized logits to f32, like the logits: 5 / 1.1 ties with its f32 value, lowest id first', () => {
    expect(new Sampler({ temperature: 0, repeatPenalty: 1.1 }).sample(Float32Array.from([5 / 1.1, 5]), [1])).toBe(0);
  });

  it('rejects invalid options', () => {
    expect(() => new Sampler({ topP: 0 })).toThrow(EngineError);
    expect(() => new Sampler({ minP: 1 })).toThrow(EngineError);
    expect(() => new Sampler({ repeatPenalty: 0 })).toThrow(EngineError);
  });

  it('createRng yields uniform floats in [0, 1)', () => {
    const rng = createRng(7);
    const values = Array.from({ length: 10000 }, rng);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((a, b) => a + b, 0) / values.length).toBeCloseTo(0.5, 1);
  });
});

describe('Sampler on candidates', () => {
  /** Logits on a coarse grid, so that ties are common. */
  const row = fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 1, maxLength: 300 }).map((steps) => Float32Array.from(steps, (s) => s / 8));
  const options = fc.record({
    temperature: fc.oneof(fc.constant(0), fc.constant(-1), fc.double({ min: 0.1, max: 2, noNaN: true })),
    topK: fc.integer({ min: 1, max: 50 }),
    topP: fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 1, noNaN: true })),
    minP: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true })),
    repeatPenalty: fc.oneof(fc.constant(1), fc.double({ min: 0.5, max: 2, noNaN: true })),
    repeatLastN: fc.integer({ min: 0, max: 16 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 }),
  });

  it('draws the same tokens from the candidates it asks for as from the whole row', () => {
    fc.assert(
      fc.property(row, options, fc.array(fc.nat(), { maxLength: 24 }), (logits, opts, picks) => {
        const full = new Sampler(opts);
        const fromCandidates = new Sampler(opts);
        const history = picks.map((p) => p % logits.length);
        // Consecutive draws of one sampler each: the same random stream must stay in step.
        for (let draw = 0; draw < 4; draw++) {
          const { top, recent } = fromCandidates.candidatesNeeded(history);
          const candidates = candidatesOf(topValuesOf(logits, top, recent), recent);
          const token = fromCandidates.sampleCandidates(candidates, history);
          expect(token).toBe(full.sample(logits, history));
          history.push(token);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('asks for top-k plus the recent tokens, or everything when top-k keeps all', () => {
    const history = [5, 3, 5, 9];
    expect(new Sampler({ topK: 10, repeatPenalty: 1.1 }).candidatesNeeded(history)).toEqual({ top: 13, recent: [5, 3, 9] });
    expect(new Sampler({ topK: 10, repeatPenalty: 1.1, repeatLastN: 2 }).candidatesNeeded(history)).toEqual({ top: 12, recent: [5, 9] });
    expect(new Sampler({ temperature: 0, topK: 0, repeatPenalty: 1.1 }).candidatesNeeded(history)).toEqual({ top: 4, recent: [5, 3, 9] });
    expect(new Sampler({ topK: 10 }).candidatesNeeded(history)).toEqual({ top: 10, recent: [] });
    expect(new Sampler({ topK: 0 }).candidatesNeeded(history).top).toBe(Infinity);
  });

  it('candidatesOf adds the extra ids the selection lacks, once each', () => {
    const top = topValuesOf(Float32Array.from([1, 5, 2, 4]), 2, [3, 0, 0]);
    expect(candidatesOf(top, [3, 0, 0])).toEqual({ ids: [1, 3, 0], logits: [5, 4, 1] });
  });
});
