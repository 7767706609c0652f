import { openAsBlob } from 'node:fs';
import { expect, test, type Locator } from '@playwright/test';
import { readGguf, readTensorBytes } from '../src/formats/gguf';
import { expectSelectedModel, openPlayground, showTensors } from './helpers';
import { STORIES_GGUF, STORIES_HF_DIR } from './paths';

/** Reference numbers for a tensor of the fixture, computed here in float64. */
async function referenceStats(name: string) {
  const blob = await openAsBlob(STORIES_GGUF);
  const tensor = (await readGguf(blob)).tensors.find((t) => t.name === name)!;
  const bytes = await readTensorBytes(blob, tensor);
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, tensor.elements);
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { count: values.length, min, max, mean: sum / values.length };
}

/** A number as the page shows it. */
const shown = async (locator: Locator) => Number(await locator.textContent());

test('clicking a tensor shows its statistics and histogram', async ({ page }) => {
  const reference = await referenceStats('blk.0.ffn_down.weight');
  await openPlayground(page);
  await showTensors(page);
  await page.getByTestId('tensor-filter').fill('blk.0.ffn_down');
  await page.getByTestId('tensor-row').first().click();
  const panel = page.getByTestId('tensor-stats');
  await expect(panel.getByTestId('stats-tensor-name')).toHaveText('blk.0.ffn_down.weight');
  await expect(panel.getByTestId('stat-count')).toHaveText(reference.count.toLocaleString('en-US'));
  await expect(panel.getByTestId('stat-nan')).toHaveText('0');
  await expect(panel.getByTestId('stat-inf')).toHaveText('0');
  expect(await shown(panel.getByTestId('stat-min'))).toBeCloseTo(reference.min, 4);
  expect(await shown(panel.getByTestId('stat-max'))).toBeCloseTo(reference.max, 4);
  expect(await shown(panel.getByTestId('stat-mean'))).toBeCloseTo(reference.mean, 4);
  expect(await shown(panel.getByTestId('stat-std'))).toBeGreaterThan(0);
  await expect(panel.getByTestId('stat-outliers')).toHaveText(/%$/);
  const bars = panel.getByTestId('histogram').locator('rect');
  expect(await bars.count()).toBeGreaterThan(8);
});

test('a safetensors tensor has the same statistics as its GGUF original', async ({ page }) => {
  await openPlayground(page);
  await showTensors(page);
  await page.getByTestId('tensor-filter').fill('output_norm');
  await page.getByTestId('tensor-row').first().click();
  const panel = page.getByTestId('tensor-stats');
  await expect(panel.getByTestId('stat-mean')).not.toBeEmpty();
  const fromGguf = await panel.locator('dd').allTextContents();

  await page.getByTestId('folder-input').setInputFiles(STORIES_HF_DIR);
  await expectSelectedModel(page, 'model.safetensors');
  await page.getByTestId('tensor-filter').fill('model.norm.weight');
  await page.getByTestId('tensor-row').first().click();
  await expect(panel.getByTestId('stats-tensor-name')).toHaveText('model.norm.weight');
  await expect(panel.getByTestId('stat-mean')).not.toBeEmpty();
  expect(await panel.locator('dd').allTextContents()).toEqual(fromGguf);
});
