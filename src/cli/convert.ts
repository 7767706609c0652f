// `convert HF_DIR_OR_FILES... OUT.gguf [--outtype f16|bf16|f32] [--json]`: a Hugging Face safetensors
// model (a folder, or its files listed one by one) to GGUF, as llama.cpp's convert_hf_to_gguf.py does.
// The output is written atomically: a failed run leaves no file under OUT's name.

import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { convertHfToGguf, type ConvertProgress, type OutType } from '../formats/convert-hf';
import { openFiles } from './node-files';
import { FileSink } from './file-sink';
import { option, UsageError, type ParsedArgs } from './args';
import { humanBytes } from '../app/format';

const OUT_TYPES: readonly OutType[] = ['f16', 'bf16', 'f32'];

/** The converter reads the chat templates of this subfolder too. */
const TEMPLATES_FOLDER = 'additional_chat_templates';

/** The files of a model folder, by the names the converter knows them by. */
async function folderFiles(folder: string): Promise<{ name: string; path: string }[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => ({ name: e.name, path: join(folder, e.name) }));
  if (entries.some((e) => e.isDirectory() && e.name === TEMPLATES_FOLDER)) {
    for (const e of await readdir(join(folder, TEMPLATES_FOLDER), { withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.jinja')) files.push({ name: `${TEMPLATES_FOLDER}/${e.name}`, path: join(folder, TEMPLATES_FOLDER, e.name) });
    }
  }
  return files;
}

/** The model's files by name, and the model's name (its folder's name, as the converter uses). */
export async function modelFiles(inputs: string[]): Promise<{ files: Map<string, Blob>; name: string }> {
  if (inputs.length === 1 && (await stat(inputs[0]!)).isDirectory()) {
    const folder = resolve(inputs[0]!);
    const listed = await folderFiles(folder);
    const opened = await openFiles(listed.map((f) => f.path));
    return { files: new Map(listed.map((f, i) => [f.name, opened[i]!.blob])), name: basename(folder) };
  }
  const opened = await openFiles(inputs);
  return { files: new Map(opened.map((f) => [f.name, f.blob])), name: basename(dirname(resolve(inputs[0]!))) };
}

export async function convertCommand(args: ParsedArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const inputs = args.positional.slice(0, -1);
  const outPath = args.positional.at(-1);
  if (inputs.length === 0 || !outPath) throw new UsageError('usage: convert HF_DIR_OR_FILES... OUT.gguf [--outtype f16|bf16|f32] [--json]');
  const outtype = (option(args, 'outtype') ?? 'f16').toLowerCase() as OutType;
  if (!OUT_TYPES.includes(outtype)) throw new UsageError(`--outtype takes f16, bf16 or f32, got "${option(args, 'outtype')}"`);
  const { files, name } = await modelFiles(inputs);
  const json = args.switches.has('json');
  const started = performance.now();
  const onProgress = json ? undefined : (p: ConvertProgress) => {
    if (p.currentTensor) err(`[${p.tensorsDone + 1}/${p.tensorsTotal}] ${p.currentTensor}`);
  };
  const bytes = await FileSink.writeAtomically(outPath, (sink) => convertHfToGguf(files, sink, { outtype, name, onProgress }));
  const seconds = (performance.now() - started) / 1000;
  if (json) out(JSON.stringify({ output: outPath, bytes, seconds, outtype }));
  else out(`wrote ${outPath}: ${humanBytes(bytes)} in ${seconds.toFixed(2)} s`);
  return 0;
}
