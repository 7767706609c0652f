// The commands that run a model on the WASM backend: generate, tokenize, perplexity
// and logits. Each opens the GGUF file and its tokenizer first, so a missing file,
// an unknown tokenizer or an unsupported architecture is reported before any long work.

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { WasmBackend } from '../backend/wasm/wasm-backend';
import { logProbOf, perplexity } from '../engine/evaluate';
import { generate, type GenerationStats } from '../engine/generate';
import { addsBos, endOfGenerationTokens } from '../engine/session';
import { readGguf } from '../formats/gguf';
import { loadModel, type CausalLM } from '../model/model';
import { tokenizerFromGguf, type Tokenizer } from '../tokenizer';
import { option, UsageError, type ParsedArgs } from './args';

type Print = (s: string) => void;

interface ModelFile {
  readonly blob: Blob;
  readonly tokenizer: Tokenizer;
}

/** Reads a model's header and builds its tokenizer; weights are not read yet. */
async function openModelFile(args: ParsedArgs): Promise<ModelFile> {
  const [path, ...extra] = args.positional;
  if (path === undefined) throw new UsageError('missing the MODEL file');
  if (extra.length > 0) throw new UsageError(`expected one MODEL file, got also ${extra.join(' ')}`);
  let blob: Blob;
  try {
    blob = await openAsBlob(path);
  } catch {
    throw new Error(`${path}: no such model file`);
  }
  try {
    return { blob, tokenizer: tokenizerFromGguf(await readGguf(blob)) };
  } catch (e) {
    throw new Error(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Uploads the weights to a fresh WASM backend with --threads N threads (default 1); checks the architecture and every tensor first. */
async function loadWeights(file: ModelFile, args: ParsedArgs): Promise<CausalLM> {
  const threads = numberOption(args, 'threads', true) ?? 1;
  if (threads < 1) throw new UsageError(`--threads must be at least 1, got ${threads}`);
  return loadModel(file.blob, await WasmBackend.create({ threads }));
}

/** The input text: --text, or the contents of --file. */
async function inputText(args: ParsedArgs): Promise<string> {
  const text = option(args, 'text');
  const path = option(args, 'file');
  if ((text === undefined) === (path === undefined)) throw new UsageError('give the input as exactly one of --text TEXT and --file F');
  return text ?? readFile(path!, 'utf8');
}

/** An optional numeric option; `integer` rejects fractions. */
function numberOption(args: ParsedArgs, name: string, integer = false): number | undefined {
  const raw = option(args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} needs ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  return value;
}

// ---- tokenize ---------------------------------------------------------------

export async function tokenizeCommand(args: ParsedArgs, out: Print): Promise<number> {
  const { tokenizer } = await openModelFile(args);
  const ids = tokenizer.encode(await inputText(args));
  const pieces = ids.map((id) => tokenizer.tokenToPiece(id));
  if (args.switches.has('json')) out(JSON.stringify({ ids, pieces }));
  else out(ids.map((id, i) => `${String(id).padStart(6)} -> '${pieces[i]}'`).join('\n'));
  return 0;
}

// ---- generate ---------------------------------------------------------------

/** `-n N` is llama.cpp's spelling; the argument parser leaves it among the positional arguments. */
function takeShortN(args: ParsedArgs): ParsedArgs {
  const at = args.positional.indexOf('-n');
  if (at < 0) return args;
  const value = args.positional[at + 1];
  if (value === undefined) throw new UsageError('option -n needs a value');
  const options = new Map(args.options);
  options.set('n-predict', [...(options.get('n-predict') ?? []), value]);
  return { ...args, positional: args.positional.filter((_, i) => i !== at && i !== at + 1), options };
}

export async function generateCommand(parsed: ParsedArgs, out: Print, err: Print): Promise<number> {
  const args = takeShortN(parsed);
  const file = await openModelFile(args);
  const prompt = option(args, 'prompt');
  if (prompt === undefined) throw new UsageError('missing --prompt TEXT');
  const nPredict = numberOption(args, 'n-predict', true) ?? -1;
  if (nPredict < -1) throw new UsageError(`-n must be -1 (unlimited) or a count of tokens, got ${nPredict}`);
  const seed = numberOption(args, 'seed', true) ?? Math.floor(Math.random() * 2 ** 32);
  const sampling = {
    temperature: numberOption(args, 'temp') ?? 0.8,
    topK: numberOption(args, 'top-k', true) ?? 40,
    topP: numberOption(args, 'top-p') ?? 0.95,
    minP: numberOption(args, 'min-p') ?? 0.05,
    repeatPenalty: numberOption(args, 'repeat-penalty') ?? 1,
    seed,
  };

  const { tokenizer } = file;
  const promptIds = tokenizer.encode(prompt);
  const model = await loadWeights(file, args);
  const contextLimit = Math.max(model.hparams.nCtxTrain, promptIds.length + 1);
  const maxTokens = nPredict === -1 ? contextLimit - promptIds.length : nPredict;
  const stopTokens = endOfGenerationTokens(tokenizer);

  const json = args.switches.has('json');
  const tokens: number[] = [];
  const stream = new TextStream((s) => process.stdout.write(s));
  const run = generate(model, promptIds, { ...sampling, maxTokens, stopTokens });
  let step = await run.next();
  for (; !step.done; step = await run.next()) {
    tokens.push(step.value.token);
    if (!json) stream.update(tokenizer.decode(tokens));
  }
  const text = tokenizer.decode(tokens);
  const timings = timingsOf(step.value);
  if (json) {
    out(JSON.stringify({ prompt_ids: promptIds, tokens, text, seed, timings }));
  } else {
    stream.finish(text);
    out('');
    err(
      `prompt: ${promptIds.length} tokens in ${timings.prompt_ms.toFixed(1)} ms (${timings.prompt_tokens_per_s.toFixed(1)} tokens/s); ` +
        `generated: ${tokens.length} tokens in ${timings.decode_ms.toFixed(1)} ms (${timings.decode_tokens_per_s.toFixed(1)} tokens/s); seed ${seed}`,
    );
  }
  return 0;
}

/** Speeds as llama.cpp reports them; decode covers everything after the prompt (sampling included). */
function timingsOf(stats: GenerationStats) {
  const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : 0);
  return {
    prompt_ms: stats.promptMs,
    prompt_tokens_per_s: perSecond(stats.promptTokens, stats.promptMs),
    decode_ms: stats.generateMs,
    decode_tokens_per_s: perSecond(stats.generatedTokens, stats.generateMs),
  };
}

/**
 * Prints a growing decoded text as it is generated. The tail that later tokens may
 * still change is held back: an incomplete UTF-8 character (decoded as U+FFFD) and
 * trailing spaces and apostrophes, which the tokenizer's space clean-up may rewrite.
 */
export class TextStream {
  private printed = '';

  constructor(private readonly write: (s: string) => void) {}

  update(text: string): void {
    this.emit(text.replace(/[ '\uFFFD]+$/u, ''));
  }

  /** Prints the rest of the final text. */
  finish(text: string): void {
    this.emit(text);
  }

  private emit(stable: string): void {
    if (stable.length <= this.printed.length || !stable.startsWith(this.printed)) return;
    this.write(stable.slice(this.printed.length));
    this.printed = stable;
  }
}

// ---- perplexity -------------------------------------------------------------

export async function perplexityCommand(args: ParsedArgs, out: Print, err: Print): Promise<number> {
  const file = await openModelFile(args);
  const text = await inputText(args);
  const requestedCtx = numberOption(args, 'ctx', true);
  const tokens = file.tokenizer.encode(text);
  const model = await loadWeights(file, args);
  const nCtx = requestedCtx ?? model.hparams.nCtxTrain;
  const json = args.switches.has('json');

  const perChunk: number[] = [];
  const start = performance.now();
  const result = await perplexity(model, tokens, {
    nCtx,
    // llama-perplexity puts BOS at the start of each chunk when the tokenizer adds one.
    bosToken: addsBos(file.tokenizer) ? file.tokenizer.bos : undefined,
    onChunk: (chunk, _chunks, running) => {
      perChunk.push(running);
      if (!json) process.stdout.write(`[${chunk + 1}]${running.toFixed(4)},`);
    },
  });
  const ms = performance.now() - start;
  if (json) {
    out(JSON.stringify({ ppl: result.perplexity, nll: result.nll, ctx: nCtx, tokens: tokens.length, chunks: result.chunks, tokens_scored: result.scored, per_chunk: perChunk, ms }));
  } else {
    out(`\nPPL = ${result.perplexity.toFixed(4)}  (${result.chunks} chunks of ${nCtx} tokens, ${result.scored} tokens scored)`);
    err(`evaluated ${result.chunks * nCtx} tokens in ${ms.toFixed(1)} ms (${((result.chunks * nCtx * 1000) / ms).toFixed(1)} tokens/s)`);
  }
  return 0;
}

// ---- logits -----------------------------------------------------------------

/** The k most likely next tokens after one position, as [id, log-probability], most likely first (lowest id on ties). */
export function topLogProbs(logits: Float32Array, k: number): [number, number][] {
  const best: number[] = [];
  for (let id = 0; id < logits.length; id++) {
    if (best.length === k && logits[id]! <= logits[best[k - 1]!]!) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && logits[best[at - 1]!]! < logits[id]!) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = id;
  }
  return best.map((id) => [id, logProbOf(logits, id)]);
}

export async function logitsCommand(args: ParsedArgs, out: Print): Promise<number> {
  const file = await openModelFile(args);
  const text = await inputText(args);
  const k = numberOption(args, 'top-k', true) ?? 5;
  if (k < 1) throw new UsageError(`--top-k must be at least 1, got ${k}`);
  const ids = file.tokenizer.encode(text);
  if (ids.length === 0) throw new UsageError('the text has no tokens');
  const model = await loadWeights(file, args);
  const nVocab = model.hparams.nVocab;
  const topK = Math.min(k, nVocab);

  // One context for the whole text, evaluated a batch at a time so that only one batch of logits is held.
  const cache = model.createCache(ids.length);
  const positions: { token: number; top: [number, number][] }[] = [];
  for (let first = 0; first < ids.length; first += model.maxBatch) {
    const batch = ids.slice(first, first + model.maxBatch);
    const logits = await model.forward(batch, first, cache, 'all');
    batch.forEach((token, i) => positions.push({ token, top: topLogProbs(logits.subarray(i * nVocab, (i + 1) * nVocab), topK) }));
  }

  if (args.switches.has('json')) {
    out(JSON.stringify({ ids, positions }));
  } else {
    const piece = (id: number) => JSON.stringify(file.tokenizer.tokenToPiece(id));
    positions.forEach((p, i) => out(`${String(i).padStart(5)} ${piece(p.token)} -> ${p.top.map(([id, lp]) => `${piece(id)} ${lp.toFixed(3)}`).join('  ')}`));
  }
  return 0;
}
