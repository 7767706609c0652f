import { openAsBlob } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { writeGguf } from '../formats/gguf-writer';
import { MemorySink } from '../formats/sink';
import { readGguf, readTensorBytes } from '../formats/gguf';
import { WasmBackend } from '../backend/wasm/wasm-backend';
import { ModelError } from './errors';
import { loadModel, type LoadProgress } from './model';

const STORIES = '../shared/fixtures/models/stories260K.gguf';

/** stories260K rewritten without some tensors. */
async function storiesWithout(names: string[]): Promise<Blob> {
  const blob = await openAsBlob(STORIES);
  const file = await readGguf(blob);
  const sink = new MemorySink();
  const tensors = await Promise.all(
    file.tensors.filter((t) => !names.includes(t.name)).map(async (t) => {
      const bytes = await readTensorBytes(blob, t);
      return { name: t.name, shape: t.shape, type: t.type, data: () => bytes };
    }),
  );
  await writeGguf(sink, { version: 3, kv: file.kv, tensors });
  return new Blob([sink.bytes().slice()]);
}

describe('LlamaModel', () => {
  it('loads stories260K and predicts its usual opening', async () => {
    const model = await loadModel(await openAsBlob(STORIES), await WasmBackend.create());
    expect(model.hparams.nLayers).toBe(5);
    const logits = await model.forward([1], 0, model.createCache(4), 'last');
    expect(logits).toHaveLength(512);
    expect(logits.indexOf(Math.max(...logits))).toBe(403); // "Once"
  });

  it('ties the output to the token embedding when output.weight is absent', async () => {
    const model = await loadModel(await storiesWithout(['output.weight']), await WasmBackend.create());
    expect((await model.forward([1, 403], 0, model.createCache(4), 'last')).every(Number.isFinite)).toBe(true);
  });

  it('reports missing tensors and bad positions with ModelError', async () => {
    // Found from the header alone: not one weight is uploaded first.
    const backend = await WasmBackend.create();
    const upload = vi.spyOn(backend, 'uploadWeight');
    await expect(loadModel(await storiesWithout(['blk.2.ffn_up.weight']), backend)).rejects.toThrow(/missing tensor blk.2.ffn_up.weight/);
    expect(upload).not.toHaveBeenCalled();
    const model = await loadModel(await openAsBlob(STORIES), await WasmBackend.create());
    await expect(model.forward([1, 2], 3, model.createCache(4), 'last')).rejects.toThrow(ModelError);
    await expect(model.forward([], 0, model.createCache(4), 'last')).rejects.toThrow(ModelError);
  });
});

describe('loading', () => {
  it('reports progress over the tensors the model uses and stops when aborted', async () => {
    const blob = await openAsBlob(STORIES);
    const file = await readGguf(blob);
    const progress: LoadProgress[] = [];
    await loadModel(blob, await WasmBackend.create(), { onProgress: (p) => progress.push(p) });
    expect(progress).toHaveLength(file.tensors.length);
    expect(progress.at(-1)).toEqual({
      tensorsLoaded: file.tensors.length,
      tensorsTotal: file.tensors.length,
      bytesLoaded: file.tensors.reduce((sum, t) => sum + t.bytes, 0),
      bytesTotal: file.tensors.reduce((sum, t) => sum + t.bytes, 0),
    });

    const controller = new AbortController();
    const loading = loadModel(blob, await WasmBackend.create(), { signal: controller.signal, onProgress: (p) => p.tensorsLoaded === 3 && controller.abort() });
    await expect(loading).rejects.toThrow(/abort/i);
  });
});

describe('LlamaModel on several threads', () => {
  const RECIPES = '../shared/fixtures/quant/random-llama-256x4/recipe/random-llama-256x4';
  // Q4_K_M mixes Q4_K and Q6_K; Q4_0 and Q8_0 cover the 32-element blocks.
  it.each(['Q4_K_M', 'Q4_0', 'Q8_0'])('gives bit-identical logits with 1 and 3 threads (%s)', async (recipe) => {
    const tokens = Array.from({ length: 48 }, (_, i) => (i * 37) % 500 + 3);
    const logits = async (threads: number) => {
      const backend = await WasmBackend.create({ threads });
      expect(backend.threads).toBe(threads);
      const model = await loadModel(await openAsBlob(`${RECIPES}-${recipe}.gguf`), backend);
      const cache = model.createCache(64);
      const prefill = await model.forward(tokens, 0, cache, 'all');
      const decode = await model.forward([7], tokens.length, cache, 'last');
      backend.dispose();
      return [...prefill, ...decode];
    };
    const single = await logits(1);
    const multi = await logits(3);
    expect(multi.every((v, i) => Object.is(v, single[i]))).toBe(true);
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await expect(WasmBackend.create({ threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
    await expect(WasmBackend.create({ threads: 1.5 })).rejects.toThrow(/threads must be a positive integer/);
  });
});
