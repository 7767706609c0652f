// Shared steps of the browser tests.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, type Locator, type Page } from '@playwright/test';

/** Opens the playground and waits until the bundled demo model is inspected. */
export async function openPlayground(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('model-name')).toHaveText(['stories260K.gguf']);
  await expect(page.getByTestId('summary-architecture')).toBeVisible();
}

/** Waits until the model named `name` is loaded and selected. */
export async function expectSelectedModel(page: Page, name: string): Promise<void> {
  await expect(page.getByTestId('model-item').filter({ hasText: name })).toHaveClass(/selected/);
  await expect(page.getByTestId('loading')).toHaveCount(0);
}

export async function showTensors(page: Page): Promise<void> {
  await page.getByTestId('tab-tensors').click();
}

/**
 * Drops files on the page the way a user's drag and drop does: a DataTransfer
 * is built in the page from the files' bytes and dragenter, dragover and drop
 * are dispatched on the document body.
 */
export async function dropFiles(page: Page, paths: string[]): Promise<void> {
  const files = paths.map((p) => ({ name: basename(p), base64: readFileSync(p).toString('base64') }));
  await page.evaluate(async (list) => {
    const transfer = new DataTransfer();
    for (const { name, base64 } of list) {
      const bytes = await (await fetch(`data:application/octet-stream;base64,${base64}`)).arrayBuffer();
      transfer.items.add(new File([bytes], name));
    }
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.body.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
  }, files);
}

/** The summary fields that identify a model's shape. */
export async function expectSummary(
  page: Page,
  expected: { architecture: string; layers: string; heads: string; embedding: string; vocab: string },
): Promise<void> {
  await expect(page.getByTestId('summary-architecture')).toHaveText(expected.architecture);
  await expect(page.getByTestId('summary-layers')).toHaveText(expected.layers);
  await expect(page.getByTestId('summary-heads')).toHaveText(expected.heads);
  await expect(page.getByTestId('summary-embedding')).toHaveText(expected.embedding);
  await expect(page.getByTestId('summary-vocab')).toHaveText(expected.vocab);
}

/** Loads the selected model from its Generate tab on the WASM backend and sets up a greedy run. */
export async function loadForGreedyRun(page: Page, prompt: string, maxTokens: number): Promise<void> {
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('generate-backend').selectOption('wasm');
  await page.getByTestId('generate-load').click();
  await expect(page.getByTestId('generate-loaded-backend')).toHaveText(/^WASM (relaxed )?SIMD, \d+ threads?/);
  await page.getByTestId('generate-greedy').check();
  await page.getByTestId('generate-maxTokens').fill(String(maxTokens));
  await page.getByTestId('generate-prompt').fill(prompt);
}

/** The Generate panel's output, with the generated token ids in data-token-ids. */
export function output(page: Page): Locator {
  return page.getByTestId('generate-output');
}

export async function tokenIds(page: Page): Promise<number[]> {
  return ((await output(page).getAttribute('data-token-ids')) ?? '').split(',').filter(Boolean).map(Number);
}

/** Loads the selected model on WASM, continues `prompt` greedily by up to maxTokens tokens and returns their ids. */
export async function runGreedy(page: Page, prompt: string, maxTokens: number): Promise<number[]> {
  await loadForGreedyRun(page, prompt, maxTokens);
  await page.getByTestId('generate-run').click();
  await expect(output(page)).toHaveAttribute('data-status', 'done');
  return tokenIds(page);
}
