/**
 * A CLI command: its name, help, option table and `run`. Each command is one file in `src/cli/commands/`,
 * named after the command (`commands/train.ts` for `convkit train`), whose default export is a `Command`;
 * `main.ts` finds them by listing that folder, so adding a command (`summary`, `ledger`, `models`, `lab`, ...)
 * is adding one file. Running a command imports only its own file, so a broken command cannot break the others.
 */
import type { OptionSpecs, ParsedArgs } from './options.js';

export interface CommandContext {
  /** Parsed option values and positional arguments. */
  args: ParsedArgs;
  /** Where results go (stdout). */
  out: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where progress and notes go (stderr). */
  err: NodeJS.WritableStream & { isTTY?: boolean };
  /** Environment variables (tests pass their own). */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory (relative paths resolve against it). */
  cwd: string;
}

export interface Command {
  name: string;
  /** One line for `convkit --help`. */
  summary: string;
  /** `convkit train [options]`. */
  usage: string;
  /** Optional paragraph under the summary in the command's help. */
  description?: string;
  options: OptionSpecs;
  /** Whether positional arguments are accepted (e.g. predict's IMAGE...). */
  positionals?: boolean;
  examples?: readonly string[];
  /** Order in `convkit --help` (lower first; default 100). */
  order?: number;
  /** Do the work; resolve with the exit code (default 0). Throw `UsageError` for the user's mistakes. */
  run(ctx: CommandContext): Promise<number | void>;
}

/** Identity helper so command files get type checking: `export default defineCommand({ ... })`. */
export function defineCommand(command: Command): Command {
  return command;
}
