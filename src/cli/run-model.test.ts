// The model-running commands, spawned as `npm run -s cli -- ...` runs them, against
// llama.cpp's goldens for stories260K F32 (../shared/fixtures/golden).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGguf, readTensorBytes, type GgufKV } from '../formats/gguf';
import { writeGguf } from '../formats/gguf-writer';
import { MemorySink } from '../formats/sink';
import { fixturePath } from '../formats/test-files';
import { parseArgs } from './args';
import { perplexityCommand, TextStream, topLogProbs } from './run-model';

const MODEL = fixturePath('models/stories260K.gguf');
const STORY = fixturePath('golden/story.txt');

interface GoldenRef {
  greedy: { prompt: string; prompt_ids: number[]; tokens: number[]; text: string };
  ppl: { ppl: number; ctx: number; chunks: number; scored: number; first_scored_pos: number };
}
const ref = JSON.parse(readFileSync(fixturePath('golden/stories260K-F32.ref.json'), 'utf8')) as GoldenRef;
const storyIds = (readFileSync(fixturePath('golden/stories260K-F32.tokens.txt'), 'utf8').match(/\d+/g) ?? []).map(Number);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must succeed and parses its --json output. */
function cliJson(...args: string[]) {
  const r = cli(...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('generate', () => {
  it('continues the golden prompt greedily with llama.cpp\'s tokens and text', () => {
    const j = cliJson('generate', MODEL, '--prompt', ref.greedy.prompt, '-n', String(ref.greedy.tokens.length), '--temp', '0');
    expect(j.prompt_ids).toEqual(ref.greedy.prompt_ids);
    expect(j.tokens).toEqual(ref.greedy.tokens);
    expect(j.text).toBe(ref.greedy.text);
    for (const key of ['prompt_ms', 'prompt_tokens_per_s', 'decode_ms', 'decode_tokens_per_s']) expect(j.timings[key]).toBeGreaterThan(0);
  });

  it('streams the same text without --json, timings on stderr', () => {
    const r = cli('generate', MODEL, '--prompt', ref.greedy.prompt, '--n-predict', '20', '--temp', '0');
    expect(r.code).toBe(0);
    const first20 = cliJson('generate', MODEL, '--prompt', ref.greedy.prompt, '-n', '20', '--temp', '0').text;
    expect(r.stdout).toBe(`${first20}\n`);
    expect(r.stderr).toMatch(new RegExp(`prompt: ${ref.greedy.prompt_ids.length} tokens in .* ms .*generated: 20 tokens`));
  });

  it('samples reproducibly with a seed', () => {
    const run = () => cliJson('generate', MODEL, '--prompt', 'Once upon a time', '-n', '16', '--temp', '1', '--top-k', '0', '--top-p', '1', '--min-p', '0', '--seed', '7');
    const a = run();
    expect(a.tokens).toHaveLength(16);
    expect(a.seed).toBe(7);
    expect(run().tokens).toEqual(a.tokens);
  });
});

describe('tokenize', () => {
  it('gives llama-tokenize\'s ids for the story, BOS included', () => {
    const j = cliJson('tokenize', MODEL, '--file', STORY);
    expect(j.ids).toEqual(storyIds);
    expect(j.pieces).toHaveLength(storyIds.length);
  });

  it('lists ids and pieces as text', () => {
    const r = cli('tokenize', MODEL, '--text', 'Once upon a time');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe("   403 -> ' Once'");
  });
});

describe('perplexity', () => {
  it('matches llama-perplexity on the story with a context of 128', () => {
    const j = cliJson('perplexity', MODEL, '--file', STORY, '--ctx', String(ref.ppl.ctx));
    expect(Math.abs(j.ppl / ref.ppl.ppl - 1)).toBeLessThan(1e-3);
    expect(j).toMatchObject({ chunks: ref.ppl.chunks, tokens_scored: ref.ppl.scored, tokens: storyIds.length });
    expect(j.per_chunk).toHaveLength(ref.ppl.chunks);
    expect(j.per_chunk.at(-1)).toBe(j.ppl);
  });

  it('gives bit-identical results with --threads 2', async () => {
    // In-process: the command itself, without main.ts's option list.
    const run = async (...extra: string[]) => {
      const lines: string[] = [];
      const args = parseArgs([MODEL, '--file', STORY, '--ctx', String(ref.ppl.ctx), '--json', ...extra], ['json']);
      expect(await perplexityCommand(args, (s) => lines.push(s), () => {})).toBe(0);
      return JSON.parse(lines.join('\n')).per_chunk as number[];
    };
    expect(await run('--threads', '2')).toEqual(await run());
    await expect(run('--threads', '0')).rejects.toThrow(/--threads must be at least 1/);
  });
});

describe('logits', () => {
  it('ranks the next token as llama.cpp\'s logits do', () => {
    const j = cliJson('logits', MODEL, '--file', STORY, '--top-k', '3');
    expect(j.ids).toEqual(storyIds);
    expect(j.positions).toHaveLength(storyIds.length);
    // logits.f32 rows are llama-perplexity's scored positions; its first chunk is the
    // story's first ctx tokens, so row r holds the logits of position first_scored_pos + r.
    const nVocab = 512;
    const golden = new Float32Array(readFileSync(fixturePath('golden/stories260K-F32.logits.f32')).buffer.slice(0));
    const rowsInFirstChunk = ref.ppl.ctx - 1 - ref.ppl.first_scored_pos;
    for (let r = 0; r < rowsInFirstChunk; r++) {
      const position = j.positions[ref.ppl.first_scored_pos + r];
      expect(position.token).toBe(storyIds[ref.ppl.first_scored_pos + r]);
      expect(position.top[0][0]).toBe(topLogProbs(golden.subarray(r * nVocab, (r + 1) * nVocab), 1)[0]![0]);
    }
    for (const { top } of j.positions) {
      expect(top).toHaveLength(3);
      expect(top[0][1]).toBeLessThanOrEqual(0);
      expect(top[0][1]).toBeGreaterThanOrEqual(top[1][1]);
      expect(top[1][1]).toBeGreaterThanOrEqual(top[2][1]);
    }
  });

  it('topLogProbs: most likely first, lowest id on ties, normalized', () => {
    const top = topLogProbs(Float32Array.of(1, 3, 2, 3, 0), 3);
    expect(top.map(([id]) => id)).toEqual([1, 3, 2]);
    const total = Math.log(Math.E + Math.E ** 3 * 2 + Math.E ** 2 + 1);
    expect(top[0]![1]).toBeCloseTo(3 - total, 6);
  });
});

describe('TextStream', () => {
  it('holds back what later tokens may change', () => {
    let printed = '';
    const stream = new TextStream((s) => (printed += s));
    stream.update('Hello ');
    expect(printed).toBe('Hello');
    stream.update('Hello, w\uFFFD');
    expect(printed).toBe('Hello, w');
    stream.update('Hello, wé');
    stream.finish('Hello, wé.');
    expect(printed).toBe('Hello, wé.');
  });
});

describe('errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quantscope-run-'));

  /** stories260K rewritten with changed metadata and without some tensors. */
  async function storiesVariant(name: string, change: { kv?: (kv: GgufKV) => GgufKV; drop?: string[] }): Promise<string> {
    const blob = await openAsBlob(MODEL);
    const file = await readGguf(blob);
    const tensors = await Promise.all(
      file.tensors.filter((t) => !change.drop?.includes(t.name)).map(async (t) => {
        const bytes = await readTensorBytes(blob, t);
        return { name: t.name, shape: t.shape, type: t.type, data: () => bytes };
      }),
    );
    const sink = new MemorySink();
    await writeGguf(sink, { version: 3, kv: file.kv.map(change.kv ?? ((kv) => kv)), tensors });
    const path = join(dir, name);
    writeFileSync(path, sink.bytes());
    return path;
  }

  let gpt2: string;
  let noDown: string;
  beforeAll(async () => {
    gpt2 = await storiesVariant('gpt2.gguf', { kv: (kv) => (kv.key === 'general.architecture' ? { ...kv, value: 'gpt2' } : kv) });
    noDown = await storiesVariant('no-down.gguf', { drop: ['blk.3.ffn_down.weight'] });
  });

  it('reports unusable models on stderr with exit code 1 and no output', () => {
    const cases: [string[], RegExp][] = [
      [['generate', 'missing.gguf', '--prompt', 'x', '-n', '4'], /missing\.gguf: no such model file/],
      [['perplexity', 'package.json', '--file', STORY], /package\.json: magic .*expected "GGUF"/],
      [['generate', gpt2, '--prompt', 'x', '-n', '4'], /architecture "gpt2" is not supported/],
      [['logits', noDown, '--text', 'Once'], /missing tensor blk\.3\.ffn_down\.weight/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('rejects bad arguments with exit code 2', () => {
    expect(cli('generate', MODEL, '-n', '4').stderr).toMatch(/missing --prompt/);
    expect(cli('generate', MODEL, '--prompt', 'x', '--temp', 'hot').code).toBe(2);
    expect(cli('tokenize', MODEL).stderr).toMatch(/exactly one of --text TEXT and --file F/);
    expect(cli('logits', MODEL, '--text', 'x', '--top-k', '0').code).toBe(2);
  });
});
