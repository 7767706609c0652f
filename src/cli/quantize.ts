// `quantize IN OUT.gguf --type RECIPE_OR_TYPE [--pure] [--tensor-type PATTERN=TYPE]...
//  [--output-tensor-type T] [--token-embedding-type T] [--threads N] [--json]`
// and `dequantize IN.gguf OUT.gguf [--threads N]`, with llama-quantize's meanings.
// --threads defaults to the number of cores. IN is a GGUF, or a Hugging Face safetensors
// model (its folder), which is first converted to an F16 GGUF in a temporary file, as
// convert_hf_to_gguf.py followed by llama-quantize would do.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertHfToGguf } from '../formats/convert-hf';
import { readGguf, type GgufFile } from '../formats/gguf';
import { dequantizeModel, planModel, quantizeModel, type QuantizeProgress } from '../quant/quantize-model';
import type { QuantizeOptions } from '../quant/recipes';
import { openFiles } from './node-files';
import { modelFiles } from './convert';
import { FileSink } from './file-sink';
import { option, UsageError, type ParsedArgs } from './args';
import { humanBytes } from '../app/format';

function quantizeOptions(args: ParsedArgs): QuantizeOptions {
  const recipe = option(args, 'type');
  if (!recipe) throw new UsageError('quantize needs --type RECIPE_OR_TYPE (e.g. Q4_K_M or Q8_0)');
  const tensorTypes = (args.options.get('tensor-type') ?? []).map((spec) => {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0) throw new UsageError(`--tensor-type takes PATTERN=TYPE, got "${spec}"`);
    return { pattern: spec.slice(0, eq), type: spec.slice(eq + 1) };
  });
  return {
    recipe,
    pure: args.switches.has('pure'),
    tensorTypes,
    outputTensorType: option(args, 'output-tensor-type'),
    tokenEmbeddingType: option(args, 'token-embedding-type'),
  };
}

/** `--threads N`: how many threads quantize (default: every core). */
function threadsOption(args: ParsedArgs): number {
  const value = option(args, 'threads');
  if (value === undefined) return availableParallelism();
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads takes a positive integer, got "${value}"`);
  return threads;
}

function progressPrinter(err: (s: string) => void, quiet: boolean) {
  let lastPrinted = 0;
  return (p: QuantizeProgress) => {
    if (quiet || (p.elapsedMs - lastPrinted < 500 && p.tensorsDone < p.tensorsTotal)) return;
    lastPrinted = p.elapsedMs;
    const mbs = p.bytesDone / 1e6 / Math.max(p.elapsedMs / 1000, 1e-3);
    err(`[${p.tensorsDone}/${p.tensorsTotal}] ${p.currentTensor}  ${mbs.toFixed(1)} MB/s`);
  };
}

/** Runs `use` on the input as a GGUF: the file itself, or a temporary F16 conversion of a safetensors model folder. */
async function withGgufInput<T>(path: string, use: (blob: Blob, gguf: GgufFile) => Promise<T>): Promise<T> {
  if (path.toLowerCase().endsWith('.gguf')) {
    const [file] = await openFiles([path]);
    return use(file!.blob, await readGguf(file!.blob));
  }
  if (!(await stat(path)).isDirectory()) throw new UsageError(`input must be a .gguf file or a safetensors model folder: ${path}`);
  const { files, name } = await modelFiles([path]);
  const tempDir = await mkdtemp(join(tmpdir(), 'quantscope-convert-'));
  try {
    const converted = join(tempDir, 'converted-f16.gguf');
    await FileSink.writeAtomically(converted, (sink) => convertHfToGguf(files, sink, { outtype: 'f16', name }));
    const [file] = await openFiles([converted]);
    return await use(file!.blob, await readGguf(file!.blob));
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

export async function quantizeCommand(args: ParsedArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [inPath, outPath] = args.positional;
  if (!inPath || !outPath) throw new UsageError('usage: quantize IN.gguf|HF_DIR OUT.gguf --type RECIPE_OR_TYPE [options]');
  const options = quantizeOptions(args);
  const threads = threadsOption(args);
  const started = performance.now();
  const run = { threads, onProgress: progressPrinter(err, args.switches.has('json')) };
  const { plan, bytes } = await withGgufInput(inPath, async (blob, gguf) => {
    const plan = planModel(gguf, options);
    const bytes = await FileSink.writeAtomically(outPath, (sink) => quantizeModel(blob, gguf, options, sink, run));
    return { plan, bytes };
  });
  const seconds = (performance.now() - started) / 1000;
  if (args.switches.has('json')) {
    out(JSON.stringify({ output: outPath, bytes, seconds, threads, tensors: plan.map((p) => ({ name: p.name, from: p.from.name, to: p.to.name, reason: p.reason })) }));
  } else {
    out(`wrote ${outPath}: ${humanBytes(bytes)} in ${seconds.toFixed(2)} s`);
  }
  return 0;
}

export async function dequantizeCommand(args: ParsedArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [inPath, outPath] = args.positional;
  if (!inPath || !outPath) throw new UsageError('usage: dequantize IN.gguf OUT.gguf [--threads N]');
  const threads = threadsOption(args);
  const bytes = await withGgufInput(inPath, (blob, gguf) =>
    FileSink.writeAtomically(outPath, (sink) => dequantizeModel(blob, gguf, sink, { threads, onProgress: progressPrinter(err, false) })));
  out(`wrote ${outPath}: ${humanBytes(bytes)}`);
  return 0;
}
