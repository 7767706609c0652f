// Command-line entry: `npm run -s cli -- <command> ...`. Runs the same
// pure-TypeScript core as the page. Errors go to stderr with a non-zero exit code.

import { parseArgs, UsageError } from './args';
import { inspectCommand } from './inspect';

type Command = (args: ReturnType<typeof parseArgs>, out: (s: string) => void, err: (s: string) => void) => Promise<number>;

/** Loads a command's module only when it runs, so `inspect` does not pay for the quantizers or the runtime. */
const lazy = (load: () => Promise<Command>): Command => async (...args) => (await load())(...args);

const COMMANDS: Record<string, { run: Command; switches: string[]; options?: string[]; usage: string }> = {
  inspect: { run: inspectCommand, switches: ['json'], usage: 'inspect FILE... [--json]' },
  quantize: {
    run: lazy(async () => (await import('./quantize')).quantizeCommand),
    switches: ['json', 'pure'],
    options: ['type', 'tensor-type', 'output-tensor-type', 'token-embedding-type', 'threads'],
    usage: 'quantize IN.gguf|HF_DIR OUT.gguf --type RECIPE_OR_TYPE [--pure] [--tensor-type PATTERN=TYPE]... [--output-tensor-type T] [--token-embedding-type T] [--threads N (default: all cores)] [--json]',
  },
  convert: {
    run: lazy(async () => (await import('./convert')).convertCommand),
    switches: ['json'],
    options: ['outtype'],
    usage: 'convert HF_DIR_OR_FILES... OUT.gguf [--outtype f16|bf16|f32 (default f16)] [--json]',
  },
  dequantize: {
    run: lazy(async () => (await import('./quantize')).dequantizeCommand),
    switches: [],
    options: ['threads'],
    usage: 'dequantize IN.gguf OUT.gguf [--threads N]',
  },
  generate: {
    run: lazy(async () => (await import('./run-model')).generateCommand),
    switches: ['json'],
    options: ['prompt', 'n-predict', 'temp', 'top-k', 'top-p', 'min-p', 'repeat-penalty', 'seed', 'threads'],
    usage:
      'generate MODEL --prompt TEXT [-n N | --n-predict N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S] [--threads N] [--json]\n' +
      '      llama.cpp\'s defaults: -n -1 (until an end-of-generation token or a full context), --temp 0.8 (0: greedy), --top-k 40,\n' +
      '      --top-p 0.95, --min-p 0.05, --repeat-penalty 1 (off; looks at the last 64 tokens), --seed random',
  },
  tokenize: {
    run: lazy(async () => (await import('./run-model')).tokenizeCommand),
    switches: ['json'],
    options: ['text', 'file'],
    usage: 'tokenize MODEL (--text TEXT | --file F) [--json]',
  },
  perplexity: {
    run: lazy(async () => (await import('./run-model')).perplexityCommand),
    switches: ['json'],
    options: ['text', 'file', 'ctx', 'threads'],
    usage: 'perplexity MODEL (--file F | --text TEXT) [--ctx N (default: the training context)] [--threads N] [--json]',
  },
  logits: {
    run: lazy(async () => (await import('./run-model')).logitsCommand),
    switches: ['json'],
    options: ['text', 'file', 'top-k', 'threads'],
    usage: 'logits MODEL (--file F | --text TEXT) [--top-k K (default 5)] [--threads N] [--json]',
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`usage: npm run -s cli -- <command> ...\ncommands:\n${Object.values(COMMANDS).map((c) => `  ${c.usage}`).join('\n')}\n`);
    return 2;
  }
  try {
    const args = parseArgs(rest, command.switches);
    const unknown = [...args.options.keys()].filter((o) => !(command.options ?? []).includes(o));
    if (unknown.length > 0) throw new UsageError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((o) => `--${o}`).join(', ')}\nusage: ${command.usage}`);
    return await command.run(args, (s) => process.stdout.write(`${s}\n`), (s) => process.stderr.write(`${s}\n`));
  } catch (e) {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
