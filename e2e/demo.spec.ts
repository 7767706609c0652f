import { expect, test } from '@playwright/test';
import { expectSelectedModel, expectSummary, openPlayground, showTensors } from './helpers';
import { MANY_TENSORS, MANY_TENSORS_GGUF } from './paths';

test('the demo model is listed and inspected on load', async ({ page }) => {
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await openPlayground(page);
  await expect(page.getByTestId('model-title')).toHaveText('stories260K.gguf');
  await expect(page.getByTestId('summary-name')).toHaveText('llama');
  await expectSummary(page, { architecture: 'llama', layers: '5', heads: '8 / 4', embedding: '64', vocab: '512' });
  // 292,800 weights, all F32, in a 1,185,376-byte file.
  await expect(page.getByTestId('summary-parameters')).toHaveText('293K');
  await expect(page.getByTestId('summary-file-size')).toHaveText('1.13 MiB');
  await expect(page.getByTestId('summary-bpw')).toHaveText('32.00');
  await expect(page.getByTestId('summary-rope')).toContainText('8 dims');
  await expect(page.getByTestId('summary-chat-template')).toHaveText('none');
  await expect(page.getByTestId('quant-mix-type')).toHaveText(['F32']);
  await expect(page.getByTestId('chart-by-layer').getByTestId('chart-bar')).toHaveCount(7); // embeddings, 5 layers, output

  await showTensors(page);
  await expect(page.getByTestId('tensor-count')).toHaveText('48 tensors');
  // The page is cross-origin isolated (COOP/COEP), as SharedArrayBuffer threads need.
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(consoleErrors).toEqual([]);
});

test('the tensor table renders only the visible rows of 12,000 tensors', async ({ page }) => {
  await openPlayground(page);
  await page.getByTestId('file-input').setInputFiles(MANY_TENSORS_GGUF);
  await expectSelectedModel(page, 'many-tensors.gguf');
  await showTensors(page);
  await expect(page.getByTestId('tensor-count')).toHaveText('12,000 tensors');
  const rendered = await page.getByTestId('tensor-row').count();
  expect(rendered).toBeGreaterThan(5);
  expect(rendered).toBeLessThan(100);

  // Scrolling to the end brings the last tensor into the DOM.
  await page.getByTestId('tensor-rows').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await expect(page.getByTestId('tensor-name').filter({ hasText: `blk.${MANY_TENSORS / 10 - 1}.part9.weight` })).toBeVisible();
  expect(await page.getByTestId('tensor-row').count()).toBeLessThan(100);

  await page.getByTestId('tensor-filter').fill('blk.1199.');
  await expect(page.getByTestId('tensor-count')).toHaveText('10 of 12,000 tensors');
  await expect(page.getByTestId('tensor-row')).toHaveCount(10);
});
