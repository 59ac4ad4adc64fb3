#!/usr/bin/env node
/**
 * Where a convkit benchmark cell spends its time: runs bench/peers/convkit.ts under V8's sampling profiler
 * (`--cpu-prof`) and prints the functions with the most self time (JavaScript and wasm kernels alike),
 * grouped by name. Run from the project root:
 *
 *   node bench/profile.mjs --model vggsmall --mode train --backend wasm --threads 1 [--seconds 5] [--top 25]
 *     [--callers gemmCore]
 *
 * With --callers NAME it also prints, for the functions whose name contains NAME, their self time split by the
 * chain of named callers (up to 3; anonymous closures are skipped): which kernels' GEMMs, for instance.
 *
 * Only the calling thread is sampled: with 2 threads, time the main thread spends waiting for the worker
 * shows up as Atomics.wait.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'vggsmall' }, mode: { type: 'string', default: 'train' },
    backend: { type: 'string', default: 'wasm' }, threads: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' }, top: { type: 'string', default: '25' }, callers: { type: 'string' },
  },
});
const dir = mkdtempSync(join(tmpdir(), 'convkit-prof-'));
const r = spawnSync(process.execPath, [
  '--cpu-prof', '--cpu-prof-dir', dir, '--import', 'tsx', 'bench/peers/convkit.ts',
  '--model', values.model, '--mode', values.mode, '--backend', values.backend, '--threads', values.threads,
  '--seconds', values.seconds, '--repeats', '1', '--warmup', '1', '--max-step', '1000',
], { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  console.error(r.stderr);
  process.exit(1);
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
rmSync(dir, { recursive: true, force: true });

// Self time per node = its samples x the sampling interval; group nodes by function name and file.
const interval = (profile.endTime - profile.startTime) / profile.samples.length;
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const byName = new Map();
let total = 0;
for (const n of profile.nodes) {
  const c = counts.get(n.id) ?? 0;
  if (!c) continue;
  const f = n.callFrame;
  const where = f.url ? f.url.replace(/^.*\/work\/main\//, '').replace(/^file:\/\//, '') : '';
  const name = `${f.functionName || '(anonymous)'}${where ? `  ${where}${f.url.startsWith('wasm') ? '' : `:${f.lineNumber + 1}`}` : ''}`;
  byName.set(name, (byName.get(name) ?? 0) + c);
  total += c;
}
const result = r.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
console.log(`${values.model} ${values.mode}, convkit ${values.backend}${values.backend === 'wasm' ? ` ${values.threads} thread(s)` : ''}: ${result ? JSON.parse(result.slice(13)).imagesPerSec.toFixed(1) : '?'} images/s while profiled`);
console.log(`self time of the calling thread, ${(total * interval / 1e6).toFixed(1)} s sampled:`);
for (const [name, c] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${((100 * c) / total).toFixed(1).padStart(5)}%  ${name}`);
}
if (values.callers) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
  const chains = new Map();
  for (const n of profile.nodes) {
    const c = counts.get(n.id) ?? 0;
    if (!c || !n.callFrame.functionName.includes(values.callers)) continue;
    const chain = [];
    // named callers only: the ops call kernels through anonymous closures (withArgs((M) => run(...)))
    for (let id = parentOf.get(n.id); id !== undefined && chain.length < 3; id = parentOf.get(id)) {
      const name = byId.get(id).callFrame.functionName;
      if (name && name !== '(anonymous)') chain.push(name);
    }
    const key = `${n.callFrame.functionName} < ${chain.join(' < ')}`;
    chains.set(key, (chains.get(key) ?? 0) + c);
  }
  console.log(`self time of functions matching '${values.callers}', by callers:`);
  for (const [key, c] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    console.log(`${((100 * c) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
}
