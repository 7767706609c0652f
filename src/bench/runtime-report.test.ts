import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../formats/gguf';
import { tokenizerFromGguf } from '../tokenizer';
import {
  benchPrompt,
  formatAdapter,
  formatRuntimeReport,
  formatRuntimeTable,
  formatSpeed,
  formatWebGpuRow,
  rooflinePercent,
  rooflineTokensPerSecond,
  weightBytesPerToken,
  type RuntimeBenchResult,
  type WebGpuBenchResult,
} from './runtime-report';

describe('weightBytesPerToken', () => {
  const matrix = (name: string, cols: number, rows: number, bytesPerValue = 1) => ({ name, shape: [cols, rows], bytes: cols * rows * bytesPerValue });

  it('counts every tensor once but only one row of the token embedding table', () => {
    const tensors = [matrix('token_embd.weight', 64, 1000), matrix('blk.0.attn_q.weight', 64, 64), { name: 'output_norm.weight', shape: [64], bytes: 256 }, matrix('output.weight', 64, 1000)];
    expect(weightBytesPerToken(tensors)).toBe(64 + 64 * 64 + 256 + 64 * 1000);
  });

  it('reads the whole embedding table when it doubles as the output matrix', () => {
    const tensors = [matrix('token_embd.weight', 64, 1000), matrix('blk.0.attn_q.weight', 64, 64)];
    expect(weightBytesPerToken(tensors)).toBe(64 * 1000 + 64 * 64);
  });

  it('matches the header of stories260K (F32, untied output): all but 511 of 512 embedding rows', async () => {
    const gguf = await readGguf(await openAsBlob('../shared/fixtures/models/stories260K.gguf'));
    const total = gguf.tensors.reduce((sum, t) => sum + t.bytes, 0);
    expect(weightBytesPerToken(gguf.tensors)).toBe(total - 511 * 64 * 4);
  });
});

describe('roofline arithmetic', () => {
  it('is bandwidth ÷ bytes per token, and speed as a share of it', () => {
    expect(rooflineTokensPerSecond(25e6, 10e9)).toBe(400);
    expect(rooflinePercent(100, 25e6, 10e9)).toBeCloseTo(25, 12);
    expect(rooflinePercent(400, 25e6, 10e9)).toBeCloseTo(100, 12);
  });
});

describe('benchPrompt', () => {
  it('gives the story, repeated and cut to the asked length, as text that encodes to its tokens', async () => {
    const tokenizer = tokenizerFromGguf(await readGguf(await openAsBlob('../shared/fixtures/tokenizer/ggml-vocab-llama-spm.gguf')));
    const story = await readFile('../shared/fixtures/golden/story.txt', 'utf8');
    const { text, tokens } = benchPrompt(tokenizer, story, 512);
    expect(tokens).toHaveLength(512);
    expect(tokens[0]).toBe(tokenizer.bos);
    expect(tokenizer.encode(text)).toEqual(tokens);
    expect(text.startsWith(story)).toBe(true);
    expect(text.length).toBeGreaterThan(story.length); // the story alone is shorter than 512 tokens: it repeats
  });

  it('rejects a length below 2 and a source without tokens', async () => {
    const tokenizer = tokenizerFromGguf(await readGguf(await openAsBlob('../shared/fixtures/models/stories260K.gguf')));
    expect(() => benchPrompt(tokenizer, 'Once upon a time', 1)).toThrow(RangeError);
    expect(() => benchPrompt(tokenizer, '', 16)).toThrow(/no tokens/);
  });
});

const speed = (prefill: number, decode: number) => ({ prefillTokensPerSecond: prefill, decodeTokensPerSecond: decode, threadsUsed: 1, promptTokens: 512, build: 'test build' });
const result: RuntimeBenchResult = {
  backend: 'wasm',
  model: 'llama-60M',
  type: 'Q4_0',
  threads: 1,
  promptTokens: 512,
  decodeTokens: 128,
  repeats: 2,
  fileBytes: 37_648_608,
  weightBytesPerToken: 27.7e6,
  memoryReadBytesPerSecond: 15.5e9,
  rooflineDecodeTokensPerSecond: 15.5e9 / 27.7e6,
  ours: speed(268, 120),
  wllama: speed(150, 39),
  native: null,
  decodeRooflinePercent: { ours: 21.44, wllama: 6.97, native: null },
  notes: ['native column skipped: node-llama-cpp not found'],
};

describe('formatRuntimeTable', () => {
  it('shows one row per result with ratios against the peers, dashes where an engine did not run, then the notes', () => {
    const lines = formatRuntimeTable([result, { ...result, threads: 2 }]).split('\n');
    expect(lines).toHaveLength(4); // header, two rows, one note (repeated notes are shown once)
    expect(lines[0]).toMatch(/^model\s+type\s+thr\s+ours pp\s+ours tg\s+wllama pp/);
    const cells = lines[1]!.trim().split(/\s+/);
    expect(cells).toEqual(['llama-60M', 'Q4_0', '1', '268', '120', '150', '39.0', '-', '-', '3.08×', '-', '-', '27.7', '560', '21.4%', '7.0%', '-']);
    expect(lines[3]).toBe('note: native column skipped: node-llama-cpp not found');
  });

  it('heads the table with what was measured and the bandwidth of each thread count', () => {
    const report = formatRuntimeReport([result, { ...result, threads: 2, memoryReadBytesPerSecond: 25e9 }]).split('\n');
    expect(report[0]).toBe('prompt 512 tokens (pp), then 128 greedy decode steps (tg); tokens per second, best of 2');
    expect(report[1]).toBe('memory read bandwidth in the page (WASM SIMD loop): 1T 15.50 GB/s, 2T 25.00 GB/s');
    expect(report).toContain('builds: ours test build; wllama test build; native -');
    expect(formatRuntimeReport([])).toBe('no runtime results');
  });

  it('formats speeds whole from 100 up, with one decimal from 10 and two below', () => {
    expect([formatSpeed(4402.4), formatSpeed(39.04), formatSpeed(3.456), formatSpeed(null), formatSpeed(Number.NaN)]).toEqual(['4402', '39.0', '3.46', '-', '-']);
  });
});

describe('the WebGPU rows', () => {
  const swiftShader = { vendor: 'google', architecture: 'swiftshader', description: '', software: true, backend: 'WebGPU (google swiftshader, software; per-row matvec)' };
  const webgpu: WebGpuBenchResult = {
    backend: 'webgpu',
    model: 'llama-60M',
    type: 'Q4_0',
    promptTokens: 128,
    decodeTokens: 16,
    repeats: 1,
    fileBytes: result.fileBytes,
    weightBytesPerToken: result.weightBytesPerToken,
    adapter: swiftShader,
    unavailableReason: null,
    ours: { prefillTokensPerSecond: 53.6, decodeTokensPerSecond: 6, promptTokens: 128, build: swiftShader.backend },
    notes: [],
  };
  const twoThreads = { ...result, threads: 2, ours: speed(500, 100) };

  it('names the adapter by vendor and architecture, its description where it has one, and says when it is software', () => {
    expect(formatAdapter(swiftShader)).toBe('google swiftshader, software (WebGPU on the CPU)');
    expect(formatAdapter({ ...swiftShader, vendor: 'nvidia', architecture: 'ampere', description: 'RTX 3060', software: false })).toBe('nvidia ampere, RTX 3060');
  });

  it('shows one row per model beside our fastest WASM prefill and decode of the same model, over the thread counts', () => {
    const cells = formatWebGpuRow(webgpu, [result, twoThreads]).trim().split(/\s+/);
    expect(cells).toEqual(['webgpu', 'llama-60M', 'Q4_0', '53.6', '6.00', '500', '120', '0.11×', '0.050×', '27.7']);
    // Far slower than WASM still shows two significant digits.
    expect(formatWebGpuRow({ ...webgpu, ours: { ...webgpu.ours!, decodeTokensPerSecond: 0.36 } }, [result]).trim().split(/\s+/)[8]).toBe('0.0030×');
    // No WASM row of that model: dashes.
    expect(formatWebGpuRow({ ...webgpu, type: 'Q8_0' }, [result]).trim().split(/\s+/).slice(5, 9)).toEqual(['-', '-', '-', '-']);
  });

  it('follows the WASM table in the report, saying how it ran, on which adapter, and that a software run is shortened', () => {
    const report = formatRuntimeReport([result, twoThreads, webgpu, { ...webgpu, type: 'Q8_0', ours: null, notes: ['llama-60M Q8_0 webgpu failed: device lost'] }]).split('\n');
    const start = report.findIndex((line) => line.startsWith('webgpu: '));
    expect(start).toBeGreaterThan(report.indexOf('note: native column skipped: node-llama-cpp not found'));
    expect(report[start + 1]).toBe('adapter: google swiftshader, software (WebGPU on the CPU); backend: WebGPU (google swiftshader, software; per-row matvec)');
    expect(report[start + 2]).toBe('prompt 128 tokens (pp), then 16 greedy decode steps (tg); best of 1, shortened because the adapter is software');
    const table = report.slice(report.indexOf('', start) + 1);
    expect(table[0]).toMatch(/^backend\s+model\s+type\s+pp\s+tg\s+wasm pp\s+wasm tg\s+pp\/wasm\s+tg\/wasm\s+MB\/tok$/);
    expect(table.slice(1, 3).map((line) => line.split(/\s+/).slice(0, 5))).toEqual([['webgpu', 'llama-60M', 'Q4_0', '53.6', '6.00'], ['webgpu', 'llama-60M', 'Q8_0', '-', '-']]);
    expect(table[3]).toBe('note: llama-60M Q8_0 webgpu failed: device lost');
    expect(table).toHaveLength(4);
  });

  it('says "webgpu: not available (reason)" where the page has no WebGPU', () => {
    const reason = 'WebGPU is not available in this browser (no adapter)';
    const unavailable: WebGpuBenchResult = { ...webgpu, adapter: null, unavailableReason: reason, ours: null };
    const report = formatRuntimeReport([result, unavailable, { ...unavailable, type: 'Q8_0' }]).split('\n');
    expect(report.at(-1)).toBe(`webgpu: not available (${reason})`);
    expect(report.filter((line) => line.startsWith('webgpu'))).toHaveLength(1);
  });
});
