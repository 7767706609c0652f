import { openAsBlob, readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { readGguf, readTensorBytes } from '../src/formats/gguf';
import { expectSelectedModel, openPlayground, showTensors } from './helpers';
import { RANDOM_Q4_K_FFN_DOWN_F32, RANDOM_Q4_K_GGUF, STORIES_GGUF, STORIES_HF_DIR } from './paths';

/** Reference numbers for a list of values, computed here in float64. */
function referenceStats(values: Float32Array) {
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { count: values.length, min, max, mean: sum / values.length };
}

async function f32TensorOfFixture(path: string, name: string): Promise<Float32Array> {
  const blob = await openAsBlob(path);
  const tensor = (await readGguf(blob)).tensors.find((t) => t.name === name)!;
  const bytes = await readTensorBytes(blob, tensor);
  return new Float32Array(bytes.buffer, bytes.byteOffset, tensor.elements);
}

/** A number as the page shows it. */
const shown = async (locator: Locator) => Number(await locator.textContent());

/** The page shows five significant digits. */
async function expectShown(locator: Locator, expected: number): Promise<void> {
  expect(Math.abs((await shown(locator)) - expected)).toBeLessThanOrEqual(1e-4 * Math.max(Math.abs(expected), 1e-3));
}

/** Selects a tensor in the tensor table and checks its statistics against the reference values. */
async function expectTensorStats(page: Page, name: string, values: Float32Array): Promise<Locator> {
  const reference = referenceStats(values);
  await page.getByTestId('tensor-filter').fill(name);
  await page.getByTestId('tensor-name').getByText(name, { exact: true }).click();
  const panel = page.getByTestId('tensor-stats');
  await expect(panel.getByTestId('stats-tensor-name')).toHaveText(name);
  await expect(panel.getByTestId('stat-count')).toHaveText(reference.count.toLocaleString('en-US'));
  await expect(panel.getByTestId('stat-nan')).toHaveText('0');
  await expect(panel.getByTestId('stat-inf')).toHaveText('0');
  await expectShown(panel.getByTestId('stat-min'), reference.min);
  await expectShown(panel.getByTestId('stat-max'), reference.max);
  await expectShown(panel.getByTestId('stat-mean'), reference.mean);
  return panel;
}

test('clicking a tensor shows its statistics and histogram', async ({ page }) => {
  await openPlayground(page);
  await showTensors(page);
  const panel = await expectTensorStats(page, 'blk.0.ffn_down.weight', await f32TensorOfFixture(STORIES_GGUF, 'blk.0.ffn_down.weight'));
  expect(await shown(panel.getByTestId('stat-std'))).toBeGreaterThan(0);
  await expect(panel.getByTestId('stat-outliers')).toHaveText(/%$/);
  expect(await panel.getByTestId('histogram').locator('rect').count()).toBe(64);
});

test('statistics of a quantized tensor match llama.cpp\'s dequantization', async ({ page }) => {
  await openPlayground(page);
  await page.getByTestId('file-input').setInputFiles(RANDOM_Q4_K_GGUF);
  await expectSelectedModel(page, 'random-llama-256x4-Q4_K.gguf');
  await showTensors(page);
  const dequantized = new Float32Array(new Uint8Array(readFileSync(RANDOM_Q4_K_FFN_DOWN_F32)).buffer);
  await expectTensorStats(page, 'blk.0.ffn_down.weight', dequantized);
  await expect(page.getByTestId('tensor-stats')).toContainText('Q4_K');
});

test('a safetensors tensor has the same statistics as its GGUF original', async ({ page }) => {
  const values = await f32TensorOfFixture(STORIES_GGUF, 'output_norm.weight');
  await openPlayground(page);
  await showTensors(page);
  const panel = await expectTensorStats(page, 'output_norm.weight', values);
  const fromGguf = await panel.locator('dd').allTextContents();

  await page.getByTestId('folder-input').setInputFiles(STORIES_HF_DIR);
  await expectSelectedModel(page, 'model.safetensors');
  await expectTensorStats(page, 'model.norm.weight', values);
  expect(await panel.locator('dd').allTextContents()).toEqual(fromGguf);
});
