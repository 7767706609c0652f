// Property tests: mutated model files either parse or throw FormatError —
// never another exception, never a read larger than the file, always promptly.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readGguf } from './gguf';
import { readSafetensors, writeSafetensors } from './safetensors';
import { FormatError } from './errors';
import { MemorySink } from './sink';
import { writeGguf } from './gguf-writer';
import { fixtureBytes } from './test-files';

/** A Blob that records the largest slice anyone read from it. */
class WatchedBlob extends Blob {
  largestRead = 0;
  override slice(start?: number, end?: number, type?: string): Blob {
    const s = Math.max(0, start ?? 0);
    const e = Math.min(this.size, end ?? this.size);
    this.largestRead = Math.max(this.largestRead, e - s);
    return super.slice(start, end, type);
  }
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'huge'; at: number; value: bigint };

function mutation(headerEnd: number): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: headerEnd - 1 });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('huge' as const), at, value: fc.constantFrom(0n, 1n << 31n, 1n << 32n, (1n << 62n) - 1n, (1n << 64n) - 1n) }),
  );
}

function apply(bytes: Uint8Array<ArrayBuffer>, m: Mutation): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  switch (m.kind) {
    case 'flip':
      out[m.at]! ^= 1 << m.bit;
      return out;
    case 'truncate':
      return out.subarray(0, m.at);
    case 'insert':
      return new Uint8Array([...bytes.subarray(0, m.at), ...m.bytes, ...bytes.subarray(m.at)]);
    case 'huge':
      if (m.at + 8 <= out.length) new DataView(out.buffer).setBigUint64(m.at, m.value, true);
      return out;
  }
}

async function parsesOrFormatError(read: (b: Blob) => Promise<unknown>, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  const blob = new WatchedBlob([bytes]);
  const started = performance.now();
  try {
    await read(blob);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
  }
  expect(blob.largestRead).toBeLessThanOrEqual(bytes.length);
  expect(performance.now() - started).toBeLessThan(2000);
}

describe('fuzzing the readers', () => {
  it('GGUF: mutated headers parse or throw FormatError', async () => {
    // stories260K's real metadata (vocabulary included) with two small tensors keeps each run fast.
    const real = await readGguf(new Blob([fixtureBytes('models/stories260K.gguf')]));
    const sink = new MemorySink();
    await writeGguf(sink, { kv: real.kv, tensors: real.tensors.slice(1, 3).map((t) => ({ ...t, shape: [64], data: () => new Uint8Array(256) })) });
    const original = sink.bytes();
    const headerEnd = original.length - 512;
    await fc.assert(fc.asyncProperty(fc.array(mutation(headerEnd), { minLength: 1, maxLength: 3 }), async (ms) => {
      await parsesOrFormatError(readGguf, ms.reduce(apply, original));
    }), { numRuns: 400 });
  });

  it('GGUF: random bytes after a valid magic parse or throw FormatError', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (tail) => {
      const bytes = new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, ...tail]);
      await parsesOrFormatError(readGguf, bytes);
    }), { numRuns: 300 });
  });

  it('safetensors: mutated files parse or throw FormatError', async () => {
    const sink = new MemorySink();
    await writeSafetensors(sink, [
      { name: 'a.weight', dtype: 'F32', shape: [4, 8], data: new Uint8Array(128) },
      { name: 'b.weight', dtype: 'BF16', shape: [16], data: new Uint8Array(32) },
    ], { format: 'pt' });
    const original = sink.bytes();
    await fc.assert(fc.asyncProperty(fc.array(mutation(original.length), { minLength: 1, maxLength: 3 }), async (ms) => {
      await parsesOrFormatError(readSafetensors, ms.reduce(apply, original));
    }), { numRuns: 400 });
  });
});
