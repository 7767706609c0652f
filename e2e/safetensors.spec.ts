import { expect, test } from '@playwright/test';
import { expectSelectedModel, expectSummary, openPlayground, showTensors } from './helpers';
import { STORIES_HF_DIR } from './paths';

const STORIES_HF = { architecture: 'LlamaForCausalLM', layers: '5', heads: '8 / 4', embedding: '64', vocab: '512' };

test('a safetensors model with its config.json, picked as files, is inspected', async ({ page }) => {
  await openPlayground(page);
  await page.getByTestId('file-input').setInputFiles([`${STORIES_HF_DIR}/model.safetensors`, `${STORIES_HF_DIR}/config.json`]);
  await expectSelectedModel(page, 'model.safetensors');
  await expectSummary(page, STORIES_HF);
  await expect(page.getByTestId('summary-parameters')).toHaveText('293K');
  await expect(page.getByTestId('summary-quantized-layout')).toHaveText('none (plain weights)');
  await expect(page.getByTestId('quant-mix-type')).toHaveText(['F32']);
  await showTensors(page);
  await expect(page.getByTestId('tensor-count')).toHaveText('48 tensors');
  await page.getByTestId('tensor-filter').fill('model.layers.4.mlp.down_proj');
  // Row-major shape, outermost first: [hidden, intermediate].
  await expect(page.getByTestId('tensor-row')).toHaveCount(1);
  await expect(page.getByTestId('tensor-row')).toContainText('64 × 172');
});

test('a model folder picked with the folder dialog is inspected', async ({ page }) => {
  await openPlayground(page);
  await page.getByTestId('folder-input').setInputFiles(STORIES_HF_DIR);
  await expectSelectedModel(page, 'model.safetensors');
  await expectSummary(page, STORIES_HF);
  await page.getByTestId('tab-metadata').click();
  await page.getByTestId('metadata-search').fill('rms_norm_eps');
  await expect(page.getByTestId('metadata-key')).toHaveText(['config.json: rms_norm_eps']);
});
