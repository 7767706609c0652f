import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GENERATE_FORM,
  defaultThreads,
  effectiveMode,
  parseContextLength,
  parseRunSettings,
  parseStopStrings,
  promptInput,
  threadChoices,
  type GenerateForm,
} from './generate-form';

const form = (patch: Partial<GenerateForm>): GenerateForm => ({ ...DEFAULT_GENERATE_FORM, ...patch });
const errorOf = (patch: Partial<GenerateForm>) => {
  const parsed = parseRunSettings(form(patch), () => 7);
  return parsed.ok ? null : parsed.error;
};

describe('parseRunSettings', () => {
  it('turns the defaults into llama.cpp’s sampling chain with a fresh seed', () => {
    expect(parseRunSettings(DEFAULT_GENERATE_FORM, () => 1234)).toEqual({
      ok: true,
      value: {
        options: { sampling: { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, seed: 1234 }, maxTokens: 200, stopStrings: [] },
        seed: 1234,
      },
    });
  });

  it('samples greedily without the truncation settings, and keeps a typed seed', () => {
    const parsed = parseRunSettings(form({ greedy: true, temperature: 'not used', seed: ' 42 ', repeatPenalty: '1.1', maxTokens: '64', stopStrings: 'The end\n\\n\\n' }), () => 7);
    expect(parsed).toEqual({
      ok: true,
      value: { options: { sampling: { temperature: 0, repeatPenalty: 1.1, seed: 42 }, maxTokens: 64, stopStrings: ['The end', '\n\n'] }, seed: 42 },
    });
  });

  it('names the field that is wrong', () => {
    expect(errorOf({ maxTokens: '0' })).toBe('max tokens: expected a whole number of at least 1, got "0"');
    expect(errorOf({ maxTokens: '2.5' })).toMatch(/^max tokens:/);
    expect(errorOf({ temperature: '-1' })).toMatch(/^temperature: expected a number of at least 0/);
    expect(errorOf({ topK: 'ten' })).toMatch(/^top-k:/);
    expect(errorOf({ topP: '0' })).toMatch(/^top-p: expected a number above 0 and at most 1/);
    expect(errorOf({ minP: '1' })).toMatch(/^min-p:/);
    expect(errorOf({ repeatPenalty: '0' })).toMatch(/^repetition penalty:/);
    expect(errorOf({ seed: '-3' })).toMatch(/^seed:/);
    expect(errorOf({ seed: String(2 ** 32) })).toMatch(/^seed:/);
    expect(errorOf({ temperature: '' })).toBe('temperature: expected a number of at least 0 (0 is greedy), got ""');
  });
});

describe('parseStopStrings', () => {
  it('reads one stop string per line with escapes', () => {
    expect(parseStopStrings('')).toEqual([]);
    expect(parseStopStrings('User:\n\n\\n\\n\nTab\\there\nback\\\\slash\nodd \\q')).toEqual(['User:', '\n\n', 'Tab\there', 'back\\slash', 'odd \\q']);
    expect(parseStopStrings(' padded ')).toEqual([' padded ']);
  });
});

describe('parseContextLength', () => {
  it('defaults to the training context, at most 4096', () => {
    expect(parseContextLength('', 2048)).toEqual({ ok: true, value: 2048 });
    expect(parseContextLength(' ', 131072)).toEqual({ ok: true, value: 4096 });
    expect(parseContextLength('', null)).toEqual({ ok: true, value: 2048 });
  });

  it('accepts up to the training context', () => {
    expect(parseContextLength('512', 2048)).toEqual({ ok: true, value: 512 });
    expect(parseContextLength('32768', 131072)).toEqual({ ok: true, value: 32768 });
    expect(parseContextLength('4096', 2048)).toEqual({ ok: false, error: 'context length: expected a whole number from 2 to 2048 (the model\'s training context), got "4096"' });
    expect(parseContextLength('1', 2048).ok).toBe(false);
  });
});

describe('threads', () => {
  it('offers every core only to a cross-origin isolated page, and defaults to half of them', () => {
    expect(threadChoices(8, true)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(threadChoices(8, false)).toEqual([1]);
    expect(defaultThreads(8, true)).toBe(4);
    expect(defaultThreads(2, true)).toBe(1);
    expect(defaultThreads(1, true)).toBe(1);
    expect(defaultThreads(8, false)).toBe(1);
  });
});

describe('promptInput', () => {
  it('asks with the prompt, or the conversation and the new message', () => {
    const chat = { prompt: 'How are you?', systemPrompt: 'Be brief.' };
    expect(promptInput('prompt', chat, [])).toEqual({ kind: 'text', text: 'How are you?' });
    expect(promptInput('chat', chat, [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }])).toEqual({
      kind: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'How are you?' },
      ],
    });
    expect(promptInput('chat', { prompt: 'x', systemPrompt: '  ' }, [])).toEqual({ kind: 'chat', messages: [{ role: 'user', content: 'x' }] });
  });

  it('chats only with a chat template', () => {
    expect(effectiveMode('chat', true)).toBe('chat');
    expect(effectiveMode('chat', false)).toBe('prompt');
    expect(effectiveMode('prompt', true)).toBe('prompt');
  });
});
