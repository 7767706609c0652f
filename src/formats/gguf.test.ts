import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { metaArray, metaNumber, metaString, readGguf, readTensorBytes } from './gguf';
import { writeGguf } from './gguf-writer';
import { MemorySink } from './sink';
import { FormatError } from './errors';
import { allFixtureGgufs, fixtureBlob, fixtureBytes, fixturePath, tensorListing } from './test-files';

describe('readGguf on the fixtures', () => {
  it('reads stories260K exactly', async () => {
    const f = await readGguf(await fixtureBlob('models/stories260K.gguf'));
    expect(f.version).toBe(3);
    expect(f.kv).toHaveLength(19);
    expect(f.tensors).toHaveLength(48);
    expect(f.alignment).toBe(32);
    expect(metaString(f, 'general.architecture')).toBe('llama');
    expect(metaString(f, 'tokenizer.ggml.model')).toBe('llama');
    expect(metaNumber(f, 'llama.embedding_length')).toBe(64);
    expect(metaNumber(f, 'llama.feed_forward_length')).toBe(172);
    expect(metaNumber(f, 'llama.block_count')).toBe(5);
    expect(metaNumber(f, 'llama.attention.head_count')).toBe(8);
    expect(metaNumber(f, 'llama.attention.head_count_kv')).toBe(4);
    expect(metaNumber(f, 'llama.rope.dimension_count')).toBe(8);
    expect(metaNumber(f, 'llama.context_length')).toBe(2048);
    expect(metaNumber(f, 'llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
    const tokens = metaArray(f, 'tokenizer.ggml.tokens')!;
    expect(tokens.items).toHaveLength(512);
    expect(tokens.items[1]).toBe('<s>');
    expect(metaArray(f, 'tokenizer.ggml.scores')!.items).toBeInstanceOf(Float32Array);
    const [embd, outNorm, out, q] = f.tensors;
    expect(embd).toMatchObject({ name: 'token_embd.weight', shape: [64, 512], offset: 14176, bytes: 64 * 512 * 4 });
    expect(embd!.type.name).toBe('F32');
    expect(outNorm).toMatchObject({ name: 'output_norm.weight', shape: [64], offset: 145248 });
    expect(out).toMatchObject({ name: 'output.weight', shape: [64, 512], offset: 145504 });
    expect(q).toMatchObject({ name: 'blk.0.attn_q.weight', shape: [64, 64], offset: 276576 });
    expect(f.tensors.filter((t) => t.name.endsWith('ffn_down.weight')).every((t) => t.shape[0] === 172 && t.shape[1] === 64)).toBe(true);
  });

  it('reads the other models', async () => {
    const tiny = await readGguf(await fixtureBlob('models/llama-2-tiny-random.gguf'));
    expect([tiny.version, tiny.tensors.length, tiny.kv.length]).toEqual([3, 12, 18]);
    expect(metaArray(tiny, 'tokenizer.ggml.tokens')!.items).toHaveLength(32000);
    expect(new Set(tiny.tensors.map((t) => t.type.name))).toEqual(new Set(['F16', 'F32']));
    const rnd = await readGguf(await fixtureBlob('models/random-llama-256x4-f32.gguf'));
    expect([rnd.version, rnd.tensors.length, rnd.kv.length]).toEqual([3, 39, 18]);
    expect(metaNumber(rnd, 'llama.embedding_length')).toBe(256);
    expect(metaNumber(rnd, 'llama.feed_forward_length')).toBe(512);
  });

  it('matches the tensor listing of every quantized fixture', async () => {
    const listed = allFixtureGgufs().filter((p) => existsSync(fixturePath(p.replace(/\.gguf$/, '.tensors.json'))));
    expect(listed.length).toBeGreaterThanOrEqual(30);
    for (const path of listed) {
      const f = await readGguf(await fixtureBlob(path));
      const got = f.tensors.map((t) => ({ name: t.name, type: t.type.name, shape: t.shape }));
      expect(got, path).toEqual(tensorListing(path));
    }
  });

  it('reads tensor bytes on demand', async () => {
    const blob = await fixtureBlob('models/stories260K.gguf');
    const f = await readGguf(blob);
    const norm = new Float32Array((await readTensorBytes(blob, f.tensors[1]!)).slice().buffer);
    expect(norm).toHaveLength(64);
    expect(norm.every((x) => Number.isFinite(x) && x !== 0)).toBe(true);
  });
});

describe('writeGguf', () => {
  it('round-trips every fixture byte for byte', async () => {
    for (const path of allFixtureGgufs()) {
      const blob = await fixtureBlob(path);
      const f = await readGguf(blob);
      const sink = new MemorySink();
      await writeGguf(sink, {
        version: f.version as 3,
        kv: f.kv,
        tensors: f.tensors.map((t) => ({ ...t, data: () => readTensorBytes(blob, t) })),
      });
      const original = fixtureBytes(path);
      expect(sink.length, path).toBe(original.length);
      expect(Buffer.compare(sink.bytes(), original), path).toBe(0);
    }
  });

  it('rejects tensor data of the wrong size', async () => {
    const f = await readGguf(await fixtureBlob('models/stories260K.gguf'));
    const t = f.tensors[1]!;
    await expect(writeGguf(new MemorySink(), { kv: [], tensors: [{ ...t, data: () => new Uint8Array(3) }] })).rejects.toThrow(/expected 256/);
  });
});

describe('readGguf on bad input', () => {
  const good = fixtureBytes('models/stories260K.gguf');
  const parse = (bytes: Uint8Array<ArrayBuffer>) => readGguf(new Blob([bytes]));
  const patched = (at: number, write: (v: DataView) => void) => {
    const copy = good.slice();
    write(new DataView(copy.buffer, at));
    return copy;
  };
  const expectFormatError = async (bytes: Uint8Array<ArrayBuffer>, field: RegExp) => {
    const err = await parse(bytes).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).field).toMatch(field);
  };

  it('names the wrong magic', () => expectFormatError(patched(0, (v) => v.setUint32(0, 0x12345678, true)), /magic/));
  it('refuses big-endian files clearly', async () => {
    await expect(parse(patched(4, (v) => v.setUint32(0, 3, false)))).rejects.toThrow(/big-endian/);
  });
  it('refuses unknown versions', () => expectFormatError(patched(4, (v) => v.setUint32(0, 9, true)), /version/));
  it('reports a truncated header', () => expectFormatError(good.slice(0, 5000), /tokenizer\.ggml\.tokens/));
  it('reports absurd counts before allocating', async () => {
    await expectFormatError(patched(8, (v) => v.setBigUint64(0, 1n << 40n, true)), /tensor count/);
    await expectFormatError(patched(16, (v) => v.setBigUint64(0, 1n << 40n, true)), /metadata count/);
  });
  it('reports a string length past the end', async () => {
    // The first key's length field sits right after the 24-byte preamble.
    await expectFormatError(patched(24, (v) => v.setBigUint64(0, 1n << 50n, true)), /key length/);
  });
  it('reports tensor data past the end of the file', () => expectFormatError(good.slice(0, good.length - 100), /data/));
  it('reports unknown tensor types, misaligned and overlapping offsets', async () => {
    const f = await readGguf(new Blob([good]));
    // Tensor infos end right before the data section padding; find the first info's type field by searching its name.
    const name = new TextEncoder().encode('token_embd.weight');
    const at = indexOf(good, name) + name.length; // then u32 n_dims, 2 x u64 dims, u32 type, u64 offset
    const typeAt = at + 4 + 16;
    await expectFormatError(patched(typeAt, (v) => v.setUint32(0, 77, true)), /type/);
    await expectFormatError(patched(typeAt + 4, (v) => v.setBigUint64(0, 3n, true)), /offset/);
    const second = f.tensors[1]!;
    await expectFormatError(patched(typeAt + 4, (v) => v.setBigUint64(0, BigInt(second.relativeOffset), true)), /data/);
  });
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
