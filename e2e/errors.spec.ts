import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { expectSelectedModel, openPlayground } from './helpers';
import { STORIES_GGUF } from './paths';

test('broken files dropped with a good one are explained, and the good one still loads', async ({ page }) => {
  await openPlayground(page);
  // Built in the page from the demo model's bytes as the server sends them.
  await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch('models/stories260K.gguf')).arrayBuffer());
    const wrongMagic = bytes.slice();
    wrongMagic[3] = 'X'.charCodeAt(0);
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes.slice(0, 100)], 'truncated.gguf'));
    transfer.items.add(new File([wrongMagic], 'wrong-magic.gguf'));
    transfer.items.add(new File([bytes], 'good-copy.gguf'));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.body.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
  });
  await expectSelectedModel(page, 'good-copy.gguf');
  await expect(page.getByTestId('summary-layers')).toHaveText('5');

  const truncated = page.getByTestId('open-error').filter({ has: page.getByTestId('open-error-file').getByText('truncated.gguf', { exact: true }) });
  await expect(truncated.getByTestId('open-error-message')).toContainText('tensor count at byte 8');
  await expect(truncated).toContainText('in tensor count, at byte 8');
  const wrongMagic = page.getByTestId('open-error').filter({ has: page.getByTestId('open-error-file').getByText('wrong-magic.gguf', { exact: true }) });
  await expect(wrongMagic.getByTestId('open-error-message')).toContainText('expected "GGUF", found 0x58554747');
  await expect(wrongMagic).toContainText('in magic, at byte 0');
  await expect(page.getByTestId('open-error')).toHaveCount(2);
  await expect(page.getByTestId('model-item')).toHaveCount(2);
});

test('a broken safetensors picked with a good GGUF is explained, and the GGUF loads', async ({ page }) => {
  await openPlayground(page);
  const header = new TextEncoder().encode('{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]');
  const lengthPrefix = Buffer.alloc(8);
  lengthPrefix.writeBigUInt64LE(BigInt(header.length));
  await page.getByTestId('file-input').setInputFiles([
    { name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.concat([lengthPrefix, header, Buffer.alloc(16)]) },
    { name: 'stories-again.gguf', mimeType: 'application/octet-stream', buffer: readFileSync(STORIES_GGUF) },
  ]);
  await expectSelectedModel(page, 'stories-again.gguf');
  const error = page.getByTestId('open-error');
  await expect(error.getByTestId('open-error-file')).toHaveText('broken.safetensors');
  await expect(error.getByTestId('open-error-message')).toContainText('not valid JSON');
});
