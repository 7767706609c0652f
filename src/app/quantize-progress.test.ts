import { describe, expect, it } from 'vitest';
import { progressFigures } from './quantize-progress';

const progress = { tensorsDone: 10, tensorsTotal: 40, bytesDone: 5_000_000, bytesTotal: 20_000_000, elapsedMs: 2_000, currentTensor: 'blk.1.ffn_up.weight' };

describe('progressFigures', () => {
  it('shows share done by bytes, throughput and time left', () => {
    expect(progressFigures(progress)).toEqual({ fraction: 0.25, tensors: '10 / 40 tensors', rate: '2.5 MB/s', timeLeft: '6 s left' });
    expect(progressFigures({ ...progress, bytesDone: 1_000_000, elapsedMs: 10_000 }).timeLeft).toBe('3 min 10 s left');
  });

  it('waits for enough data before estimating', () => {
    expect(progressFigures({ ...progress, elapsedMs: 50 })).toMatchObject({ rate: '— MB/s', timeLeft: 'estimating…' });
    expect(progressFigures({ ...progress, bytesDone: 0 })).toMatchObject({ fraction: 0, timeLeft: 'estimating…' });
  });

  it('ends at 100% with nothing left', () => {
    expect(progressFigures({ ...progress, tensorsDone: 40, bytesDone: 20_000_000 })).toMatchObject({ fraction: 1, timeLeft: '0 s left' });
  });
});
