import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metaString, readGguf } from '../formats/gguf';
import { renderChat, type ChatMessage } from './chat-template';
import { TokenizerError } from './errors';

const TEMPLATES = '../shared/fixtures/chat-templates';
const template = (name: string): string => readFileSync(`${TEMPLATES}/${name}.jinja`, 'utf8');

const systemAndUser: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Hello!' },
];
const userAndAssistant: ChatMessage[] = [
  { role: 'user', content: 'Hello!' },
  { role: 'assistant', content: 'Hi there.' },
];

describe('renderChat', () => {
  it('renders the Llama 3.3 template', () => {
    const text = renderChat(template('meta-llama-Llama-3.3-70B-Instruct'), systemAndUser, {
      bos_token: '<|begin_of_text|>',
      add_generation_prompt: true,
    });
    expect(text).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        'Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n' +
        'You are a helpful assistant.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('renders the Qwen2.5 template, adding its default system prompt', () => {
    const text = renderChat(template('Qwen-Qwen2.5-7B-Instruct'), userAndAssistant);
    expect(text).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nHello!<|im_end|>\n' +
        '<|im_start|>assistant\nHi there.<|im_end|>\n',
    );
  });

  it('renders the template stored in a GGUF (Phi-3)', async () => {
    const file = await readGguf(await openAsBlob('../shared/fixtures/tokenizer/ggml-vocab-phi-3.gguf'));
    const stored = metaString(file, 'tokenizer.chat_template');
    expect(stored).toBeDefined();
    const text = renderChat(stored!, [{ role: 'user', content: 'Hello!' }], { bos_token: '<s>', add_generation_prompt: true });
    expect(text).toBe('<s><|user|>\nHello!<|end|>\n<|assistant|>\n');
  });

  it.each([
    'meta-llama-Llama-3.1-8B-Instruct',
    'Qwen-Qwen3-0.6B',
    'microsoft-Phi-3.5-mini-instruct',
    'mistralai-Mistral-Nemo-Instruct-2407',
    'deepseek-ai-DeepSeek-R1-Distill-Qwen-32B',
    'ibm-granite-granite-3.3-2B-Instruct',
    'HuggingFaceTB-SmolLM3-3B',
    'openai-gpt-oss-120b',
    'google-gemma-4-31B-it',
  ])('renders %s with the messages in it', (name) => {
    const text = renderChat(template(name), [...systemAndUser, { role: 'assistant', content: 'Hi there.' }, { role: 'user', content: 'Bye!' }], {
      bos_token: '<s>',
      eos_token: '</s>',
      add_generation_prompt: true,
    });
    for (const content of ['Hello!', 'Bye!']) expect(text).toContain(content);
  });

  it('reports template errors as TokenizerError', () => {
    expect(() => renderChat('{% for %}', userAndAssistant)).toThrow(TokenizerError);
    // Gemma 2 refuses system messages by raising an exception
    expect(() => renderChat(template('google-gemma-2-2b-it'), systemAndUser)).toThrow(/System role not supported/);
  });
});
