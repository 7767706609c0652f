import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { metaNumber, metaString, readGguf, readTensorBytes, type GgufFile } from '../formats/gguf';
import { fixtureBlob, fixturePath, tensorListing } from '../formats/test-files';
import { quantizeTensor } from './quantize';
import { fileTypeOf, planQuantization, QuantizeOptionsError, type ModelForPlan, type QuantizeOptions } from './recipes';

const SOURCE = 'models/random-llama-256x4-f32.gguf';
const RECIPE_DIR = 'quant/random-llama-256x4/recipe';
const PURE_SETS = [
  { source: SOURCE, dir: 'quant/random-llama-256x4/pure' },
  { source: 'models/stories260K.gguf', dir: 'quant/stories260K/pure' },
];

/** What planQuantization needs from a GGUF, read the way llama-quantize reads it. */
function modelOf(gguf: GgufFile): ModelForPlan {
  const arch = metaString(gguf, 'general.architecture')!;
  return {
    arch,
    nLayer: metaNumber(gguf, `${arch}.block_count`)!,
    nHead: metaNumber(gguf, `${arch}.attention.head_count`),
    nHeadKv: metaNumber(gguf, `${arch}.attention.head_count_kv`),
    nExpert: metaNumber(gguf, `${arch}.expert_count`),
    tensors: gguf.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type })),
  };
}

async function loadModel(path: string): Promise<ModelForPlan> {
  return modelOf(await readGguf(await fixtureBlob(path)));
}

/** The type name each tensor gets, by tensor name. */
function plannedTypes(model: ModelForPlan, options: QuantizeOptions): Record<string, string> {
  return Object.fromEntries(planQuantization(model, options).map((p) => [p.name, p.to.name]));
}

function ggufFiles(dir: string): string[] {
  return readdirSync(fixturePath(dir)).filter((f) => f.endsWith('.gguf'));
}

const recipeOf = (file: string) => /-([A-Z0-9_]+)\.gguf$/.exec(file)![1]!;

describe('planQuantization gives every tensor the type llama-quantize chose', () => {
  const recipeFiles = ggufFiles(RECIPE_DIR);

  it('finds the recipe fixtures', () => expect(recipeFiles.length).toBeGreaterThanOrEqual(11));

  for (const file of recipeFiles) {
    it(`recipe ${recipeOf(file)}`, async () => {
      const listing = tensorListing(`${RECIPE_DIR}/${file}`);
      const plan = planQuantization(await loadModel(SOURCE), { recipe: recipeOf(file) });
      expect(Object.fromEntries(plan.map((p) => [p.name, [p.to.name, p.shape]]))).toEqual(
        Object.fromEntries(listing.map((t) => [t.name, [t.type, t.shape]])),
      );
    });
  }

  for (const { source, dir } of PURE_SETS) {
    for (const file of ggufFiles(dir)) {
      it(`${file} (--pure)`, async () => {
        const listing = tensorListing(`${dir}/${file}`);
        const types = plannedTypes(await loadModel(source), { recipe: recipeOf(file), pure: true });
        expect(types).toEqual(Object.fromEntries(listing.map((t) => [t.name, t.type])));
      });
    }
  }
});

describe('quantizing per plan reproduces the recipe files', () => {
  it('every tensor of every recipe fixture, byte for byte', async () => {
    const sourceBlob = await fixtureBlob(SOURCE);
    const source = await readGguf(sourceBlob);
    const model = modelOf(source);
    // Recipes share most (tensor, type) pairs: encode each pair once, compare it with every file that holds it.
    const encoded = new Map<string, Uint8Array>();
    let compared = 0;
    const files = ggufFiles(RECIPE_DIR);
    for (const file of files) {
      const goldenBlob = await fixtureBlob(`${RECIPE_DIR}/${file}`);
      const golden = await readGguf(goldenBlob);
      for (const entry of planQuantization(model, { recipe: recipeOf(file) })) {
        const key = `${entry.name}:${entry.to.name}`;
        let ours = encoded.get(key);
        if (!ours) {
          const info = source.tensors.find((t) => t.name === entry.name)!;
          const bytes = await readTensorBytes(sourceBlob, info);
          ours = quantizeTensor(entry.to, new Float32Array(bytes.buffer, bytes.byteOffset, info.elements), entry.shape[0]!, entry.name);
          encoded.set(key, ours);
        }
        const theirs = await readTensorBytes(goldenBlob, golden.tensors.find((t) => t.name === entry.name)!);
        expect(Buffer.compare(ours, theirs), `${file}: ${entry.name} as ${entry.to.name}`).toBe(0);
        compared++;
      }
    }
    expect(compared).toBe(files.length * source.tensors.length);
  });
});

describe('fileTypeOf', () => {
  it('matches general.file_type of every fixture', async () => {
    const dirs = [RECIPE_DIR, ...PURE_SETS.map((s) => s.dir)];
    for (const dir of dirs) {
      for (const file of ggufFiles(dir)) {
        const gguf = await readGguf(await fixtureBlob(`${dir}/${file}`));
        expect(fileTypeOf(recipeOf(file)), file).toBe(metaNumber(gguf, 'general.file_type'));
      }
    }
  });

  it('knows llama-quantize\'s aliases and rejects unknown names', () => {
    expect(fileTypeOf('q4_k')).toBe(fileTypeOf('Q4_K_M'));
    expect(fileTypeOf('Q3_K')).toBe(fileTypeOf('Q3_K_M'));
    expect(fileTypeOf('F32')).toBe(0);
    expect(() => fileTypeOf('Q7_K')).toThrow(QuantizeOptionsError);
    expect(() => fileTypeOf('Q7_K')).toThrow(/unknown recipe "Q7_K"/);
  });
});

describe('llama-quantize rules beyond the fixtures', () => {
  it('explains its choices', async () => {
    const plan = planQuantization(await loadModel(SOURCE), { recipe: 'Q4_K_M' });
    const reason = (name: string) => plan.find((p) => p.name === name)!.reason;
    expect(reason('blk.0.attn_norm.weight')).toBe('1-D: kept F32');
    expect(reason('blk.3.attn_v.weight')).toMatch(/attn_v.*Q4_K_M gets Q6_K/);
    expect(reason('blk.2.ffn_down.weight')).toMatch(/ffn_down layer 2 of 4.*Q6_K/);
    expect(reason('output.weight')).toMatch(/output in Q4_K_M gets Q6_K/);
    expect(reason('blk.0.attn_q.weight')).toBe('Q4_K_M default Q4_K');
  });

  it('falls back when the blocks do not divide a row (stories260K: rows of 64 and 172)', async () => {
    const plan = planQuantization(await loadModel('models/stories260K.gguf'), { recipe: 'Q4_K_M' });
    const entry = (name: string) => plan.find((p) => p.name === name)!;
    // Q4_K's 256 blocks do not divide 64: the 32-block fallback Q5_0 does.
    expect(entry('blk.0.attn_q.weight').to.name).toBe('Q5_0');
    // The output rule itself picks Q8_0 when the recipe's blocks do not divide its rows.
    expect(entry('output.weight').to.name).toBe('Q8_0');
    expect(entry('output.weight').reason).toMatch(/rows of 64/);
    // 172 is not a multiple of 32 either: F16.
    expect(entry('blk.4.ffn_down.weight').to.name).toBe('F16');
    expect(entry('blk.4.ffn_down.weight').reason).toMatch(/row 172 not a multiple of 256: fallback F16/);
  });

  it('quantizes a tied token embedding like the output tensor', async () => {
    const model = await loadModel(SOURCE);
    const tied = { ...model, tensors: model.tensors.filter((t) => t.name !== 'output.weight') };
    expect(plannedTypes(tied, { recipe: 'Q4_K_M' })['token_embd.weight']).toBe('Q6_K');
    expect(plannedTypes(tied, { recipe: 'Q4_K_M', outputTensorType: 'Q8_0' })['token_embd.weight']).toBe('Q8_0');
    expect(plannedTypes(model, { recipe: 'Q4_K_M' })['token_embd.weight']).toBe('Q4_K');
  });

  it('uses more bits for attn_v with wide grouped-query attention and in 8-expert models', async () => {
    const model = await loadModel(SOURCE);
    expect(plannedTypes(model, { recipe: 'Q2_K' })['blk.0.attn_v.weight']).toBe('Q3_K'); // 8 heads / 4 KV heads
    expect(plannedTypes({ ...model, nHeadKv: 2 }, { recipe: 'Q2_K' })['blk.0.attn_v.weight']).toBe('Q4_K');
    const moe = plannedTypes({ ...model, nExpert: 8 }, { recipe: 'Q4_K_M' });
    expect(moe['blk.1.attn_v.weight']).toBe('Q8_0');
    expect(moe['blk.1.attn_k.weight']).toBe('Q8_0');
    expect(moe['blk.1.attn_output.weight']).toBe('Q5_K');
  });

  it('applies user overrides in llama-quantize\'s order of precedence', async () => {
    const model = await loadModel(SOURCE);
    const types = plannedTypes(model, {
      recipe: 'Q4_K_M',
      tensorTypes: [{ pattern: 'ATTN_[QK]', type: 'q8_0' }, { pattern: 'attn', type: 'Q5_0' }],
      outputTensorType: 'F16',
      tokenEmbeddingType: 'Q4_0',
    });
    expect(types['blk.0.attn_q.weight']).toBe('Q8_0'); // first matching pattern wins (patterns are lower-cased)
    expect(types['blk.0.attn_v.weight']).toBe('Q5_0'); // an override replaces the recipe's attn_v rule
    expect(types['blk.0.ffn_up.weight']).toBe('Q4_K');
    expect(types['output.weight']).toBe('F16');
    expect(types['token_embd.weight']).toBe('Q4_0');
    expect(types['blk.0.ffn_norm.weight']).toBe('F32');
  });

  it('converts every quantizable tensor for float recipes, and ignores overrides there as llama-quantize does', async () => {
    const model = await loadModel(SOURCE);
    const types = plannedTypes(model, { recipe: 'BF16', tensorTypes: [{ pattern: 'attn', type: 'Q8_0' }] });
    expect(types['blk.0.attn_q.weight']).toBe('BF16');
    expect(types['output.weight']).toBe('BF16');
    expect(types['output_norm.weight']).toBe('F32');
  });

  it('rejects bad options with a typed error', async () => {
    const model = await loadModel(SOURCE);
    expect(() => planQuantization(model, { recipe: 'Q4_K_X' })).toThrow(QuantizeOptionsError);
    expect(() => planQuantization(model, { recipe: 'Q4_K_M', tensorTypes: [{ pattern: 'attn(', type: 'Q8_0' }] })).toThrow(/not a valid regular expression/);
    expect(() => planQuantization(model, { recipe: 'Q4_K_M', tensorTypes: [{ pattern: 'attn', type: 'Q9_0' }] })).toThrow(/unknown tensor type "Q9_0"/);
    expect(() => planQuantization(model, { recipe: 'Q4_K_M', outputTensorType: 'IQ2_XXS' })).toThrow(/IQ2_XXS is not supported/);
  });

  it('refuses an output or token embedding type whose blocks do not divide the rows, as llama-quantize does', async () => {
    const stories = await loadModel('models/stories260K.gguf'); // rows of 64
    expect(() => planQuantization(stories, { recipe: 'Q8_0', tokenEmbeddingType: 'Q4_K' })).toThrow(/token embedding type Q4_K: rows of token_embd.weight have 64 values/);
    expect(() => planQuantization(stories, { recipe: 'Q8_0', outputTensorType: 'Q6_K' })).toThrow(/output tensor type Q6_K: rows of output.weight/);
  });
});
