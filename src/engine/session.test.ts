// The playground's generation sessions: llama.cpp's greedy continuation on the real
// stories260K model, streaming, stop strings and stop reasons, cancellation, chat
// prompts. Exact stop conditions use a scripted model over the same tokenizer.

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendError, type BackendKvCache } from '../backend/backend';
import { WasmBackend } from '../backend/wasm/wasm-backend';
import { FormatError } from '../formats/errors';
import { readGguf } from '../formats/gguf';
import { ModelError } from '../model/errors';
import type { LlamaHparams } from '../model/hparams';
import { loadModel, type CausalLM } from '../model/model';
import { tokenizerFromGguf, TokenizerError, type Tokenizer } from '../tokenizer';
import { EngineError } from './errors';
import {
  chatPromptTokens,
  describeFailure,
  findStopString,
  ModelSession,
  partialStopLength,
  TokenTextDecoder,
  type RunOptions,
  type StreamUpdate,
} from './session';

const STORIES = '../shared/fixtures/models/stories260K.gguf';
const GREEDY: RunOptions = { sampling: { temperature: 0 }, maxTokens: 64, stopStrings: [] };

let model: CausalLM;
let tokenizer: Tokenizer;
let golden: { prompt: string; prompt_ids: number[]; tokens: number[]; text: string };

beforeAll(async () => {
  const blob = await openAsBlob(STORIES);
  const gguf = await readGguf(blob);
  tokenizer = tokenizerFromGguf(gguf);
  model = await loadModel(blob, await WasmBackend.create());
  golden = JSON.parse(await readFile('../shared/fixtures/golden/stories260K-F32.ref.json', 'utf8')).greedy;
});

/** The byte tokens of the stories260K vocabulary: token 3 + b is the byte b. */
const byteToken = (b: number) => 3 + b;
const utf8Tokens = (text: string) => Array.from(new TextEncoder().encode(text), byteToken);

/** A model that "predicts" a fixed script of tokens (then repeats the last one), over the stories260K vocabulary. */
function scriptedModel(script: number[]): CausalLM {
  const hparams = { nVocab: 512, nCtxTrain: 2048, nLayers: 1, nKvHeads: 1, headDim: 1, eosToken: 2 } as LlamaHparams;
  return {
    hparams,
    backend: {} as CausalLM['backend'],
    maxBatch: 64,
    createCache: (nCtx: number): BackendKvCache => ({ nLayers: 1, nCtx, kvDim: 1 }),
    async forward(tokens, startPos, _cache, _outputs) {
      // The logits after position p make script[p - promptLength + 1] the argmax; the prompt here is always [BOS].
      const next = script[Math.min(startPos + tokens.length - 1, script.length - 1)]!;
      const logits = new Float32Array(512);
      logits[next] = 10;
      return logits;
    },
  };
}

const BOS_PROMPT = { kind: 'text', text: '' } as const;

describe('ModelSession on stories260K', () => {
  it('continues the golden prompt with llama.cpp’s 64 greedy tokens, streamed in order', async () => {
    const session = new ModelSession(model, tokenizer, undefined, 256);
    expect(session.promptTokens({ kind: 'text', text: golden.prompt })).toEqual(golden.prompt_ids);
    const updates: StreamUpdate[] = [];
    const result = await session.run({ kind: 'text', text: golden.prompt }, GREEDY, { onUpdate: (u) => updates.push(u), updateIntervalMs: 0 });
    expect(result.tokens).toEqual(golden.tokens);
    expect(result.stopped).toBe('max-tokens');
    // Pieces are joined as they are (the first keeps its space); llama.cpp's detokenizer drops that leading space.
    expect(result.text).toBe(` ${golden.text}`);
    expect(updates.flatMap((u) => u.tokens)).toEqual(result.tokens);
    expect(updates.map((u) => u.text).join('')).toBe(result.text);
    const { timing } = result;
    expect(timing).toMatchObject({ promptTokens: golden.prompt_ids.length, generatedTokens: 64 });
    expect(timing.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(timing.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(timing.decodeTokensPerSecond).toBeGreaterThan(0);

    // The reserved cache is reused: a second run gives the same tokens.
    expect((await session.run({ kind: 'text', text: golden.prompt }, GREEDY)).tokens).toEqual(golden.tokens);
  });

  it('stops at a stop string without ever showing it, even when it spans tokens', async () => {
    const session = new ModelSession(model, tokenizer, undefined, 256);
    const shown: string[] = [];
    const stop = 'ball. The';
    const result = await session.run({ kind: 'text', text: golden.prompt }, { ...GREEDY, stopStrings: [stop, 'never'] }, { onUpdate: (u) => shown.push(u.text), updateIntervalMs: 0 });
    expect(result.stopped).toBe('stop-string');
    expect(result.text).toBe(' there was a big, red ');
    expect(shown.join('')).toBe(result.text);
    expect(result.tokens.length).toBeLessThan(golden.tokens.length);
    expect(result.tokens).toEqual(golden.tokens.slice(0, result.tokens.length));
  });

  it('is cancelled between tokens, from the event loop, with what it generated', async () => {
    const session = new ModelSession(model, tokenizer, undefined, 2048);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const result = await session.run(BOS_PROMPT, { ...GREEDY, maxTokens: 2000 }, { signal: controller.signal });
    expect(result.stopped).toBe('cancelled');
    expect(result.tokens.length).toBeGreaterThan(0);
    expect(result.tokens.length).toBeLessThan(2000);
    expect(result.text).toBe(result.tokens.map((t) => tokenizer.tokenToPiece(t, false)).join(''));
  });

  it('refuses a prompt that does not fit the context, and bad settings', async () => {
    const session = new ModelSession(model, tokenizer, undefined, 16);
    await expect(session.run({ kind: 'text', text: golden.prompt }, GREEDY)).rejects.toThrow(/prompt has 54 tokens and the context holds 16/);
    await expect(session.run(BOS_PROMPT, { ...GREEDY, maxTokens: 0 })).rejects.toThrow(EngineError);
    expect(() => session.promptTokens({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }] })).toThrow(/no chat template/);
    expect(() => new ModelSession(model, tokenizer, undefined, 1)).toThrow(EngineError);
  });

});

describe('ModelSession stop reasons (scripted model)', () => {
  const run = (script: number[], options: Partial<RunOptions> = {}, nCtx = 64) =>
    new ModelSession(scriptedModel(script), tokenizer, undefined, nCtx).run(BOS_PROMPT, { ...GREEDY, ...options });

  it('ends at an end-of-generation token, which adds no text', async () => {
    const result = await run([...utf8Tokens('Hi'), 2, ...utf8Tokens('more')]);
    expect(result).toMatchObject({ stopped: 'eos', text: 'Hi', tokens: [...utf8Tokens('Hi'), 2] });
  });

  it('ends at the token budget or when the context is full', async () => {
    expect(await run(utf8Tokens('abcdef'), { maxTokens: 3 })).toMatchObject({ stopped: 'max-tokens', text: 'abc' });
    // A context of 4: BOS and three tokens fill it; a fourth is sampled from the last logits.
    expect(await run(utf8Tokens('abcdef'), { maxTokens: 10 }, 4)).toMatchObject({ stopped: 'context-full', text: 'abcd' });
  });

  it('never streams half of a character split across tokens', async () => {
    const session = new ModelSession(scriptedModel(utf8Tokens('a€é😀')), tokenizer, undefined, 64);
    const shown: string[] = [];
    const result = await session.run(BOS_PROMPT, { ...GREEDY, maxTokens: 10 }, { onUpdate: (u) => shown.push(u.text), updateIntervalMs: 0 });
    expect(result.text).toBe('a€é😀');
    expect(shown.join('')).toBe('a€é😀');
    expect(shown.some((s) => s.includes('\uFFFD'))).toBe(false);
  });

  it('shows an incomplete last character as U+FFFD', async () => {
    const euro = utf8Tokens('€');
    expect(await run([...utf8Tokens('x'), euro[0]!, euro[1]!, 2])).toMatchObject({ stopped: 'eos', text: 'x\uFFFD' });
  });

  it('stops at a stop string completed by the final partial character', async () => {
    const result = await run(utf8Tokens('ab\n\nc'), { maxTokens: 5, stopStrings: ['\n\n'] });
    expect(result).toMatchObject({ stopped: 'stop-string', text: 'ab' });
  });

  it('can be cancelled right after a token', async () => {
    const controller = new AbortController();
    const session = new ModelSession(scriptedModel(utf8Tokens('abcdef')), tokenizer, undefined, 64);
    const result = await session.run(BOS_PROMPT, GREEDY, { signal: controller.signal, onUpdate: () => controller.abort(), updateIntervalMs: 0 });
    expect(result).toMatchObject({ stopped: 'cancelled', text: 'a', tokens: [byteToken(0x61)] });
  });
});

describe('chat prompts', () => {
  const LLAMA2 = "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content }} [/INST]{% else %}{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}";

  it('renders the template without doubling the BOS that the tokenizer adds', () => {
    const ids = chatPromptTokens(tokenizer, LLAMA2, [{ role: 'user', content: 'Hello' }]);
    expect(ids[0]).toBe(tokenizer.bos);
    expect(ids[1]).not.toBe(tokenizer.bos);
    expect(ids).toEqual(tokenizer.encode('[INST] Hello [/INST]'));
  });

  it('keeps EOS texts between messages, parsed as tokens', () => {
    const ids = chatPromptTokens(tokenizer, LLAMA2, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Yo' },
      { role: 'user', content: 'Ok' },
    ]);
    expect(ids.filter((id) => id === tokenizer.eos)).toHaveLength(1);
  });

  it('runs a conversation through the session', () => {
    const session = new ModelSession(scriptedModel([2]), tokenizer, LLAMA2, 64);
    expect(session.promptTokens({ kind: 'chat', messages: [{ role: 'user', content: 'Hello' }] })).toEqual(tokenizer.encode('[INST] Hello [/INST]'));
  });
});

describe('helpers', () => {
  it('finds the first stop string, searching only what is new', () => {
    expect(findStopString('one two three', ['three', 'two'])).toBe(4);
    expect(findStopString('one two', ['x'])).toBe(-1);
    expect(findStopString('abcXY', ['cX'], 3)).toBe(2);
    expect(findStopString('abcXY', ['ab'], 3)).toBe(-1);
    expect(findStopString('abc', [''])).toBe(-1);
  });

  it('measures text that may begin a stop string', () => {
    expect(partialStopLength('Hello\n', ['\n\n'])).toBe(1);
    expect(partialStopLength('the end', ['ending', 'x'])).toBe(3);
    expect(partialStopLength('abc', ['abc'])).toBe(0); // a whole stop string is found, not held back
    expect(partialStopLength('abc', [])).toBe(0);
  });

  it('decodes UTF-8 across token boundaries', () => {
    const decoder = new TokenTextDecoder(tokenizer);
    const euro = utf8Tokens('€');
    expect(euro.map((t) => decoder.push(t))).toEqual(['', '', '€']);
    expect(decoder.push(byteToken(0xef))).toBe('');
    expect(decoder.finish()).toBe('\uFFFD');
  });

  it('explains failures in plain words', () => {
    expect(describeFailure(new ModelError('architecture "gpt2" is not supported'))).toBe('This model cannot run here: architecture "gpt2" is not supported');
    expect(describeFailure(new TokenizerError('unknown tokenizer model "x"'))).toMatch(/^This model's tokenizer is not supported/);
    expect(describeFailure(new BackendError('out of WebAssembly memory'))).toMatch(/^The compute backend failed/);
    expect(describeFailure(new FormatError('header', 0, 'bad magic'))).toMatch(/^The file is not a readable GGUF model: header at byte 0/);
    expect(describeFailure(new EngineError('the prompt is empty'))).toBe('The prompt is empty');
  });
});
