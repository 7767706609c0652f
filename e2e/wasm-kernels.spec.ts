// The WASM kernels in Chromium: the page takes the relaxed-SIMD build (byte dot products in one
// instruction, fused multiply-adds) where Node's tests take the plain one. Integer sums are exact either
// way, so a model of every quantized type must continue a prompt with the same greedy tokens in the page as
// the command line gives in Node (whose kernels golden.test.ts checks against llama.cpp).

import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { expect, test } from '@playwright/test';
import { dropFiles, expectSelectedModel, openPlayground, runGreedy } from './helpers';
import { FIXTURES } from './paths';

const TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];
const PROMPT = 'Once upon a time';
const TOKENS = 24;

/** Greedy tokens of the command line (Node, plain SIMD) for a model file. */
function cliGreedyTokens(file: string): number[] {
  const json = execFileSync('npx', ['tsx', 'src/cli/main.ts', 'generate', file, '--prompt', PROMPT, '-n', String(TOKENS), '--temp', '0', '--json'], { encoding: 'utf8' });
  return (JSON.parse(json) as { tokens: number[] }).tokens;
}

for (const type of TYPES) {
  test(`${type} weights give the same greedy tokens with the page's relaxed-SIMD kernels as in Node`, async ({ page }) => {
    const file = `${FIXTURES}/quant/random-llama-256x4/pure/random-llama-256x4-${type}.gguf`;
    const expected = cliGreedyTokens(file);
    expect(expected.length).toBeGreaterThan(0);
    await openPlayground(page);
    await dropFiles(page, [file]);
    await expectSelectedModel(page, basename(file));
    expect(await runGreedy(page, PROMPT, TOKENS)).toEqual(expected);
    await expect(page.getByTestId('generate-loaded-backend')).toHaveText(/^WASM relaxed SIMD/);
  });
}
