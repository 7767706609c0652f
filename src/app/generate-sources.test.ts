import { describe, expect, it } from 'vitest';
import type { ModelView } from '../formats/model';
import { ggufSources } from './generate-sources';

const view = (id: string, name: string, size: number, format: ModelView['format'] = 'gguf') =>
  ({ id, name, format, summary: { fileSize: size } }) as ModelView;

describe('ggufSources', () => {
  it('pairs each GGUF model with its dropped file, in order, by name and size', () => {
    const a = new Blob(['aaaa']);
    const b = new Blob(['bb']);
    const b2 = new Blob(['cc']);
    const st = new Blob(['s']);
    const files = [
      { name: 'a.gguf', blob: a },
      { name: 'broken.gguf', blob: new Blob(['x']) },
      { name: 'b.gguf', blob: b },
      { name: 'b.gguf', blob: b2 },
      { name: 'model.safetensors', blob: st },
    ];
    const models = [view('m1', 'a.gguf', 4), view('m2', 'b.gguf', 2), view('m3', 'b.gguf', 2), view('m4', 'model.safetensors', 1, 'safetensors')];
    const sources = ggufSources(files, models);
    // Blobs compare by identity: any two Blobs are equal to toEqual.
    expect(Object.keys(sources)).toEqual(['m1', 'm2', 'm3']);
    expect(sources.m1).toBe(a);
    expect(sources.m2).toBe(b);
    expect(sources.m3).toBe(b2);
  });
});
