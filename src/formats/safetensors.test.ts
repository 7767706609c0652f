import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from './safetensors';
import { MemorySink } from './sink';
import { FormatError } from './errors';

/** A small model in the layout the reference (Rust/Python) writer produces. */
async function sampleFile(metadata?: Record<string, string>) {
  const sink = new MemorySink();
  const a = new Float32Array([1, -2, 3.5, 4, 5, 6]);
  const b = new Uint16Array([0x3c00, 0xc000]);
  await writeSafetensors(sink, [
    { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [2, 3], data: new Uint8Array(a.buffer) },
    { name: 'model.norm.weight', dtype: 'F16', shape: [2], data: () => new Uint8Array(b.buffer) },
  ], metadata);
  return sink.bytes();
}

function fileWithHeader(header: string, dataBytes: number): Uint8Array<ArrayBuffer> {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  it('writes the reference layout and reads it back', async () => {
    const bytes = await sampleFile({ format: 'pt' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(json.trimEnd()).toBe('{"__metadata__":{"format":"pt"},"model.embed_tokens.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"model.norm.weight":{"dtype":"F16","shape":[2],"data_offsets":[24,28]}}');
    const f = await readSafetensors(new Blob([bytes]));
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(f.tensors.map((t) => [t.name, t.dtype, t.shape, t.bytes])).toEqual([
      ['model.embed_tokens.weight', 'F32', [2, 3], 24],
      ['model.norm.weight', 'F16', [2], 4],
    ]);
    const embed = new Float32Array(bytes.slice(f.tensors[0]!.offset, f.tensors[0]!.offset + 24).buffer);
    expect(Array.from(embed)).toEqual([1, -2, 3.5, 4, 5, 6]);
  });

  it('round-trips byte for byte', async () => {
    const bytes = await sampleFile({ format: 'pt' });
    const blob = new Blob([bytes]);
    const f = await readSafetensors(blob);
    const sink = new MemorySink();
    await writeSafetensors(sink, await Promise.all(f.tensors.map(async (t) => ({ ...t, data: new Uint8Array(await blob.slice(t.offset, t.offset + t.bytes).arrayBuffer()) }))), f.metadata);
    expect(Buffer.compare(sink.bytes(), bytes)).toBe(0);
  });

  const bad: [string, Uint8Array<ArrayBuffer>, RegExp][] = [
    ['too short', new Uint8Array(4), /header length/],
    ['header over 100 MB', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 200_000_000n, true); return b; })(), /100 MB/],
    ['header past the end', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 100n, true); return b; })(), /past the end/],
    ['invalid JSON', fileWithHeader('{"a":', 0), /valid JSON/],
    ['not an object', fileWithHeader('[1,2]', 0), /object/],
    ['unknown dtype', fileWithHeader('{"t":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}', 1), /dtype/],
    ['bad shape', fileWithHeader('{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), /shape/],
    ['size mismatch', fileWithHeader('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4), /needs 8/],
    ['gap', fileWithHeader('{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /gap/],
    ['overlap', fileWithHeader('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /overlaps/],
    ['data past the end', fileWithHeader('{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', 8), /data section/],
    ['trailing bytes', fileWithHeader('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 8), /not covered/],
    ['non-string metadata', fileWithHeader('{"__metadata__":{"a":1}}', 0), /metadata/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects a file with ${what}`, async () => {
      const err = await readSafetensors(new Blob([bytes])).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(FormatError);
      expect((err as Error).message).toMatch(message);
    });
  }
});
