// The Generate panel's settings as the user edits them (plain strings), turned into
// what the generate worker takes: load settings (backend, threads, context length)
// and run settings (sampling, token budget, stop strings), with a clear message for
// the first thing that is wrong.

import type { BackendChoice } from '../backend/create-backend';
import type { PromptInput, RunOptions } from '../engine/session';
import type { ChatMessage } from '../tokenizer';

export type GenerateMode = 'prompt' | 'chat';

export interface GenerateForm {
  mode: GenerateMode;
  /** The prompt to continue, or in chat mode the next user message. */
  prompt: string;
  /** Chat mode: an optional system message that starts the conversation. */
  systemPrompt: string;
  greedy: boolean;
  temperature: string;
  topK: string;
  topP: string;
  minP: string;
  repeatPenalty: string;
  /** Empty: a new random seed for every run. */
  seed: string;
  maxTokens: string;
  /** One stop string per line; \n, \t and \\ stand for a newline, a tab and a backslash. */
  stopStrings: string;
  backend: BackendChoice;
  threads: number;
  /** Empty: the model's training context, at most DEFAULT_CONTEXT_LIMIT. */
  contextLength: string;
}

/** Sampling defaults as llama.cpp's command line tools have them. */
export const DEFAULT_GENERATE_FORM: GenerateForm = {
  mode: 'prompt',
  prompt: 'Once upon a time',
  systemPrompt: '',
  greedy: false,
  temperature: '0.8',
  topK: '40',
  topP: '0.95',
  minP: '0.05',
  repeatPenalty: '1',
  seed: '',
  maxTokens: '200',
  stopStrings: '',
  backend: 'auto',
  threads: 1,
  contextLength: '',
};

/** A context longer than this is only reserved when asked for: the KV cache grows with it. */
export const DEFAULT_CONTEXT_LIMIT = 4096;
/** llama.cpp's default when a model states no training context. */
const FALLBACK_TRAINING_CONTEXT = 2048;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** What a run needs: its options and, for the stats line, the seed it used. */
export interface RunSettings {
  options: RunOptions;
  seed: number;
}

function numberField(name: string, text: string, check: (x: number) => boolean, expected: string, integer = false): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || !check(value)) {
    throw new Error(`${name}: expected ${expected}, got "${text.trim()}"`);
  }
  return value;
}

/** A random 32-bit seed. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** Checks the run settings; an empty seed becomes a random one. */
export function parseRunSettings(form: GenerateForm, newSeed: () => number = randomSeed): Parsed<RunSettings> {
  try {
    const maxTokens = numberField('max tokens', form.maxTokens, (x) => x >= 1, 'a whole number of at least 1', true);
    const seed = form.seed.trim() === '' ? newSeed() : numberField('seed', form.seed, (x) => x >= 0 && x < 2 ** 32, 'a whole number from 0 to 4294967295', true);
    const repeatPenalty = numberField('repetition penalty', form.repeatPenalty, (x) => x > 0, 'a number above 0 (1 turns it off)');
    const sampling = form.greedy
      ? { temperature: 0, repeatPenalty, seed }
      : {
          temperature: numberField('temperature', form.temperature, (x) => x >= 0, 'a number of at least 0 (0 is greedy)'),
          topK: numberField('top-k', form.topK, (x) => x >= 0, 'a whole number (0 keeps every token)', true),
          topP: numberField('top-p', form.topP, (x) => x > 0 && x <= 1, 'a number above 0 and at most 1'),
          minP: numberField('min-p', form.minP, (x) => x >= 0 && x < 1, 'a number from 0 to below 1'),
          repeatPenalty,
          seed,
        };
    return { ok: true, value: { options: { sampling, maxTokens, stopStrings: parseStopStrings(form.stopStrings) }, seed } };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** One stop string per non-empty line, with \n, \t and \\ escapes (so that "\n\n" can be typed). */
export function parseStopStrings(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/\\(.)/g, (escape, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch === '\\' ? '\\' : escape)));
}

/** The context length to load with: the form's, or by default the training context up to DEFAULT_CONTEXT_LIMIT. */
export function parseContextLength(text: string, trainingContext: number | null): Parsed<number> {
  const limit = trainingContext ?? FALLBACK_TRAINING_CONTEXT;
  if (text.trim() === '') return { ok: true, value: Math.min(limit, DEFAULT_CONTEXT_LIMIT) };
  try {
    return { ok: true, value: numberField('context length', text, (x) => x >= 2 && x <= limit, `a whole number from 2 to ${limit} (the model's training context)`, true) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Thread counts the page can use: several only where workers can share memory (a cross-origin isolated page). */
export function threadChoices(hardwareConcurrency: number, crossOriginIsolated: boolean): number[] {
  const most = crossOriginIsolated ? Math.max(1, hardwareConcurrency) : 1;
  return Array.from({ length: most }, (_, i) => i + 1);
}

/** Half the cores by default: the page, the browser and other tabs need the rest. */
export function defaultThreads(hardwareConcurrency: number, crossOriginIsolated: boolean): number {
  return crossOriginIsolated ? Math.max(1, Math.floor(hardwareConcurrency / 2)) : 1;
}

/** Chat only where the model has a chat template to render it with. */
export function effectiveMode(mode: GenerateMode, hasChatTemplate: boolean): GenerateMode {
  return hasChatTemplate ? mode : 'prompt';
}

/** What the model is asked: the prompt itself, or the conversation so far plus the new user message. */
export function promptInput(mode: GenerateMode, form: Pick<GenerateForm, 'prompt' | 'systemPrompt'>, conversation: readonly ChatMessage[]): PromptInput {
  if (mode === 'prompt') return { kind: 'text', text: form.prompt };
  const system: ChatMessage[] = form.systemPrompt.trim() ? [{ role: 'system', content: form.systemPrompt }] : [];
  return { kind: 'chat', messages: [...system, ...conversation, { role: 'user', content: form.prompt }] };
}
