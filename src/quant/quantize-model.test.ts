import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { GgufValueType, readGguf, readTensorBytes } from '../formats/gguf';
import { writeGguf } from '../formats/gguf-writer';
import { MemorySink } from '../formats/sink';
import { fixtureBlob, fixtureBytes } from '../formats/test-files';
import { dequantizeModel, planModel, plannedBytes, quantizeModel, QuantizeCancelledError, type QuantizeProgress } from './quantize-model';
import { dequantize } from './dequantize';
import { QuantizeInputError, quantizeTensor } from './quantize';
import { GgmlType, ggmlType, ggmlTypeByName } from './types';

const SOURCE = 'models/random-llama-256x4-f32.gguf';
const RECIPE_DIR = 'quant/random-llama-256x4/recipe';

async function quantizeSource(recipe: string, pure = false, threads = 1): Promise<Uint8Array> {
  const blob = await fixtureBlob(SOURCE);
  const sink = new MemorySink();
  await quantizeModel(blob, await readGguf(blob), { recipe, pure }, sink, { threads });
  return sink.bytes();
}

/** A one-tensor F32 model whose rows (1024 wide, 600 of them) span several quantization jobs. */
async function wideTensorModel(poison?: { row: number; column: number }) {
  const rowLength = 1024;
  const values = new Float32Array(rowLength * 600).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 97)) * 0.01);
  if (poison) values[poison.row * rowLength + poison.column] = Number.NaN;
  const sink = new MemorySink();
  const data = new Uint8Array(values.buffer);
  await writeGguf(sink, {
    kv: [{ key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' }],
    tensors: [{ name: 'blk.0.ffn_up.weight', shape: [rowLength, 600], type: ggmlType(GgmlType.F32), data: () => data }],
  });
  const blob = new Blob([sink.bytes()]);
  return { blob, gguf: await readGguf(blob), values, rowLength };
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

  it('writes the same bytes on 2 and 3 threads', async () => {
    const golden = fixtureBytes(`${RECIPE_DIR}/random-llama-256x4-Q4_K_M.gguf`);
    for (const threads of [2, 3]) expect(Buffer.compare(await quantizeSource('Q4_K_M', false, threads), golden), `${threads} threads`).toBe(0);
  });

  it('splits large tensors into jobs and joins them in order, on any thread count', async () => {
    const { blob, gguf, values, rowLength } = await wideTensorModel();
    for (const type of ['Q4_1', 'Q3_K']) {
      const reference = quantizeTensor(ggmlTypeByName(type)!, values, rowLength);
      for (const threads of [1, 2]) {
        const sink = new MemorySink();
        await quantizeModel(blob, gguf, { recipe: type, pure: true }, sink, { threads });
        const out = await readGguf(new Blob([sink.bytes()]));
        const data = await readTensorBytes(new Blob([sink.bytes()]), out.tensors[0]!);
        expect(Buffer.compare(data, reference), `${type} on ${threads} threads`).toBe(0);
      }
    }
  });

  it('names the tensor, row and column of a value that is not finite, on any thread count', async () => {
    const { blob, gguf } = await wideTensorModel({ row: 517, column: 3 });
    for (const threads of [1, 2]) {
      const run = quantizeModel(blob, gguf, { recipe: 'Q8_0', pure: true }, new MemorySink(), { threads });
      await expect(run).rejects.toBeInstanceOf(QuantizeInputError);
      await expect(run).rejects.toThrow('tensor blk.0.ffn_up.weight: value NaN at row 517, column 3 is not finite');
    }
  });

  it('refuses a thread count that is not a positive integer', async () => {
    const blob = await fixtureBlob(SOURCE);
    await expect(quantizeModel(blob, await readGguf(blob), { recipe: 'Q8_0' }, new MemorySink(), { threads: 0 })).rejects.toBeInstanceOf(RangeError);
  });

  it('predicts the output size before running', async () => {
    const blob = await fixtureBlob(SOURCE);
    const gguf = await readGguf(blob);
    const golden = await readGguf(await fixtureBlob(`${RECIPE_DIR}/random-llama-256x4-Q4_K_M.gguf`));
    expect(plannedBytes(planModel(gguf, { recipe: 'Q4_K_M' }))).toBe(golden.tensors.reduce((s, t) => s + t.bytes, 0));
  });

  it.each([1, 2])('reports progress and can be cancelled on %i threads', async (threads) => {
    const blob = await fixtureBlob(SOURCE);
    const gguf = await readGguf(blob);
    const seen: QuantizeProgress[] = [];
    const controller = new AbortController();
    const run = quantizeModel(blob, gguf, { recipe: 'Q8_0' }, new MemorySink(), {
      threads,
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

  it.each([1, 2])('dequantizes a quantized model to F32 with llama.cpp values on %i threads', async (threads) => {
    const path = 'quant/random-llama-256x4/pure/random-llama-256x4-Q4_K.gguf';
    const blob = await fixtureBlob(path);
    const gguf = await readGguf(blob);
    const sink = new MemorySink();
    await dequantizeModel(blob, gguf, sink, { threads });
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
