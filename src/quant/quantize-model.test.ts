import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { readGguf, readTensorBytes } from '../formats/gguf';
import { MemorySink } from '../formats/sink';
import { fixtureBlob, fixtureBytes } from '../formats/test-files';
import { dequantizeModel, planModel, plannedBytes, quantizeModel, QuantizeCancelledError, type QuantizeProgress } from './quantize-model';
import { dequantize } from './dequantize';

const SOURCE = 'models/random-llama-256x4-f32.gguf';
const RECIPE_DIR = 'quant/random-llama-256x4/recipe';

async function quantizeSource(recipe: string, pure = false): Promise<Uint8Array> {
  const blob = await fixtureBlob(SOURCE);
  const sink = new MemorySink();
  await quantizeModel(blob, await readGguf(blob), { recipe, pure }, sink);
  return sink.bytes();
}

describe('quantizeModel', () => {
  const recipes = readdirSync(`../shared/fixtures/${RECIPE_DIR}`).filter((f) => f.endsWith('.gguf')).map((f) => /-([A-Z0-9_]+)\.gguf$/.exec(f)![1]!);

  it('covers every recipe fixture', () => expect(recipes.length).toBeGreaterThanOrEqual(11));

  for (const recipe of recipes) {
    it(`writes the same file as llama-quantize for ${recipe}`, async () => {
      const ours = await quantizeSource(recipe);
      const golden = fixtureBytes(`${RECIPE_DIR}/random-llama-256x4-${recipe}.gguf`);
      expect(ours.length).toBe(golden.length);
      expect(Buffer.compare(ours, golden)).toBe(0);
    });
  }

  it('writes the same file as llama-quantize --pure for Q4_0 and Q6_K', async () => {
    for (const type of ['Q4_0', 'Q6_K']) {
      const ours = await quantizeSource(type, true);
      expect(Buffer.compare(ours, fixtureBytes(`quant/random-llama-256x4/pure/random-llama-256x4-${type}.gguf`)), type).toBe(0);
    }
  });

  it('predicts the output size before running', async () => {
    const blob = await fixtureBlob(SOURCE);
    const gguf = await readGguf(blob);
    const golden = await readGguf(await fixtureBlob(`${RECIPE_DIR}/random-llama-256x4-Q4_K_M.gguf`));
    expect(plannedBytes(planModel(gguf, { recipe: 'Q4_K_M' }))).toBe(golden.tensors.reduce((s, t) => s + t.bytes, 0));
  });

  it('reports progress and can be cancelled', async () => {
    const blob = await fixtureBlob(SOURCE);
    const gguf = await readGguf(blob);
    const seen: QuantizeProgress[] = [];
    const controller = new AbortController();
    const run = quantizeModel(blob, gguf, { recipe: 'Q8_0' }, new MemorySink(), {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.tensorsDone === 3) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(QuantizeCancelledError);
    expect(seen.at(-1)!.tensorsDone).toBe(3);
    expect(seen.at(-1)!.tensorsTotal).toBe(39);
    expect(seen.every((p, i) => i === 0 || p.bytesDone >= seen[i - 1]!.bytesDone)).toBe(true);
  });

  it('dequantizes a quantized model to F32 with llama.cpp values', async () => {
    const path = 'quant/random-llama-256x4/pure/random-llama-256x4-Q4_K.gguf';
    const blob = await fixtureBlob(path);
    const gguf = await readGguf(blob);
    const sink = new MemorySink();
    await dequantizeModel(blob, gguf, sink);
    const outBlob = new Blob([sink.bytes()]);
    const out = await readGguf(outBlob);
    const name = 'blk.0.ffn_down.weight';
    const t = out.tensors.find((x) => x.name === name)!;
    expect(t.type.name).toBe('F32');
    const golden = fixtureBytes(`quant/random-llama-256x4/dequant/Q4_K/${name}.f32`);
    expect(Buffer.compare(await readTensorBytes(outBlob, t), golden)).toBe(0);
    const source = gguf.tensors.find((x) => x.name === name)!;
    expect(dequantize(source.type, await readTensorBytes(blob, source), source.elements)).toHaveLength(t.elements);
  });
});
