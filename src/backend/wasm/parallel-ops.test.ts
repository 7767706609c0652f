import { describe, expect, it } from 'vitest';
import { shareOf } from './parallel-ops';

describe('shareOf', () => {
  it('splits items into consecutive shares that cover them all', () => {
    expect([0, 1, 2].map((i) => shareOf(10, i, 3))).toEqual([[0, 3], [3, 6], [6, 10]]);
  });

  it('starts every share on a multiple of the alignment, the last one ending at the total', () => {
    expect([0, 1].map((i) => shareOf(36, i, 2, 4))).toEqual([[0, 16], [16, 36]]);
    expect([0, 1, 2].map((i) => shareOf(40, i, 3, 4))).toEqual([[0, 12], [12, 24], [24, 40]]);
    // Fewer items than threads × alignment: empty shares, none lost.
    expect([0, 1, 2].map((i) => shareOf(5, i, 3, 4))).toEqual([[0, 0], [0, 0], [0, 5]]);
  });
});
