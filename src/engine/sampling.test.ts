import { describe, expect, it } from 'vitest';
import { EngineError } from './errors';
import { argmax, createRng, Sampler } from './sampling';

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
    expect(argmax([2, 5, 5, 1])).toBe(1);
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
