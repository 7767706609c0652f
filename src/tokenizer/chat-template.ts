// Chat templates: the Jinja template in a model's `tokenizer.chat_template`
// metadata, rendered over a conversation with @huggingface/jinja.

import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RenderChatOptions {
  bos_token?: string;
  eos_token?: string;
  /** End with the header that starts the assistant's reply. */
  add_generation_prompt?: boolean;
  /** Further variables some templates read (tools, date_string, enable_thinking, ...). */
  [variable: string]: unknown;
}

/** Renders a conversation with a Jinja chat template; template errors become TokenizerError. */
export function renderChat(template: string, messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  let compiled: Template;
  try {
    compiled = new Template(template);
  } catch (e) {
    throw new TokenizerError(`chat template does not parse: ${(e as Error).message}`);
  }
  try {
    return compiled.render({
      bos_token: '',
      eos_token: '',
      add_generation_prompt: false,
      ...options,
      messages,
    });
  } catch (e) {
    throw new TokenizerError(`chat template failed to render: ${(e as Error).message}`);
  }
}
