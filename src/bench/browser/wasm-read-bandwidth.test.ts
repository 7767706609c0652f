import { describe, expect, it } from 'vitest';
import { measureWasmReadBandwidth, readLoopModule } from './wasm-read-bandwidth';

describe('the WASM read loop', () => {
  it('is a valid module whose sum reads every vector of the range', async () => {
    const { instance } = await WebAssembly.instantiate(readLoopModule());
    const memory = instance.exports.memory as WebAssembly.Memory;
    const sum = instance.exports.sum as (ptr: number, end: number) => number;
    memory.grow(1);
    const words = new Int32Array(memory.buffer);
    words.forEach((_, i) => (words[i] = i));
    // Lane 0 of the total is the sum of every 4th word: 0 + 4 + 8 + … over the range read.
    const lane0 = (from: number, to: number) => Array.from({ length: (to - from) / 16 }, (_, v) => from / 4 + 4 * v).reduce((a, b) => a + b, 0);
    expect(sum(0, 65536)).toBe(lane0(0, 65536) | 0);
    expect(sum(128, 192)).toBe(lane0(128, 192));
  });

  it('measures a positive bandwidth', async () => {
    expect(await measureWasmReadBandwidth(1 << 20, 1)).toBeGreaterThan(0);
  });
});
