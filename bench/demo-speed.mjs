#!/usr/bin/env node
/**
 * `convkit demo` on the native backend against the wasm backend (issue 16's target: native at least 2x faster).
 * Runs the demo command from the sources (`node --import tsx src/cli/main.ts demo --json --backend B`) with each
 * backend in turn, alternating the order every round (native, wasm, then wasm, native, ...), each into a fresh
 * temporary folder, and prints a Markdown section: wall time of the whole command, the training time the demo reports,
 * test accuracy, and the speedup (wasm time / native time, medians over the rounds).
 *
 *   node bench/demo-speed.mjs [--rounds 2] [--backends native,wasm] [--threads N] [--epochs N] [--subset]
 *
 * Without --threads each backend runs its default thread count, as a user's `convkit demo` does. The data is what
 * the demo finds (the full Fashion-MNIST where `convkit datasets` finds it, else the shipped subset); the section
 * says which. The last line of stdout is `DEMO_SPEED {json}` for bench/run.mjs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuLine, loadAverage } from './lib/machine.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    backends: { type: 'string', default: 'native,wasm' },
    threads: { type: 'string' },
    epochs: { type: 'string' },
    subset: { type: 'boolean', default: false },
  },
});
const rounds = Number(opts.rounds);
const backends = opts.backends.split(',');
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a positive integer, got '${opts.rounds}'`);
if (backends.length !== 2) fail(`--backends takes two names (the fast one first), got '${opts.backends}'`);
const [fast, slow] = backends;

function fail(message) {
  process.stderr.write(`bench/demo-speed.mjs: ${message}\n`);
  process.exit(2);
}
const log = (message) => process.stderr.write(`${message}\n`);

/** The backend's --info from the convkit bench peer (its ISA level, threads), or exit with the peer's reason. */
function backendInfo(name) {
  const args = ['--import', 'tsx', 'bench/peers/convkit.ts', '--backend', name, '--info', ...(opts.threads ? ['--threads', opts.threads] : [])];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (r.status !== 0 || !line) {
    const reason = (r.stderr ?? '').split('\n').find((l) => /error/i.test(l)) ?? `exit code ${r.status}`;
    fail(`backend '${name}' cannot run here: ${reason.trim()}`);
  }
  return JSON.parse(line.slice('BENCH_RESULT '.length));
}

/** One `convkit demo --json` run; resolves with its wall seconds and the summary line it printed. */
function runDemo(backend) {
  const out = mkdtempSync(join(tmpdir(), `convkit-demo-speed-${backend}-`));
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--json', '--backend', backend, '--out', out,
    ...(opts.threads ? ['--threads', opts.threads] : []), ...(opts.epochs ? ['--epochs', opts.epochs] : []), ...(opts.subset ? ['--subset'] : [])];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      rmSync(out, { recursive: true, force: true });
      const summary = stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l)).find((j) => j.type === 'summary');
      if (code !== 0 || !summary) return reject(new Error(`convkit demo --backend ${backend} failed (exit code ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      resolve({ backend, wallSeconds, trainSeconds: summary.seconds, accuracy: summary.testAccuracy, epochs: summary.epochs, dataset: summary.dataset, source: summary.source, ran: summary.backend });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const info = Object.fromEntries(backends.map((b) => [b, backendInfo(b)]));
  const cpu = cpuLine();
  const loadBefore = loadAverage();
  const started = new Date();
  log(`demo speed: ${cpu}; load average ${loadBefore}`);
  const runs = [];
  for (let round = 0; round < rounds; round++) {
    for (const backend of round % 2 === 0 ? [fast, slow] : [slow, fast]) {
      const r = await runDemo(backend);
      runs.push({ round: round + 1, ...r });
      log(`round ${round + 1} ${backend}: ${r.wallSeconds.toFixed(1)} s wall, ${r.trainSeconds.toFixed(1)} s training, accuracy ${(r.accuracy * 100).toFixed(2)} % (${r.ran})`);
    }
  }
  const loadAfter = loadAverage();
  const of = (b, key) => median(runs.filter((r) => r.backend === b).map((r) => r[key]));
  const speedup = of(slow, 'wallSeconds') / of(fast, 'wallSeconds');
  const trainSpeedup = of(slow, 'trainSeconds') / of(fast, 'trainSeconds');
  // What the demo itself reported running (e.g. "wasm (2 threads)"), with the native level from the peer's --info.
  const describe = (b) => {
    const ran = runs.find((r) => r.backend === b).ran;
    return info[b].isa && !ran.includes(info[b].isa) ? `${ran}, ISA ${info[b].isa}` : ran;
  };
  const first = runs[0];
  const command = `node bench/demo-speed.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const lines = [
    `## convkit demo: ${fast} vs ${slow}`,
    '',
    `\`${command}\` (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC): ${cpu}; load average ${loadBefore} before, ${loadAfter} after` +
      `${Number(loadBefore.split(' ')[0]) > 1 ? ' (other work shared the machine: the times are noisy)' : ''}. ` +
      `\`convkit demo --json --backend B\` from the sources, ${first.epochs} epoch${first.epochs === 1 ? '' : 's'} of LeNet-5 on ${first.dataset} (${first.source}); ` +
      `${describe(fast)} and ${describe(slow)}; ${rounds} round${rounds === 1 ? '' : 's'}, alternating the order.`,
    '',
    '| round | backend | wall s (whole command) | training s | test accuracy |',
    '|---:|---|---:|---:|---:|',
    ...runs.map((r) => `| ${r.round} | ${r.backend} | ${r.wallSeconds.toFixed(1)} | ${r.trainSeconds.toFixed(1)} | ${(r.accuracy * 100).toFixed(2)} % |`),
    '',
    `${slow} / ${fast} time (medians): **${speedup.toFixed(2)}x** wall, ${trainSpeedup.toFixed(2)}x training (goal >= 2x: ${speedup >= 2 ? 'met' : '**not met**'}).`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`DEMO_SPEED ${JSON.stringify({ command, cpu, loadBefore, loadAfter, fast, slow, info, runs, speedup, trainSpeedup })}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench/demo-speed.mjs: ${error.message}\n`);
  process.exit(1);
});
