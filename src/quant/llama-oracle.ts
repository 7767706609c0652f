// llama.cpp's own quantizer as a test oracle: `llama_model_quantize` from the
// libllama that the npm package node-llama-cpp ships (its prebuilt
// @node-llama-cpp/<platform> packages, or a source build under
// node-llama-cpp/llama/localBuilds), called through koffi. It is the function
// that llama-quantize runs, so its output files are llama-quantize's. Node only.

import koffi from 'koffi';
import { existsSync, readdirSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileTypeOf, type QuantizeOptions } from './recipes';
import { ggmlTypeByName } from './types';

/** Set to a libllama file to use that one instead of the one node_modules holds. */
export const LIBLLAMA_ENV = 'LLAMA_ORACLE_LIB';

export class LlamaOracleError extends Error {
  override readonly name = 'LlamaOracleError';
}

export interface LlamaOracle {
  /**
   * llama-quantize IN OUT with these options (the CLI's meaning of each), on one thread. Throws LlamaOracleError with
   * llama.cpp's log when it reports a failure; beware that some bad requests (a type given explicitly whose blocks do
   * not divide a tensor's rows) make llama.cpp abort the whole process instead.
   */
  quantize(input: string, output: string, options: QuantizeOptions): void;
}

/** libllama's file name on each platform, e.g. libllama.v0.5.0.so; not libllama-common. */
const LIBLLAMA_FILE = /^(lib)?llama(\.v[\d.]+)?\.(so|dylib|dll)$/;

/** A directory's entries; none if it does not exist. */
function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** The directories node-llama-cpp installs libllama into: its prebuilt package for this platform first, then source builds. */
function candidateDirectories(): string[] {
  const nodeModules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
  const os = platform() === 'darwin' ? 'mac' : platform() === 'win32' ? 'win' : platform();
  const target = `${os}-${arch()}`;
  // The plain CPU build (e.g. linux-x64) before GPU ones (linux-x64-cuda), which need their drivers to load.
  const prebuilt = entries(join(nodeModules, '@node-llama-cpp'))
    .filter((name) => name.startsWith(target))
    .sort((a, b) => a.length - b.length)
    .flatMap((name) => entries(join(nodeModules, '@node-llama-cpp', name, 'bins')).map((bin) => join(nodeModules, '@node-llama-cpp', name, 'bins', bin)));
  const localBuilds = join(nodeModules, 'node-llama-cpp', 'llama', 'localBuilds');
  const built = entries(localBuilds).flatMap((build) => [join(localBuilds, build, 'bin'), join(localBuilds, build, 'bin', 'Release')]);
  return [...prebuilt, ...built];
}

/** Where libllama is: $LLAMA_ORACLE_LIB, else the first one node-llama-cpp installed; undefined if none. */
export function findLibllama(): string | undefined {
  const fromEnv = process.env[LIBLLAMA_ENV];
  if (fromEnv) return fromEnv;
  for (const dir of candidateDirectories()) {
    const file = entries(dir).find((name) => LIBLLAMA_FILE.test(name));
    if (file) return join(dir, file);
  }
  return undefined;
}

/** ggml's type id for a type name as llama-quantize's --*-type options take it, or `noType` for none. */
function ggmlTypeId(name: string | undefined, noType: number): number {
  if (name === undefined) return noType;
  const type = ggmlTypeByName(name.toUpperCase());
  if (!type) throw new LlamaOracleError(`unknown type ${name}`);
  return type.id;
}

let loaded: LlamaOracle | undefined;

/** Loads libllama (see findLibllama) once per process. */
export function loadLlamaOracle(): LlamaOracle {
  if (loaded) return loaded;
  const path = findLibllama();
  if (!path) {
    throw new LlamaOracleError(`libllama not found: install the devDependency node-llama-cpp (npm install) or set ${LIBLLAMA_ENV}`);
  }
  const lib = koffi.load(path);

  // llama.h's structs, member for member.
  const TensorOverride = koffi.struct('llama_model_tensor_override', { pattern: 'const char *', type: 'int' });
  koffi.struct('llama_model_quantize_params', {
    nthread: 'int32_t',
    ftype: 'int',
    output_tensor_type: 'int',
    token_embedding_type: 'int',
    allow_requantize: 'bool',
    quantize_output_tensor: 'bool',
    only_copy: 'bool',
    pure: 'bool',
    keep_split: 'bool',
    dry_run: 'bool',
    imatrix: 'void *',
    kv_overrides: 'void *',
    tt_overrides: koffi.pointer(TensorOverride),
    prune_layers: 'void *',
    max_buf_size: 'size_t',
  });
  const defaultParams = lib.func('llama_model_quantize_params llama_model_quantize_default_params()');
  const modelQuantize = lib.func('uint32_t llama_model_quantize(const char *input, const char *output, const llama_model_quantize_params *params)');
  const LogCallback = koffi.proto('void ggml_log_callback(int level, const char *text, void *user_data)');
  const logSet = lib.func('void llama_log_set(ggml_log_callback *callback, void *user_data)');

  // llama.cpp logs every tensor it writes: keep the log of the current call for error messages instead of printing it.
  let log = '';
  logSet(koffi.register((_level: number, text: string) => { log += text; }, koffi.pointer(LogCallback)), null);
  lib.func('void llama_backend_init()')();

  loaded = {
    quantize(input, output, options) {
      const params = defaultParams() as Record<string, unknown>;
      // The defaults leave the type fields at GGML_TYPE_COUNT, which means "no type given".
      const noType = params.output_tensor_type as number;
      params.ftype = fileTypeOf(options.recipe);
      params.nthread = 1;
      params.pure = options.pure ?? false;
      params.output_tensor_type = ggmlTypeId(options.outputTensorType, noType);
      params.token_embedding_type = ggmlTypeId(options.tokenEmbeddingType, noType);
      // As llama-quantize's --tensor-type parser hands them over: lowercased patterns, then an empty terminator.
      const overrides = (options.tensorTypes ?? []).map((o) => ({ pattern: o.pattern.toLowerCase(), type: ggmlTypeId(o.type, noType) }));
      params.tt_overrides = overrides.length > 0 ? [...overrides, { pattern: null, type: noType }] : null;
      log = '';
      const status = modelQuantize(input, output, params) as number;
      if (status !== 0) throw new LlamaOracleError(`llama_model_quantize failed (${status}):\n${log}`);
    },
  };
  return loaded;
}
