import { readFileSync, statSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { humanBytes } from '../src/app/format';
import { expectSelectedModel, openPlayground } from './helpers';
import { FIXTURES, RANDOM_F32_GGUF, RANDOM_Q4_K_M_GGUF } from './paths';

const SOURCE_NAME = 'random-llama-256x4-f32.gguf';
const RANDOM_Q8_0_GGUF = `${FIXTURES}/quant/random-llama-256x4/recipe/random-llama-256x4-Q8_0.gguf`;

/** Opens the random Llama fixture with the file dialog and shows its Quantize tab with `recipe` chosen. */
async function openQuantizePanel(page: Page, recipe: string): Promise<void> {
  await openPlayground(page);
  await page.getByTestId('file-input').setInputFiles(RANDOM_F32_GGUF);
  await expectSelectedModel(page, SOURCE_NAME);
  await page.getByTestId('tab-quantize').click();
  await page.getByTestId('quantize-recipe').selectOption(recipe);
  await expect(page.getByTestId('plan-row')).toHaveCount(39);
}

/** The plan's target type for one tensor. */
function plannedType(page: Page, tensor: string) {
  return page.getByTestId('plan-row').filter({ has: page.getByTestId('plan-tensor').getByText(tensor, { exact: true }) }).getByTestId('plan-to');
}

/** Names of every file under the app's folder in the origin private file system. */
function storedOutputs(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    type Entries = AsyncIterable<[string, FileSystemHandle]>;
    const names: string[] = [];
    const walk = async (folder: FileSystemDirectoryHandle, prefix: string) => {
      for await (const [name, handle] of (folder as unknown as { entries(): Entries }).entries()) {
        if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, `${prefix}${name}/`);
        else names.push(`${prefix}${name}`);
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return names;
  });
}

/** Starts the run, waits for its result, and saves it with the Download button. */
async function quantizeAndDownload(page: Page): Promise<{ name: string; bytes: Buffer }> {
  await page.getByTestId('quantize-start').click();
  const done = page.getByTestId('quantize-done');
  await expect(done).toBeVisible({ timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), done.getByTestId('download-variant').click()]);
  return { name: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
}

test('Q4_K_M quantization in the page writes the same file as llama-quantize', async ({ page }) => {
  test.setTimeout(120_000);
  await openQuantizePanel(page, 'Q4_K_M');
  await expect(plannedType(page, 'output.weight')).toHaveText('Q6_K');
  await expect(plannedType(page, 'blk.0.attn_q.weight')).toHaveText('Q4_K');
  await expect(plannedType(page, 'blk.0.attn_norm.weight')).toHaveText('F32');
  const goldenSize = statSync(RANDOM_Q4_K_M_GGUF).size;
  await expect(page.getByTestId('plan-size')).toHaveText(`≈ ${humanBytes(goldenSize)}`);
  await expect(page.getByTestId('quantize-start')).toHaveText('Quantize to random-llama-256x4-Q4_K_M.gguf');

  const { name, bytes } = await quantizeAndDownload(page);
  expect(name).toBe('random-llama-256x4-Q4_K_M.gguf');
  expect(bytes.length).toBe(goldenSize);
  expect(bytes.equals(readFileSync(RANDOM_Q4_K_M_GGUF))).toBe(true);

  // The result is a new model in the list, marked as a variant of its source.
  await expect(page.getByTestId('model-item')).toHaveCount(3);
  const variant = page.getByTestId('model-item').filter({ hasText: 'random-llama-256x4-Q4_K_M.gguf' });
  await expect(variant.getByTestId('model-variant')).toHaveText(`↳ Q4_K_M of ${SOURCE_NAME}`);
  await variant.getByTestId('model-name').click();
  await expectSelectedModel(page, 'random-llama-256x4-Q4_K_M.gguf');
  await expect(page.getByTestId('variant-source')).toContainText(`Quantized here from ${SOURCE_NAME} with Q4_K_M`);
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('quant-mix-type')).toHaveText(['Q4_K', 'Q6_K', 'F32']);
  // Stored in OPFS under its final name only: no temporary file is left.
  expect((await storedOutputs(page)).filter((n) => n.startsWith('quantized/'))).toEqual([expect.stringMatching(/^quantized\/[^/]+\/\d+-random-llama-256x4-Q4_K_M\.gguf$/)]);
});

test('a cancelled run adds nothing and leaves no file behind', async ({ page }) => {
  test.setTimeout(120_000);
  await openQuantizePanel(page, 'Q8_0');
  await expect(plannedType(page, 'output.weight')).toHaveText('Q8_0');
  // Cancel the moment the run shows its Cancel button: this small model converts in well under a second,
  // so a later click could come after the end. The worker is then still setting up or converting.
  await page.evaluate(() => new Promise<void>((cancelled) => {
    const observer = new MutationObserver(() => {
      const cancel = document.querySelector<HTMLButtonElement>('[data-testid="quantize-progress"] [data-testid="quantize-cancel"]');
      if (!cancel) return;
      observer.disconnect();
      cancel.click();
      cancelled();
    });
    observer.observe(document.body, { childList: true, subtree: true });
    document.querySelector<HTMLButtonElement>('[data-testid="quantize-start"]')!.click();
  }));
  await expect(page.getByTestId('quantize-cancelled')).toHaveText('Cancelled: nothing was kept of random-llama-256x4-Q8_0.gguf.');
  await expect(page.getByTestId('model-item')).toHaveCount(2);
  await expect(page.getByTestId('model-variant')).toHaveCount(0);
  expect((await storedOutputs(page)).filter((n) => n.startsWith('quantized/'))).toEqual([]);

  // The page is still usable: other tabs work, and the same run completes when started again.
  await page.getByTestId('tab-tensors').click();
  await expect(page.getByTestId('tensor-count')).toHaveText('39 tensors');
  await page.getByTestId('tab-quantize').click();
  const { bytes } = await quantizeAndDownload(page);
  expect(bytes.equals(readFileSync(RANDOM_Q8_0_GGUF))).toBe(true);
  await expect(page.getByTestId('model-variant')).toHaveText([`↳ Q8_0 of ${SOURCE_NAME}`]);
});

test('invalid settings are explained and block the run', async ({ page }) => {
  await openQuantizePanel(page, 'Q4_K_M');
  await page.getByTestId('add-override').click();
  await page.getByTestId('override-pattern').fill('blk.(0');
  await page.getByTestId('override-type').fill('Q8_0');
  await expect(page.getByTestId('quantize-invalid')).toContainText('override 1: "blk.(0" is not a valid regular expression');
  await expect(page.getByTestId('quantize-start')).toBeDisabled();
  await page.getByTestId('override-pattern').fill('attn_q');
  await page.getByTestId('override-type').fill('Q9_K');
  await expect(page.getByTestId('quantize-invalid')).toHaveText('override 1: "Q9_K" is not a GGML type (e.g. Q4_K, Q6_K, Q8_0, F16)');
  // A valid override changes the plan.
  await page.getByTestId('override-type').fill('Q8_0');
  await expect(plannedType(page, 'blk.0.attn_q.weight')).toHaveText('Q8_0');
  await expect(page.getByTestId('quantize-start')).toBeEnabled();
});
