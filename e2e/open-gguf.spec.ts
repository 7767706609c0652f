import { expect, test } from '@playwright/test';
import { dropFiles, expectSelectedModel, expectSummary, openPlayground, showTensors } from './helpers';
import { RANDOM_F32_GGUF, RANDOM_Q4_K_M_GGUF } from './paths';

const RANDOM_LLAMA = { architecture: 'llama', layers: '4', heads: '8 / 4', embedding: '256', vocab: '512' };

test('a GGUF picked with the file dialog is inspected', async ({ page }) => {
  await openPlayground(page);
  await page.getByTestId('file-input').setInputFiles(RANDOM_F32_GGUF);
  await expectSelectedModel(page, 'random-llama-256x4-f32.gguf');
  await expect(page.getByTestId('model-item')).toHaveCount(2);
  await expectSummary(page, RANDOM_LLAMA);
  await expect(page.getByTestId('summary-parameters')).toHaveText('2.62M');
  await expect(page.getByTestId('quant-mix-type')).toHaveText(['F32']);
  await showTensors(page);
  await expect(page.getByTestId('tensor-count')).toHaveText('39 tensors');
});

test('a quantized GGUF dropped on the page shows its quantization mix', async ({ page }) => {
  await openPlayground(page);
  await dropFiles(page, [RANDOM_Q4_K_M_GGUF]);
  await expectSelectedModel(page, 'random-llama-256x4-Q4_K_M.gguf');
  await expectSummary(page, RANDOM_LLAMA);
  // Q4_K_M: most matrices Q4_K, some (attn_v, ffn_down, output) Q6_K, norms F32.
  await expect(page.getByTestId('quant-mix-type')).toHaveText(['Q4_K', 'Q6_K', 'F32']);
  const bitsPerWeight = Number(await page.getByTestId('summary-bpw').textContent());
  expect(bitsPerWeight).toBeGreaterThan(4.5);
  expect(bitsPerWeight).toBeLessThan(6.6);
  await expect(page.getByTestId('chart-by-type').getByTestId('chart-bar')).toHaveCount(3);
  await showTensors(page);
  await expect(page.getByTestId('tensor-count')).toHaveText('39 tensors');
  await page.getByTestId('tensor-filter').fill('q6_k');
  await expect(page.getByTestId('tensor-row').first()).toContainText('Q6_K');
});
