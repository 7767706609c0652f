// A small argument parser shared by every CLI command: positional arguments,
// `--flag value` options (repeatable ones collect into arrays), and boolean switches.

export interface ParsedArgs {
  positional: string[];
  options: Map<string, string[]>;
  switches: Set<string>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `switchNames` are options without a value (e.g. --json); every other --option takes the next argument. */
export function parseArgs(argv: string[], switchNames: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (switchNames.includes(name)) {
      switches.add(name);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`option --${name} needs a value`);
    options.set(name, [...(options.get(name) ?? []), value]);
  }
  return { positional, options, switches };
}

/** The last value given for an option, or undefined. */
export function option(args: ParsedArgs, name: string): string | undefined {
  return args.options.get(name)?.at(-1);
}
