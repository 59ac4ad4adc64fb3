/**
 * Command-line options on top of `node:util` `parseArgs`: one table per command gives the parser its
 * configuration, the help text its lines, and the values their checks. Every problem is a `UsageError`
 * (one line, exit code 2) that names the flag and what was expected.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in help: `--epochs N`. */
  valueName?: string;
  description: string;
  /** Shown in help as "(default: ...)"; not applied by the parser (commands apply their own defaults). */
  defaultText?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** Options every command accepts. */
export const COMMON_OPTIONS: OptionSpecs = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  debug: { type: 'boolean', description: 'print stack traces of internal errors' },
};

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parse `argv` for `command` against its option table (plus the common options). */
export function parseCommandArgs(command: string, argv: readonly string[], specs: OptionSpecs, allowPositionals: boolean): ParsedArgs {
  const all = { ...specs, ...COMMON_OPTIONS };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, s] of Object.entries(all)) options[name] = s.short ? { type: s.type, short: s.short } : { type: s.type };
  // `--lr -1`: parseArgs would read -1 as a flag; join a negative number to its string option (`--lr=-1`).
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : null;
    const next = argv[i + 1];
    if (name !== null && all[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else {
      args.push(a);
    }
  }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (!allowPositionals && positionals.length > 0 && !values['help']) {
      throw new UsageError(`${command}: unexpected argument '${positionals[0]}' (see convkit ${command} --help)`);
    }
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(err.message)?.[1] ?? err.message;
      const guess = closest(flag.replace(/^-+/, '').split('=')[0]!, Object.keys(all));
      throw new UsageError(`${command}: unknown option '${flag}'${guess ? ` (did you mean --${guess}?)` : ''}; see convkit ${command} --help`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = /--([\w-]+)/.exec(err.message)?.[1];
      const spec = flag ? all[flag] : undefined;
      if (spec?.type === 'string') throw new UsageError(`${command}: option --${flag} needs a value (--${flag} ${spec.valueName ?? 'VALUE'})`);
      throw new UsageError(`${command}: ${flag ? `option --${flag} takes no value` : err.message}`);
    }
    throw new UsageError(`${command}: ${err.message}`);
  }
}

function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}

/** The help text of a command. */
export function formatHelp(h: { usage: string; summary: string; description?: string; options: OptionSpecs; examples?: readonly string[] }): string {
  const all = { ...h.options, ...COMMON_OPTIONS };
  const rows = Object.entries(all).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.type === 'string' ? ` ${s.valueName ?? 'VALUE'}` : ''}`;
    return [flag, s.description + (s.defaultText !== undefined ? ` (default: ${s.defaultText})` : '')] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  const lines = [`Usage: ${h.usage}`, '', h.summary];
  if (h.description) lines.push('', h.description);
  lines.push('', 'Options:');
  for (const [flag, text] of rows) lines.push(flag.length >= width ? `  ${flag}\n  ${' '.repeat(width)}${text}` : `  ${flag.padEnd(width)}${text}`);
  if (h.examples?.length) lines.push('', 'Examples:', ...h.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

// ---- value checks (each names the flag and what it expects)

export function stringOption(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`option --${name} needs a value`);
  if (v === '') throw new UsageError(`option --${name} needs a non-empty value`);
  return v;
}

export function intOption(values: ParsedArgs['values'], name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(v)) throw new UsageError(`option --${name} expects an integer, got '${raw}'`);
  if (range.min !== undefined && v < range.min) throw new UsageError(`option --${name} must be at least ${range.min}, got ${v}`);
  if (range.max !== undefined && v > range.max) throw new UsageError(`option --${name} must be at most ${range.max}, got ${v}`);
  return v;
}

export function floatOption(values: ParsedArgs['values'], name: string, fallback: number, range: { min?: number; max?: number; positive?: boolean } = {}): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`option --${name} expects a number, got '${raw}'`);
  if (range.positive && !(v > 0)) throw new UsageError(`option --${name} must be positive, got ${v}`);
  if (range.min !== undefined && v < range.min) throw new UsageError(`option --${name} must be at least ${range.min}, got ${v}`);
  if (range.max !== undefined && v > range.max) throw new UsageError(`option --${name} must be at most ${range.max}, got ${v}`);
  return v;
}

export function choiceOption<T extends string>(values: ParsedArgs['values'], name: string, choices: readonly T[], fallback: T): T {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`option --${name} must be one of ${choices.join(', ')}; got '${raw}'`);
  return raw as T;
}
