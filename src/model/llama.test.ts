import { openAsBlob } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { writeGguf } from '../formats/gguf-writer';
import { MemorySink } from '../formats/sink';
import { metaNumber, readGguf, readTensorBytes } from '../formats/gguf';
import { generateAll } from '../engine/generate';
import { ggmlTypeByName } from '../quant/types';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('Llama 3.1 RoPE scaling', () => {
  it('divides RoPE angles by rope_freqs.weight exactly as llama.cpp does', { timeout: 60_000 }, async () => {
    const ref = JSON.parse(await readFile('../shared/fixtures/golden/random-llama-256x4-F32.ref.json', 'utf8')) as { greedy: { prompt_ids: number[] } };
    const prompt = ref.greedy.prompt_ids;
    const source = await openAsBlob('../shared/fixtures/models/random-llama-256x4-f32.gguf');
    const file = await readGguf(source);
    const pairs = (metaNumber(file, 'llama.rope.dimension_count') ?? 0) / 2;
    // Low frequencies slowed down the most, as Llama 3.1's factors do (1 for the fastest pairs, up to 8).
    const factors = Float32Array.from({ length: pairs }, (_, i) => Math.fround(1 + (7 * i * i) / (pairs * pairs)));
    const sink = new MemorySink();
    const tensors = await Promise.all(file.tensors.map(async (t) => {
      const bytes = await readTensorBytes(source, t);
      return { name: t.name, shape: t.shape, type: t.type, data: () => bytes };
    }));
    const ropeFreqs = new Uint8Array(factors.buffer);
    await writeGguf(sink, { version: 3, kv: file.kv, tensors: [{ name: 'rope_freqs.weight', shape: [pairs], type: ggmlTypeByName('F32')!, data: () => ropeFreqs }, ...tensors] });
    const dir = await mkdtemp(join(tmpdir(), 'rope-freqs-'));
    const path = join(dir, 'scaled.gguf');
    await writeFile(path, sink.bytes());
    try {
      const greedy = async (blob: Blob) => {
        const model = await loadModel(blob, await WasmBackend.create());
        return (await generateAll(model, prompt, { maxTokens: 24, temperature: 0, stopTokens: [], nCtx: 128 })).tokens.map((t) => t.token);
      };
      const ours = await greedy(await openAsBlob(path));
      expect(ours).not.toEqual(await greedy(source)); // the factors matter

      const { getLlama } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
      const native = await llama.loadModel({ modelPath: path });
      const context = await native.createContext({ contextSize: 128, threads: 1 });
      const theirs: number[] = [];
      for await (const token of context.getSequence().evaluate(prompt as never, { temperature: 0 })) {
        theirs.push(token as number);
        if (theirs.length === 24) break;
      }
      await context.dispose();
      await native.dispose();
      await llama.dispose();
      expect(ours).toEqual(theirs);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
