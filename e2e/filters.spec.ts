import { expect, test } from '@playwright/test';
import { openPlayground, showTensors } from './helpers';

test('the metadata search filters keys and values, and long arrays expand', async ({ page }) => {
  await openPlayground(page);
  await page.getByTestId('tab-metadata').click();
  await expect(page.getByTestId('metadata-count')).toHaveText('19 keys');

  await page.getByTestId('metadata-search').fill('head_count');
  await expect(page.getByTestId('metadata-key')).toHaveText(['llama.attention.head_count', 'llama.attention.head_count_kv']);
  await expect(page.getByTestId('metadata-count')).toHaveText('2 of 19 keys');

  // f32 values read as written in the converter (1e-5), not as the double 9.99999974e-6.
  await page.getByTestId('metadata-search').fill('rms_epsilon');
  await expect(page.getByTestId('metadata-row')).toContainText('0.00001');

  // Values are searched too: the tokenizer model's name.
  await page.getByTestId('metadata-search').fill('llama');
  await expect(page.getByTestId('metadata-key').filter({ hasText: 'tokenizer.ggml.model' })).toHaveCount(1);

  await page.getByTestId('metadata-search').fill('tokenizer.ggml.tokens');
  const row = page.getByTestId('metadata-row');
  await expect(row).toContainText('512 items');
  await row.getByTestId('metadata-expand').click();
  await expect(row.getByTestId('metadata-array-items').locator('li')).toHaveCount(64);
  await row.getByTestId('metadata-more').click();
  await expect(row.getByTestId('metadata-array-items').locator('li')).toHaveCount(320);
  await row.getByTestId('metadata-more').click();
  await expect(row.getByTestId('metadata-array-items').locator('li')).toHaveCount(512);
  await expect(row.getByTestId('metadata-more')).toHaveCount(0);

  await page.getByTestId('metadata-search').fill('no such key anywhere');
  await expect(page.getByTestId('metadata-row')).toHaveCount(0);
});

test('the tensor table filters and sorts', async ({ page }) => {
  await openPlayground(page);
  await showTensors(page);
  await page.getByTestId('tensor-filter').fill('attn_q');
  await expect(page.getByTestId('tensor-count')).toHaveText('5 of 48 tensors');
  await expect(page.getByTestId('tensor-name')).toHaveText([0, 1, 2, 3, 4].map((i) => `blk.${i}.attn_q.weight`));

  await page.getByTestId('tensor-filter').fill('');
  await expect(page.getByTestId('tensor-count')).toHaveText('48 tensors');

  await page.getByTestId('sort-name').click();
  await expect(page.getByTestId('tensor-name').first()).toHaveText('blk.0.attn_k.weight');
  await page.getByTestId('sort-name').click();
  await expect(page.getByTestId('tensor-name').first()).toHaveText('token_embd.weight');
  await expect(page.getByTestId('sort-name')).toHaveAttribute('aria-sort', 'descending');

  // The largest tensors are the 512 × 64 embedding and output matrices.
  await page.getByTestId('sort-bytes').click();
  await page.getByTestId('sort-bytes').click();
  await expect(page.getByTestId('tensor-row').first()).toContainText('128 KiB');
});
