import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hfFolderFromLlamaGguf } from '../formats/convert-hf-inverse';
import { readGguf, readTensorBytes } from '../formats/gguf';
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
    expect(r.stdout).toMatch(/Q4_K\s+25/);
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

describe('cli quantize and dequantize', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quantscope-cli-'));

  it('writes the same file as llama-quantize', () => {
    const out = join(dir, 'q4km.gguf');
    const r = cli('quantize', fixturePath('models/random-llama-256x4-f32.gguf'), out, '--type', 'Q4_K_M', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.tensors.find((t: { name: string }) => t.name === 'output.weight').to).toBe('Q6_K');
    expect(Buffer.compare(readFileSync(out), readFileSync(fixturePath('quant/random-llama-256x4/recipe/random-llama-256x4-Q4_K_M.gguf')))).toBe(0);
  });

  it('honours --pure and per-tensor overrides', () => {
    const out = join(dir, 'mixed.gguf');
    const r = cli('quantize', fixturePath('models/random-llama-256x4-f32.gguf'), out, '--type', 'Q4_0', '--pure', '--tensor-type', 'attn_v=Q8_0', '--output-tensor-type', 'Q6_K', '--json');
    expect(r.code).toBe(0);
    const types = Object.fromEntries(JSON.parse(r.stdout).tensors.map((t: { name: string; to: string }) => [t.name, t.to]));
    expect(types['blk.0.attn_v.weight']).toBe('Q8_0');
    expect(types['blk.0.attn_q.weight']).toBe('Q4_0');
    expect(types['output.weight']).toBe('Q6_K');
  });

  it('leaves no file behind when it fails', () => {
    const out = join(dir, 'never.gguf');
    const r = cli('quantize', fixturePath('models/random-llama-256x4-f32.gguf'), out, '--type', 'Q9_Z');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Q9_Z/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('quantizes a safetensors model folder through an F16 conversion, as convert_hf_to_gguf.py + llama-quantize do', async () => {
    const source = await openAsBlob(fixturePath('models/stories260K.gguf'));
    const folder = join(dir, 'stories260K-hf');
    mkdirSync(folder);
    for (const [name, blob] of await hfFolderFromLlamaGguf(source, await readGguf(source))) {
      writeFileSync(join(folder, name), new Uint8Array(await blob.arrayBuffer()));
    }
    const fromFolder = join(dir, 'from-hf-q8.gguf');
    const fromF16 = join(dir, 'from-f16-q8.gguf');
    expect(cli('quantize', folder, fromFolder, '--type', 'Q8_0', '--pure').code).toBe(0);
    expect(cli('quantize', fixturePath('quant/stories260K/pure/stories260K-F16.gguf'), fromF16, '--type', 'Q8_0', '--pure').code).toBe(0);
    const [a, b] = await Promise.all([fromFolder, fromF16].map((p) => openAsBlob(p)));
    const [ga, gb] = await Promise.all([readGguf(a!), readGguf(b!)]);
    expect(ga.tensors.map((t) => `${t.name} ${t.type.name}`)).toEqual(gb.tensors.map((t) => `${t.name} ${t.type.name}`));
    for (const [i, t] of ga.tensors.entries()) {
      expect(Buffer.compare(await readTensorBytes(a!, t), await readTensorBytes(b!, gb.tensors[i]!)), t.name).toBe(0);
    }
  });

  it('dequantizes to F32', () => {
    const out = join(dir, 'f32.gguf');
    expect(cli('dequantize', fixturePath('quant/random-llama-256x4/pure/random-llama-256x4-Q8_0.gguf'), out).code).toBe(0);
    const inspected = JSON.parse(cli('inspect', out, '--json').stdout);
    expect(new Set(inspected.tensors.map((t: { type: string }) => t.type))).toEqual(new Set(['F32']));
    expect(inspected.metadata['general.file_type']).toBe(0);
  });
});
