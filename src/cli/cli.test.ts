import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fixturePath } from '../formats/test-files';

/** Runs the real CLI entry point, as `npm run -s cli -- ...` does. */
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli inspect', () => {
  it('prints one JSON object with the stable fields', () => {
    const r = cli('inspect', fixturePath('models/stories260K.gguf'), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ format: 'gguf', version: 3, architecture: 'llama', parameterCount: 292_800 });
    expect(j.metadata['llama.block_count']).toBe(5);
    expect(j.metadata['tokenizer.ggml.tokens']).toHaveLength(512);
    expect(j.tensors).toHaveLength(48);
    expect(j.tensors[0]).toEqual({ name: 'token_embd.weight', type: 'F32', shape: [64, 512], offset: 14176, bytes: 131072, file: 'stories260K.gguf' });
  });

  it('prints a readable summary', () => {
    const r = cli('inspect', fixturePath('quant/random-llama-256x4/recipe/random-llama-256x4-Q4_K_M.gguf'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/architecture\s+llama/);
    expect(r.stdout).toMatch(/Q4_K\s+24/);
    expect(r.stdout).toMatch(/tensors \(39\)/);
  });

  it('reports bad files on stderr with a non-zero exit code', () => {
    const r = cli('inspect', 'package.json', fixturePath('models/stories260K.gguf'), '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/package\.json: not a model file/);
    expect(JSON.parse(r.stdout).format).toBe('gguf');
    expect(cli('nonsense').code).toBe(2);
  });
});
