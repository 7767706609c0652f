// A loaded model ready to answer prompts, as the playground's Generate panel uses it:
// prompt text or a chat conversation in, streamed text out, with stop strings,
// cancellation, a stop reason and speeds. One KV cache is reserved when the session
// is made and reused by every run, so a context that does not fit in memory fails
// up front and repeated runs do not allocate again.

import { BackendError } from '../backend/backend';
import { FormatError } from '../formats/errors';
import { ModelError } from '../model/errors';
import type { CausalLM } from '../model/model';
import { renderChat, TokenizerError, type ChatMessage, type Tokenizer } from '../tokenizer';
import { EngineError } from './errors';
import { generate } from './generate';
import { KvCache } from './kv-cache';
import type { SamplingOptions } from './sampling';

export type PromptInput = { kind: 'text'; text: string } | { kind: 'chat'; messages: ChatMessage[] };

/** Why a run ended: an end-of-generation token, a stop string, the token budget, the context, or the user. */
export type StopReason = 'eos' | 'stop-string' | 'max-tokens' | 'context-full' | 'cancelled';

export interface RunOptions {
  readonly sampling: SamplingOptions;
  /** Tokens to generate at most (at least 1). */
  readonly maxTokens: number;
  /** The run stops where the text first contains one of these; the text ends before it. */
  readonly stopStrings: readonly string[];
}

/** What a run added since the previous update. */
export interface StreamUpdate {
  readonly text: string;
  readonly tokens: number[];
}

export interface RunHooks {
  /** Checked between tokens: once aborted, the run ends with what it has and the reason 'cancelled'. */
  readonly signal?: AbortSignal;
  /** Called with new text and tokens at most every `updateIntervalMs` (and with the first token, and at the end). */
  readonly onUpdate?: (update: StreamUpdate) => void;
  readonly updateIntervalMs?: number;
}

export interface RunTiming {
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** From the start of the run (tokenizing included) to the first generated token. */
  readonly timeToFirstTokenMs: number;
  /** Prompt tokens per second of the time to the first token. */
  readonly prefillTokensPerSecond: number;
  /** Tokens per second after the first one; null with fewer than two tokens. */
  readonly decodeTokensPerSecond: number | null;
  readonly totalMs: number;
}

export interface RunResult {
  readonly text: string;
  readonly tokens: number[];
  readonly stopped: StopReason;
  readonly timing: RunTiming;
}

/** Default time between stream updates: often enough to look live, rarely enough not to flood the page. */
const UPDATE_INTERVAL_MS = 50;
/** Longest stretch of work between two looks at the event loop (where a cancel request arrives). */
const YIELD_INTERVAL_MS = 10;

export class ModelSession {
  private readonly cache: KvCache;
  private readonly stopTokens: number[];

  /**
   * Reserves the KV cache for `nCtx` positions (a BackendError when it does not fit).
   * `chatTemplate` is the model's tokenizer.chat_template, if it has one.
   */
  constructor(
    private readonly model: CausalLM,
    readonly tokenizer: Tokenizer,
    readonly chatTemplate: string | undefined,
    readonly nCtx: number,
  ) {
    if (!Number.isInteger(nCtx) || nCtx < 2) throw new EngineError(`the context length must be an integer of at least 2, got ${nCtx}`);
    this.cache = new KvCache(model, nCtx);
    this.stopTokens = endOfGenerationTokens(tokenizer);
  }

  /** The prompt's tokens: text tokenized as it is (BOS added as the model asks), or the conversation rendered with the chat template. */
  promptTokens(input: PromptInput): number[] {
    if (input.kind === 'text') return this.tokenizer.encode(input.text);
    if (this.chatTemplate === undefined) throw new EngineError('this model has no chat template: use a plain prompt');
    return chatPromptTokens(this.tokenizer, this.chatTemplate, input.messages);
  }

  async run(input: PromptInput, options: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
    const start = performance.now();
    if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) throw new EngineError(`the number of tokens to generate must be a positive integer, got ${options.maxTokens}`);
    const prompt = this.promptTokens(input);
    if (prompt.length === 0) throw new EngineError('the prompt is empty');
    if (prompt.length >= this.nCtx) {
      throw new EngineError(`the prompt has ${prompt.length} tokens and the context holds ${this.nCtx}: shorten the prompt or load the model with a longer context`);
    }

    const stops = options.stopStrings.filter((s) => s !== '');
    const decoder = new TokenTextDecoder(this.tokenizer);
    const tokens: number[] = [];
    let text = '';
    let stopped: StopReason | null = null;
    let firstTokenAt = start;
    let lastTokenAt = start;

    const intervalMs = hooks.updateIntervalMs ?? UPDATE_INTERVAL_MS;
    let sentText = 0;
    let sentTokens = 0;
    let lastUpdate = -Infinity;
    // Text that may turn out to begin a stop string is held back until it is known not to.
    const update = (visibleText: string) => {
      lastUpdate = performance.now();
      if (visibleText.length === sentText && tokens.length === sentTokens) return;
      hooks.onUpdate?.({ text: visibleText.slice(sentText), tokens: tokens.slice(sentTokens) });
      sentText = visibleText.length;
      sentTokens = tokens.length;
    };

    const run = generate(this.model, prompt, { ...options.sampling, maxTokens: options.maxTokens, stopTokens: this.stopTokens, cache: this.cache });
    let lastYield = performance.now();
    for (let step = await run.next(); ; step = await run.next()) {
      if (step.done) {
        const last = tokens[tokens.length - 1];
        stopped = last !== undefined && this.tokenizer.isEog(last) ? 'eos' : tokens.length >= options.maxTokens ? 'max-tokens' : 'context-full';
        break;
      }
      lastTokenAt = performance.now();
      if (tokens.length === 0) firstTokenAt = lastTokenAt;
      tokens.push(step.value.token);
      const checkFrom = text.length;
      text += decoder.push(step.value.token);
      const stopAt = findStopString(text, stops, checkFrom);
      if (stopAt >= 0) {
        text = text.slice(0, stopAt);
        stopped = 'stop-string';
        break;
      }
      if (tokens.length === 1 || lastTokenAt - lastUpdate >= intervalMs) update(text.slice(0, text.length - partialStopLength(text, stops)));
      if (performance.now() - lastYield >= YIELD_INTERVAL_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (hooks.signal?.aborted) {
        stopped = 'cancelled';
        break;
      }
    }
    if (stopped !== 'stop-string') {
      // A character left incomplete at the end is shown as U+FFFD, as it is.
      const checkFrom = text.length;
      text += decoder.finish();
      const stopAt = findStopString(text, stops, checkFrom);
      if (stopAt >= 0) text = text.slice(0, stopAt);
    }
    update(text);

    const decodeMs = lastTokenAt - firstTokenAt;
    const timeToFirstTokenMs = firstTokenAt - start;
    return {
      text,
      tokens,
      stopped,
      timing: {
        promptTokens: prompt.length,
        generatedTokens: tokens.length,
        timeToFirstTokenMs,
        prefillTokensPerSecond: timeToFirstTokenMs > 0 ? (prompt.length * 1000) / timeToFirstTokenMs : 0,
        decodeTokensPerSecond: tokens.length >= 2 && decodeMs > 0 ? ((tokens.length - 1) * 1000) / decodeMs : null,
        totalMs: performance.now() - start,
      },
    };
  }
}

// ---- tokens and text ----------------------------------------------------------

/** Every token that ends a generation (EOS, EOT, <|im_end|>, …). */
export function endOfGenerationTokens(tokenizer: Tokenizer): number[] {
  return Array.from({ length: tokenizer.vocabSize }, (_, id) => id).filter((id) => tokenizer.isEog(id));
}

/** Whether the tokenizer starts every text with BOS. */
export function addsBos(tokenizer: Tokenizer): boolean {
  return tokenizer.bos !== undefined && tokenizer.encode('')[0] === tokenizer.bos;
}

/** Whether the tokenizer ends every text with EOS. */
function addsEos(tokenizer: Tokenizer): boolean {
  const special = tokenizer.encode('');
  const bosCount = addsBos(tokenizer) ? 1 : 0;
  return tokenizer.eos !== undefined && special.length > bosCount && special[special.length - 1] === tokenizer.eos;
}

/**
 * A conversation as llama.cpp prompts with it: rendered by the template (ending with the
 * header of the assistant's reply), without the BOS or EOS text the tokenizer adds itself
 * (so they are not doubled), then tokenized with special-token texts parsed.
 */
export function chatPromptTokens(tokenizer: Tokenizer, template: string, messages: readonly ChatMessage[]): number[] {
  const bosText = tokenizer.bos === undefined ? '' : tokenizer.tokenToPiece(tokenizer.bos);
  const eosText = tokenizer.eos === undefined ? '' : tokenizer.tokenToPiece(tokenizer.eos);
  let text = renderChat(template, messages, { bos_token: bosText, eos_token: eosText, add_generation_prompt: true });
  if (bosText && addsBos(tokenizer) && text.startsWith(bosText)) text = text.slice(bosText.length);
  if (eosText && addsEos(tokenizer) && text.endsWith(eosText)) text = text.slice(0, -eosText.length);
  return tokenizer.encode(text);
}

/**
 * The text of generated tokens as they arrive: each token's bytes (control tokens
 * render as nothing), decoded as UTF-8 with a character split across tokens held back
 * until its last byte arrives, as llama.cpp's server streams.
 */
export class TokenTextDecoder {
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(private readonly tokenizer: Pick<Tokenizer, 'tokenToBytes'>) {}

  /** The text this token completes (empty while a character is incomplete). */
  push(token: number): string {
    return this.utf8.decode(this.tokenizer.tokenToBytes(token, false), { stream: true });
  }

  /** An incomplete character left at the end, as U+FFFD; empty when there is none. */
  finish(): string {
    return this.utf8.decode();
  }
}

/**
 * Where the first stop string starts in `text`, or -1. Text before `from` was searched
 * already, so only occurrences that reach past it are looked for.
 */
export function findStopString(text: string, stops: readonly string[], from = 0): number {
  let first = -1;
  for (const stop of stops) {
    if (stop === '') continue;
    const at = text.indexOf(stop, Math.max(0, from - stop.length + 1));
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  return first;
}

/** Length of the longest end of `text` that a stop string starts with (text that must not be shown yet). */
export function partialStopLength(text: string, stops: readonly string[]): number {
  let longest = 0;
  for (const stop of stops) {
    for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(stop.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}

/** Lets queued events (a cancel request) run. A message round trip, unlike setTimeout, is not clamped to 4 ms. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

// ---- memory, loading, errors --------------------------------------------------

/** A failure in plain words for the page: what is wrong with the model or the request, not which module noticed. */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof FormatError) return `The file is not a readable GGUF model: ${message}`;
  if (error instanceof TokenizerError) return `This model's tokenizer is not supported: ${message}`;
  if (error instanceof ModelError) return `This model cannot run here: ${message}`;
  if (error instanceof BackendError) return `The compute backend failed: ${message}`;
  return `${message.charAt(0).toUpperCase()}${message.slice(1)}`;
}
