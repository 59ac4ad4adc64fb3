#!/usr/bin/env node
/**
 * The `convkit` command line: finds the commands in ./commands/, parses flags, runs one, and turns errors into
 * one line and an exit code (2 for the user's mistakes, 1 for a failed run; a stack trace only with --debug).
 *
 * Run from source with `node --import tsx src/cli/main.ts <command> ...`, or after `npm run build` as `convkit`.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { Command, CommandContext } from './command.js';
import { classifyError, UsageError } from './errors.js';
import { formatHelp, parseCommandArgs } from './options.js';

const here = dirname(fileURLToPath(import.meta.url));

const commandsDir = join(here, 'commands');

function commandFiles(): string[] {
  return readdirSync(commandsDir).filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_')).sort();
}

async function importCommand(file: string): Promise<Command | null> {
  const mod = (await import(pathToFileURL(join(commandsDir, file)).href)) as { default?: Command };
  return mod.default && typeof mod.default.run === 'function' ? mod.default : null;
}

/**
 * Every command in ./commands/ (one file each, default export), sorted for the help listing. A file that fails
 * to load is skipped and reported in `broken`, so one broken command never takes the others down.
 */
export async function loadCommands(): Promise<{ commands: Command[]; broken: { file: string; error: string }[] }> {
  const commands: Command[] = [];
  const broken: { file: string; error: string }[] = [];
  for (const f of commandFiles()) {
    try {
      const c = await importCommand(f);
      if (c) commands.push(c);
    } catch (e) {
      broken.push({ file: f, error: (e as Error).message.split('\n')[0] ?? String(e) });
    }
  }
  commands.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
  return { commands, broken };
}

/** The command called `name`: its own file (commands/<name>.ts) first, else a scan of all of them. */
async function findCommand(name: string): Promise<Command | null> {
  const own = commandFiles().find((f) => f.replace(/\.(js|ts)$/, '') === name);
  if (own) {
    const c = await importCommand(own);
    if (c?.name === name) return c;
  }
  const { commands } = await loadCommands();
  return commands.find((c) => c.name === name) ?? null;
}

function topLevelHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: convkit <command> [options]',
    '',
    'Convolutional neural networks in TypeScript: train, evaluate and run CNNs without Python.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run `convkit <command> --help` for the options of a command. Start with `convkit demo`.',
  ].join('\n');
}

async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  for (const p of [join(here, '..', '..', 'package.json'), join(here, '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'convkit') return pkg.version ?? 'unknown';
    } catch { /* try the next */ }
  }
  return 'unknown';
}

/**
 * The backend the library chose while loading (CONVKIT_BACKEND, else the first that loads), and why it passed over
 * faster ones: `native (avx2, 2 threads)` or `wasm (2 threads; native unavailable: <reason>)`.
 */
async function backendInUse(): Promise<string> {
  const { backendFallbackReason, describeBackend, ready } = await import('../backend/registry.js');
  const reason = backendFallbackReason();
  return describeBackend(await ready(), reason === null ? [] : [reason]);
}

/** Run the CLI with `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: readonly string[], partial: Partial<CommandContext> = {}): Promise<number> {
  const out = partial.out ?? process.stdout;
  const err = partial.err ?? process.stderr;
  const debug = argv.includes('--debug');
  // `convkit datasets | head`: a closed pipe ends the program quietly, as with other command-line tools.
  if (out === process.stdout && process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      if (name === 'help' && rest[0]) {
        const c = await findCommand(rest[0]);
        if (!c) throw new UsageError(`unknown command '${rest[0]}' (see convkit --help)`);
        out.write(formatHelp(c) + '\n');
        return 0;
      }
      const { commands, broken } = await loadCommands();
      out.write(topLevelHelp(commands) + '\n');
      for (const b of broken) err.write(`convkit: note: command file ${b.file} failed to load: ${b.error}\n`);
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v') {
      out.write(`convkit ${await version()}\n`);
      out.write(`backend: ${await backendInUse()}\n`);
      return 0;
    }
    if (name.startsWith('-')) throw new UsageError(`a command comes first, got '${name}' (see convkit --help)`);
    const command = await findCommand(name);
    if (!command) {
      const { commands } = await loadCommands();
      throw new UsageError(`unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')}; see convkit --help)`);
    }
    const args = parseCommandArgs(command.name, rest, command.options, command.positionals ?? false);
    if (args.values['help']) {
      out.write(formatHelp(command) + '\n');
      return 0;
    }
    const ctx: CommandContext = { args, out, err, env: partial.env ?? process.env, cwd: partial.cwd ?? process.cwd() };
    const code = await command.run(ctx);
    return code ?? 0;
  } catch (e) {
    const known = classifyError(e);
    if (known) {
      err.write(`convkit: ${known.message.split('\n')[0]}\n`);
      if (debug && e instanceof Error && e.stack) err.write(e.stack + '\n');
      return known.exitCode;
    }
    const error = e instanceof Error ? e : new Error(String(e));
    err.write(`convkit: internal error: ${error.message.split('\n')[0]}\n`);
    if (debug) err.write((error.stack ?? '') + '\n');
    else err.write('convkit: run again with --debug for a stack trace; please report it if it persists\n');
    return 1;
  }
}

/** True when this file is the program being run (not imported by bin/convkit.js or a test). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(script).href === import.meta.url || fileURLToPath(import.meta.url) === script;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => { process.stderr.write(`convkit: ${String(e)}\n`); process.exitCode = 1; },
  );
}
