import { describe, expect, it } from 'vitest';
import { loadFraction, loadProgressText, memoryText, msText, rateText, runFigures, stopReasonText } from './generate-stats';

describe('generate stats', () => {
  it('formats times and speeds', () => {
    expect(msText(3.456)).toBe('3.5 ms');
    expect(msText(38.4)).toBe('38 ms');
    expect(msText(1234)).toBe('1.23 s');
    expect(rateText(1234.5)).toBe('1235 tok/s');
    expect(rateText(56.78)).toBe('56.8 tok/s');
    expect(rateText(5.678)).toBe('5.68 tok/s');
    expect(rateText(0.8123)).toBe('0.812 tok/s');
  });

  it('lists a run’s figures', () => {
    const timing = { promptTokens: 54, generatedTokens: 64, timeToFirstTokenMs: 12.5, prefillTokensPerSecond: 4320, decodeTokensPerSecond: 812.4, totalMs: 90 };
    const model = { backend: 'WASM SIMD, 1 thread', weightsBytes: 1_171_200, kvCacheBytes: 655_360, nCtx: 2048, hasChatTemplate: false };
    expect(runFigures(timing, model, null).map((f) => [f.testId, f.value])).toEqual([
      ['stat-ttft', '13 ms'],
      ['stat-prefill', '4320 tok/s'],
      ['stat-decode', '812 tok/s'],
      ['stat-tokens', '54 prompt + 64 generated'],
      ['stat-memory', '1.12 MiB weights + 640 KiB KV cache'],
      ['stat-backend', 'WASM SIMD, 1 thread'],
    ]);
    expect(runFigures({ ...timing, generatedTokens: 1, decodeTokensPerSecond: null }, model, 99).slice(2).map((f) => f.value)).toEqual([
      '—', '54 prompt + 1 generated', '1.12 MiB weights + 640 KiB KV cache', 'WASM SIMD, 1 thread', '99',
    ]);
    expect(memoryText({ weightsBytes: 2 ** 30, kvCacheBytes: 2 ** 27 })).toBe('1 GiB weights + 128 MiB KV cache');
  });

  it('says why a run stopped', () => {
    expect(stopReasonText('eos')).toBe('the model ended the text');
    expect(stopReasonText('cancelled')).toBe('cancelled');
    expect(stopReasonText('context-full')).toBe('the context is full');
  });

  it('describes load progress', () => {
    const p = { tensorsLoaded: 12, tensorsTotal: 48, bytesLoaded: 300 * 1024, bytesTotal: 1_171_200 };
    expect(loadProgressText(p)).toBe('12 / 48 tensors · 300 KiB / 1.12 MiB');
    expect(loadFraction(p)).toBeCloseTo(0.2623, 3);
    expect(loadFraction({ ...p, bytesTotal: 0 })).toBe(0);
  });
});
