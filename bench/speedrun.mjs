#!/usr/bin/env node
/**
 * Time-to-accuracy, convkit beside PyTorch (issue 19): `convkit speedrun` and tools/torch_speedrun.py run the same
 * recipe on the same IDX files in one run, one seed at a time and alternating (convkit seed 0, PyTorch seed 0,
 * convkit seed 1, ...), so a change in the machine's load hits both sides alike. Writes a Markdown table with the
 * CPU model (lscpu) and the load average at the start and the end.
 *
 *   node --import tsx bench/speedrun.mjs [--recipes 91,93,94] [--seeds 3] [--threads 2] [--backend auto]
 *        [--torch-blas stock|openblas] [--dataset fashion-mnist] [--target F] [--out FILE.md|-] [--keep DIR]
 *
 * --keep DIR keeps each seed's JSON report in DIR (SIDE-RECIPE-SEED.json) and reuses the reports already there, so a
 * long record (recipe 94: about 25 min per seed and side) can be made over several sittings; a seed pair is always
 * run back to back (convkit, then PyTorch), and the table says how many seeds came from earlier sittings.
 *
 * --torch-blas openblas runs Debian's PyTorch with OpenBLAS (bench/openblas.mjs), the strongest PyTorch this machine
 * can run; stock uses Debian's reference BLAS. Default out: bench/results/speedrun.md (JSON beside it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuLine, describeCpu, loadAverage } from './lib/machine.mjs';
import { ensureOpenBlas } from './openblas.mjs';
import { summarizeTimes } from '../src/cli/commands/speedrun.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    recipes: { type: 'string', default: '91' }, seeds: { type: 'string', default: '3' }, threads: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'auto' }, 'torch-blas': { type: 'string', default: 'stock' }, dataset: { type: 'string', default: 'fashion-mnist' },
    target: { type: 'string' }, out: { type: 'string', default: 'bench/results/speedrun.md' }, keep: { type: 'string' },
  },
});
const log = (m) => process.stderr.write(m + '\n');
const recipes = o.recipes.split(',');
const seeds = Number(o.seeds);
if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds must be a positive integer, got ${o.seeds}`);
if (!['stock', 'openblas'].includes(o['torch-blas'])) throw new Error(`--torch-blas must be stock or openblas, got ${o['torch-blas']}`);
const torchEnv = o['torch-blas'] === 'openblas' ? { ...process.env, LD_LIBRARY_PATH: ensureOpenBlas({ log }) } : process.env;
const extra = [...(o.target ? ['--target', o.target] : []), '--dataset', o.dataset];

/** The folder of the IDX files a convkit report read ("debian (/usr/share/datasets/fashion-mnist)"). */
const dataFolder = (report) => /\(([^()]+)\)$/.exec(report.dataset.source)?.[1];

/** One seed of one side; returns its JSON report. PyTorch reads the IDX files convkit's run of the seed read. */
let reused = 0;
function runOne(side, recipe, seed, dir, convkitReport) {
  const file = join(dir, `${side}-${recipe}-${seed}.json`);
  if (o.keep && existsSync(file)) {
    const kept = JSON.parse(readFileSync(file, 'utf8'));
    if (o.target && Math.abs(kept.target - Number(o.target)) > 1e-9) throw new Error(`${file} was made for target ${kept.target}, not --target ${o.target}: use another --keep folder`);
    log(`bench: ${side} recipe ${recipe} seed ${seed}: reusing ${file} (written ${statSync(file).mtime.toISOString().slice(0, 16)} UTC)`);
    reused++;
    return kept;
  }
  const common = ['--recipe', recipe, '--seeds', '1', '--first-seed', String(seed), '--json', file, ...extra];
  const folder = convkitReport && dataFolder(convkitReport);
  const [cmd, args, env] = side === 'convkit'
    ? [process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'speedrun', ...common, '--backend', o.backend, '--threads', o.threads], process.env]
    : ['/usr/bin/python3', ['tools/torch_speedrun.py', ...common, ...(folder ? ['--data', folder] : []), '--threads', o.threads], torchEnv];
  log(`bench: ${side} recipe ${recipe} seed ${seed} (load ${loadAverage()})`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${side} speedrun ${recipe} seed ${seed} exited with ${r.status}`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

const fmt = (s) => (s === null ? '-' : s.toFixed(1));
const dir = o.keep ? resolve(root, o.keep) : mkdtempSync(join(tmpdir(), 'convkit-speedrun-bench-'));
mkdirSync(dir, { recursive: true });
const cpu = describeCpu();
const loadStart = loadAverage();
const rows = [];
const reports = [];
try {
  for (const recipe of recipes) {
    const bySide = { convkit: [], pytorch: [] };
    for (let seed = 0; seed < seeds; seed++) {
      bySide.convkit.push(runOne('convkit', recipe, seed, dir));
      bySide.pytorch.push(runOne('pytorch', recipe, seed, dir, bySide.convkit.at(-1)));
    }
    for (const side of ['convkit', 'pytorch']) {
      const runs = bySide[side].flatMap((r) => r.runs);
      const first = bySide[side][0];
      const s = summarizeTimes(runs);
      const epochs = runs.filter((r) => r.reached).map((r) => r.epoch);
      rows.push(`| ${recipe} | ${(first.target * 100).toFixed(1)} %${first.targetOverridden ? ' (overridden)' : ''} | ${first.recipe.model} | ${side === 'convkit' ? `convkit, ${first.backend}` : `${first.backend}${o['torch-blas'] === 'openblas' ? ' + OpenBLAS' : ''}`} | ` +
        `${s.reached} / ${s.of} | ${fmt(s.meanSeconds)} | ${fmt(s.sdSeconds)} | ${fmt(s.minSeconds)}-${fmt(s.maxSeconds)} | ${epochs.join(', ') || '-'} | ${first.recipe.goalSeconds} |`);
      reports.push({ side, recipe, runs, summary: s, reports: bySide[side] });
    }
  }
} finally {
  if (!o.keep) rmSync(dir, { recursive: true, force: true });
}
const loadEnd = loadAverage();
const markdown = [
  `# Time to accuracy on Fashion-MNIST: convkit and PyTorch, same recipe, same machine`,
  '',
  `CPU: ${cpuLine(cpu)}. Load average ${loadStart} at the start, ${loadEnd} at the end.`,
  `Command: \`node --import tsx bench/speedrun.mjs ${process.argv.slice(2).join(' ')}\` (${new Date().toISOString().slice(0, 16)} UTC).`,
  ...(reused ? [`${reused} of the seed reports were kept from earlier sittings (--keep ${o.keep}); their load averages are in the JSON.`] : []),
  '',
  'Seconds of training until the test accuracy, read after each epoch, first meets the target (test evaluations excluded);',
  'mean, sample sd and range over the seeds that reached it. Recipes: `convkit speedrun --recipe NAME --print-recipe`;',
  'their hyperparameters were chosen on a validation split of the training set, never on the test set.',
  '',
  '| recipe | target | model | implementation | reached | mean s | sd s | range s | epochs | goal s |',
  '|---|---:|---|---|---:|---:|---:|---:|---|---:|',
  ...rows,
  '',
].join('\n');
process.stdout.write(markdown);
if (o.out !== '-') {
  const out = resolve(root, o.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  writeFileSync(out.replace(/\.md$/, '') + '.json', JSON.stringify({ cpu, loadAverage: { start: loadStart, end: loadEnd }, results: reports }, null, 2) + '\n');
  log(`bench: wrote ${o.out}`);
}
