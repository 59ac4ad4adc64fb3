#!/usr/bin/env node
/**
 * oneDNN (Debian's libdnnl-dev: the library PyTorch's CPU convolutions use) against convkit's native convolution
 * kernels, layer by layer, in one run: issue 16 asks whether oneDNN is worth an optional accelerator.
 *
 *   apt-get install -y libdnnl-dev        # headers and libdnnl.so (not needed by convkit itself)
 *   node bench/onednn.mjs [--repeats 10] [--threads 2] [--rounds 2]
 *
 * Compiles bench/onednn/conv.cc into bench/.onednn/ (git ignores it), then alternates rounds of it (OMP_NUM_THREADS
 * = --threads) and of bench/native-layers.ts (native backend, --threads), and prints a Markdown table of the best
 * times per layer and pass: native, oneDNN in its own blocked layouts (reorders left out) and oneDNN from and to
 * NCHW (the reorders convkit would pay), with the CPU model and the load average.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuLine, loadAverage } from './lib/machine.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { repeats: { type: 'string', default: '10' }, threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '2' } } });
const repeats = Number(opts.repeats), threads = Number(opts.threads), rounds = Number(opts.rounds);
if (!existsSync('/usr/include/dnnl.hpp')) {
  process.stderr.write('bench/onednn.mjs: oneDNN headers not found (/usr/include/dnnl.hpp): apt-get install -y libdnnl-dev\n');
  process.exit(2);
}
const exe = join(root, 'bench', '.onednn', 'conv');
mkdirSync(dirname(exe), { recursive: true });
execFileSync('g++', ['-O2', '-std=c++17', join(root, 'bench', 'onednn', 'conv.cc'), '-o', exe, '-ldnnl'], { stdio: 'inherit' });

const PASS_NAMES = { forward: 'forward', 'input gradient': 'inputGradient', 'weight gradient': 'weightGradient' };
/** best[layer][pass] = { native, blocked, nchw } (ms, minimum over rounds). */
const best = new Map();
const cell = (layer, pass) => {
  if (!best.has(layer)) best.set(layer, new Map());
  const m = best.get(layer);
  if (!m.has(pass)) m.set(pass, { native: Infinity, blocked: Infinity, nchw: Infinity });
  return m.get(pass);
};
// native-layers.ts names layers "resnet20 16->16 32 (x6)" and "vggsmall conv2 32->32 28"; conv.cc uses the shape part.
const shapeKey = (name) => name.replace(/ \(x\d+\)$/, '').replace(/ conv\d+ (?=\d)/, ' ').replace(/ \d+x\d+ /, ' ');

function runOnednn() {
  const r = spawnSync(exe, [String(repeats)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`oneDNN benchmark failed: ${r.stderr}`);
  for (const line of r.stdout.trim().split('\n').slice(1)) {
    const [layer, pass, blocked, nchw] = line.split('\t');
    const c = cell(shapeKey(layer), PASS_NAMES[pass]);
    c.blocked = Math.min(c.blocked, Number(blocked));
    c.nchw = Math.min(c.nchw, Number(nchw));
  }
}

function runNative() {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'native-layers.ts'), '--threads', String(threads), '--backends', 'native', '--repeats', String(repeats)], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/native-layers.ts failed: ${r.stderr}`);
  let layer = null;
  for (const line of r.stdout.split('\n')) {
    const head = /^(\S.*?), batch \d+:/.exec(line);
    if (head) { layer = shapeKey(head[1]); continue; }
    if (layer && /^\s+native/.test(line)) {
      for (const m of line.matchAll(/(forward|inputGradient|weightGradient)\s+([\d.]+) ms/g)) {
        const c = cell(layer, m[1]);
        c.native = Math.min(c.native, Number(m[2]));
      }
    }
  }
}

const loadBefore = loadAverage();
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) { runNative(); runOnednn(); } else { runOnednn(); runNative(); }
}
const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const lines = [
  `### oneDNN ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libdnnl-dev'], { encoding: 'utf8' })} vs convkit native, ${threads} thread${threads === 1 ? '' : 's'}`,
  '',
  `${cpuLine()}; load average ${loadBefore} before, ${loadAverage()} after; best of ${repeats} calls x ${rounds} alternating rounds; \`node bench/onednn.mjs --repeats ${repeats} --threads ${threads} --rounds ${rounds}\``,
  '',
  '| layer | pass | native ms | oneDNN ms (own layouts) | oneDNN ms (NCHW in and out) | native speed vs oneDNN (NCHW; >1: native faster) |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
];
let totalNative = 0, totalNchw = 0;
for (const [layer, passes] of best) {
  for (const [pass, c] of passes) {
    if (!Number.isFinite(c.native) || !Number.isFinite(c.nchw)) continue;
    totalNative += c.native;
    totalNchw += c.nchw;
    lines.push(`| ${layer} | ${pass} | ${f(c.native)} | ${f(c.blocked)} | ${f(c.nchw)} | ${(c.nchw / c.native).toFixed(2)}x |`);
  }
}
lines.push('', `Speed of native relative to oneDNN (>1: native faster), summed over the rows (each layer once): ${(totalNchw / totalNative).toFixed(2)}x.`);
process.stdout.write(lines.join('\n') + '\n');
