import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { readGguf, readTensorBytes } from '../src/formats/gguf';
import { expectSelectedModel, openPlayground } from './helpers';
import { FIXTURES, STORIES_HF_DIR } from './paths';

/** llama-quantize's F16 of the F32 stories260K: what converting its Hugging Face form at F16 must give, tensor for tensor. */
const STORIES_F16_GGUF = `${FIXTURES}/quant/stories260K/pure/stories260K-F16.gguf`;

async function openStoriesHf(page: Page): Promise<void> {
  await openPlayground(page);
  await page.getByTestId('folder-input').setInputFiles(STORIES_HF_DIR);
  await expectSelectedModel(page, 'model.safetensors');
  await page.getByTestId('tab-quantize').click();
}

async function download(page: Page): Promise<Blob> {
  const done = page.getByTestId('quantize-done');
  await expect(done).toBeVisible({ timeout: 60_000 });
  const [file] = await Promise.all([page.waitForEvent('download'), done.getByTestId('download-variant').click()]);
  return new Blob([readFileSync(await file.path())]);
}

test('a safetensors model converts to GGUF F16 in the page, with the tensors of the converter + llama-quantize F16', async ({ page }) => {
  await openStoriesHf(page);
  await page.getByTestId('convert-start').click();
  const blob = await download(page);
  const converted = await readGguf(blob);
  const goldenBlob = new Blob([readFileSync(STORIES_F16_GGUF)]);
  const golden = await readGguf(goldenBlob);
  expect(converted.tensors.map((t) => t.name).sort()).toEqual(golden.tensors.map((t) => t.name).sort());
  for (const t of converted.tensors) {
    const g = golden.tensors.find((x) => x.name === t.name)!;
    expect([t.shape, t.type.name], t.name).toEqual([g.shape, g.type.name]);
    expect(Buffer.from(await readTensorBytes(blob, t)).equals(Buffer.from(await readTensorBytes(goldenBlob, g))), t.name).toBe(true);
  }
  await expect(page.getByTestId('model-variant')).toHaveText(['↳ F16 of model.safetensors']);
});

test('quantizing a safetensors model converts it first, then quantizes the F16 GGUF', async ({ page }) => {
  await openStoriesHf(page);
  await page.getByTestId('quantize-recipe').selectOption('Q8_0');
  await page.getByTestId('quantize-pure').check();
  // The plan is made from the layout the conversion will have: F16 weights, F32 norms.
  await expect(page.getByTestId('plan-row')).toHaveCount(48);
  await page.getByTestId('quantize-start').click();
  const quantized = await readGguf(await download(page));
  expect(quantized.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.type.name).toBe('Q8_0');
  expect(quantized.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')!.type.name).toBe('F32');
  await expect(page.getByTestId('model-variant')).toHaveText(['↳ Q8_0 of model.safetensors']);
});
