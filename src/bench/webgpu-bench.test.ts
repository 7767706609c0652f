import { describe, expect, it } from 'vitest';
import { nodeGpu } from '../backend/webgpu/node-gpu';
import { dequantize } from '../quant/dequantize';
import { ggmlTypeByName, tensorBytes } from '../quant/types';
import { benchWebGpu, formatWebGpuReport, MATVEC_TYPES, patternWeights } from './webgpu-bench';

describe('patternWeights', () => {
  it('fills a tensor of any length with whole, decodable blocks of every benchmarked type', () => {
    for (const name of MATVEC_TYPES) {
      const type = ggmlTypeByName(name)!;
      const elements = 3 * 65536 + 5 * 256; // not a whole number of patterns
      const bytes = patternWeights(type, elements);
      expect(bytes.length, name).toBe(tensorBytes(type, elements));
      const values = dequantize(type, bytes, elements);
      // The pattern holds values in ±0.05: every decoded value is finite and near that range.
      expect(values.every((v) => Number.isFinite(v) && Math.abs(v) < 0.07), name).toBe(true);
      expect(values.some((v) => v !== 0), name).toBe(true);
    }
  });
});

describe('benchWebGpu on SwiftShader', () => {
  it('times products, attention and a whole model against the measured bandwidth', async () => {
    const report = await benchWebGpu(await nodeGpu('software'), {
      matvecTypes: ['Q4_0', 'F16'],
      matvecShapes: [{ label: 'small', rows: 70, cols: 96 }],
      attentionShapes: [{ nCtx: 20, nHeads: 4, nKvHeads: 2, headDim: 16 }],
      models: [{ name: 'tiny', shape: { nEmbd: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 96, nVocab: 300, nCtx: 64 }, type: 'Q8_0', promptTokens: 5, decodeTokens: 4 }],
      bandwidthBytes: 1 << 20,
      targetMs: 5,
      log: () => {},
    });
    expect(report.adapter.software).toBe(true);
    expect(report.readGBps).toBeGreaterThan(0);
    expect(report.matvec.map((r) => [r.type, r.weightBytes])).toEqual([
      ['Q4_0', 70 * 3 * 18],
      ['F16', 70 * 96 * 2],
    ]);
    for (const r of [...report.matvec, ...report.attention]) {
      expect(r.ms).toBeGreaterThan(0);
      expect(r.gbPerSecond).toBeCloseTo(r.roofline * report.readGBps, 6);
    }
    expect(report.attention[0]!.cacheBytes).toBe(2 * 20 * 2 * 16 * 4);
    const [model] = report.models;
    expect(model).toMatchObject({ name: 'tiny', type: 'Q8_0', promptTokens: 5, decodeTokens: 4 });
    expect(model!.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(model!.rooflineTokensPerSecond).toBeCloseTo((report.readGBps * 1e9) / model!.bytesPerToken, 6);
    const text = formatWebGpuReport(report);
    expect(text).toContain('software');
    expect(text).toMatch(/Q4_0 +small 70x96/);
    expect(text).toMatch(/tiny +Q8_0 +5 /);
  });
});
