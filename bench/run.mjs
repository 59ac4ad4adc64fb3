#!/usr/bin/env node
/**
 * convkit benchmarks: `npm run bench` from the project root (never part of `npm test`).
 *
 * Runs every (mode, model, peer) cell in its own child process, one after another, and prints Markdown
 * tables of images/s and of the ratio convkit / peer (bench/lib/report.mjs); a full run writes them to
 * BENCHMARKS.md with the machine (lscpu's CPU model and SIMD flags, the load average at the start and the end),
 * the versions and the command. Peers: convkit (reference; wasm and native, 1 and 2 threads), TensorFlow.js cpu
 * and wasm, ConvNetJS, onnxruntime-node (inference), PyTorch (Debian's python3-torch) and PyTorch + OpenBLAS
 * (bench/openblas.mjs). Then the GEMM micro-benchmark (bench/gemm.mjs), and when native runs, a full run times
 * `convkit demo` on native vs wasm (bench/demo-speed.mjs). Protocol: bench/lib/timing.mjs. Options:
 *
 *   --quick              smoke run: 1 s timed runs, 0.3 s warm-up, 3 s step cap; writes bench/results/quick.md
 *   --seconds S          length of each timed run (default 10)       --repeats R   timed runs per cell (3)
 *   --warmup S           warm-up seconds (default 2)                 --max-step S  longest full-batch step
 *                        before a cell is estimated at batch 8 (default 30)
 *   --models a,b         subset of mlp,lenet5,vggsmall,resnet20      --modes train,infer
 *   --peers a,b          subset of the peer ids (see PEERS; `pytorch-1` is extra, off by default)
 *   --out FILE           Markdown output (default BENCHMARKS.md; `-` = print only)
 *   --no-gemm            skip the GEMM micro-benchmark (bench/gemm.mjs: wasm and native)
 *   --no-demo / --demo   skip the demo timing of a full run / add a 1-epoch subset demo to a --quick run (both only
 *                        when native runs)
 *   --timeout S          kill a cell after S seconds (default 900)
 *   --rounds R           run every cell R times (default 1), the peers of each model in reverse order every other
 *                        round, and report each cell's median images/s: on a machine whose speed drifts over
 *                        minutes (a shared host), peers compared in interleaved rounds see the same drift
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage } from './lib/machine.mjs';
import { fmt, mergeWithPrevious, peerDetails, report } from './lib/report.mjs';
import { ensureOpenBlas } from './openblas.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const MODELS = ['mlp', 'lenet5', 'vggsmall', 'resnet20'];
const PYTHON = '/usr/bin/python3';
const node = process.execPath;
const tsx = ['--import', 'tsx'];

/** Every peer: how to run one cell (extra args are appended), which modes it has, whether it is convkit. */
const PEERS = [
  { id: 'convkit-reference', label: 'convkit reference', convkit: true, cmd: node, args: [...tsx, 'bench/peers/convkit.ts', '--backend', 'reference'] },
  { id: 'convkit-wasm-1', label: 'convkit wasm, 1 thread', convkit: true, cmd: node, args: [...tsx, 'bench/peers/convkit.ts', '--backend', 'wasm', '--threads', '1'] },
  { id: 'convkit-wasm-2', label: 'convkit wasm, 2 threads', convkit: true, cmd: node, args: [...tsx, 'bench/peers/convkit.ts', '--backend', 'wasm', '--threads', '2'] },
  { id: 'convkit-native-1', label: 'convkit native, 1 thread', convkit: true, cmd: node, args: [...tsx, 'bench/peers/convkit.ts', '--backend', 'native', '--threads', '1'] },
  { id: 'convkit-native-2', label: 'convkit native, 2 threads', convkit: true, cmd: node, args: [...tsx, 'bench/peers/convkit.ts', '--backend', 'native', '--threads', '2'] },
  { id: 'tfjs-cpu', label: 'TensorFlow.js cpu', js: true, cmd: node, args: ['bench/peers/tfjs.mjs', '--backend', 'cpu'] },
  { id: 'tfjs-wasm', label: 'TensorFlow.js wasm', js: true, cmd: node, args: ['bench/peers/tfjs.mjs', '--backend', 'wasm'] },
  { id: 'convnetjs', label: 'ConvNetJS', js: true, cmd: node, args: ['bench/peers/convnetjs.mjs'] },
  { id: 'onnxruntime', label: 'onnxruntime-node, 2 threads', modes: ['infer'], cmd: node, args: ['bench/peers/onnxruntime.mjs', '--threads', '2'] },
  { id: 'pytorch', label: 'PyTorch, 2 threads', cmd: PYTHON, args: ['bench/python/torch_bench.py', '--threads', '2'] },
  // Debian's PyTorch calling OpenBLAS (unpacked under bench/.openblas/ by bench/openblas.mjs) instead of the
  // reference BLAS: the strongest PyTorch this machine can run. The peer checks in-process that OpenBLAS is mapped.
  { id: 'pytorch-openblas', label: 'PyTorch + OpenBLAS, 2 threads', cmd: PYTHON, args: ['bench/python/torch_bench.py', '--threads', '2', '--expect-blas', 'openblas'], env: openBlasEnvironment },
  { id: 'pytorch-1', label: 'PyTorch, 1 thread', extra: true, cmd: PYTHON, args: ['bench/python/torch_bench.py', '--threads', '1'] },
];

/** The pytorch-openblas peer's environment: OpenBLAS's folder first in LD_LIBRARY_PATH (unpacked if missing). */
function openBlasEnvironment() {
  const folder = ensureOpenBlas({ log });
  return { LD_LIBRARY_PATH: [folder, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
}

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' }, repeats: { type: 'string' }, warmup: { type: 'string' }, 'max-step': { type: 'string' },
    models: { type: 'string' }, modes: { type: 'string' }, peers: { type: 'string' },
    out: { type: 'string' }, 'no-gemm': { type: 'boolean', default: false }, timeout: { type: 'string', default: '900' },
    demo: { type: 'boolean', default: false }, 'no-demo': { type: 'boolean', default: false }, rounds: { type: 'string', default: '1' },
  },
});

const protocol = {
  seconds: Number(opts.seconds ?? (opts.quick ? 1 : 10)),
  repeats: Number(opts.repeats ?? 3),
  warmup: Number(opts.warmup ?? (opts.quick ? 0.3 : 2)),
  maxStep: Number(opts['max-step'] ?? (opts.quick ? 3 : 30)),
  rounds: Number(opts.rounds),
};
const rounds = protocol.rounds;
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a positive integer, got '${opts.rounds}'`);
const models = opts.models ? opts.models.split(',') : MODELS;
const modes = opts.modes ? opts.modes.split(',') : ['train', 'infer'];
const peers = opts.peers ? opts.peers.split(',').map((id) => PEERS.find((p) => p.id === id) ?? fail(`unknown peer '${id}' (known: ${PEERS.map((p) => p.id).join(', ')})`)) : PEERS.filter((p) => !p.extra);
for (const m of models) if (!MODELS.includes(m)) fail(`unknown model '${m}' (known: ${MODELS.join(', ')})`);
for (const m of modes) if (m !== 'train' && m !== 'infer') fail(`unknown mode '${m}' (train or infer)`);
const outFile = opts.out === '-' ? null : resolve(root, opts.out ?? (opts.quick ? 'bench/results/quick.md' : 'BENCHMARKS.md'));
const cellTimeout = Number(opts.timeout) * 1000;
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}
const log = (message) => process.stderr.write(`${message}\n`);

// ---- setup: the bench's own dependencies, the ONNX models

function ensureInstalled() {
  if (existsSync(join(benchDir, 'node_modules', '@tensorflow', 'tfjs')) && existsSync(join(benchDir, 'node_modules', 'onnxruntime-node'))) return;
  log('bench: installing the peers into bench/node_modules (npm ci, onnxruntime-node without its CUDA download)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: benchDir, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  if (r.status !== 0) fail('npm ci in bench/ failed');
}

function torchAvailable() {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

function ensureOnnx() {
  const missing = MODELS.filter((m) => !existsSync(join(benchDir, 'onnx', `${m}.onnx`)));
  if (missing.length === 0) return null;
  if (!torchAvailable()) return `bench/onnx/${missing[0]}.onnx is missing and PyTorch is not available to export it`;
  log('bench: exporting the ONNX models (bench/python/export_onnx.py)');
  const r = spawnSync(PYTHON, ['bench/python/export_onnx.py'], { cwd: root, stdio: 'inherit' });
  return r.status === 0 ? null : 'export_onnx.py failed';
}

// ---- running cells

/** Share of the CPU used by other processes during a short idle window (we run nothing meanwhile). */
async function backgroundLoad(ms = 500) {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = read();
    await new Promise((r) => setTimeout(r, ms));
    const b = read();
    return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0;
  } catch {
    return null;
  }
}

/** Run one child; resolve with its BENCH_RESULT object, or { status: 'error' | 'timeout', note }. */
function runChild(cmd, args, timeoutMs, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 'error', note: `could not start ${cmd}: ${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').reverse().find((l) => l.startsWith('BENCH_RESULT '));
      if (timedOut) return resolve({ status: 'timeout', note: `killed after ${timeoutMs / 1000} s` });
      if (code === 0 && line) return resolve({ status: 'ok', ...JSON.parse(line.slice('BENCH_RESULT '.length)) });
      const lines = stderr.trim().split('\n').filter((l) => l.trim() && !/^\s+at /.test(l) && !/^=+$/.test(l.trim()));
      const reason = lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? `exit code ${code}`;
      resolve({ status: 'error', note: reason.trim().slice(0, 300) });
    });
  });
}

const protocolArgs = (p) => ['--seconds', String(p.seconds), '--repeats', String(p.repeats), '--warmup', String(p.warmup), '--max-step', String(p.maxStep)];

// ---- main

async function main() {
  const started = new Date();
  const loadStart = loadAverage();
  log(`bench: load average ${loadStart}`);
  ensureInstalled();

  // Which peers run here, and their versions.
  const info = new Map();
  const envs = new Map(); // peer id -> extra environment of its children
  const onnxProblem = peers.some((p) => p.id === 'onnxruntime') ? ensureOnnx() : null;
  for (const peer of peers) {
    let r = null;
    let env = {};
    try {
      env = peer.env?.() ?? {};
    } catch (error) {
      r = { status: 'unavailable', note: error.message };
    }
    envs.set(peer.id, env);
    if (r === null) {
      if (peer.cmd === PYTHON && !torchAvailable()) r = { status: 'unavailable', note: `${PYTHON} -c 'import torch' fails` };
      else if (peer.id === 'onnxruntime' && onnxProblem !== null) r = { status: 'unavailable', note: onnxProblem };
      else r = await runChild(peer.cmd, [...peer.args, '--info'], 120_000, env);
    }
    if (r.status !== 'ok') r = { ...r, status: 'unavailable' };
    info.set(peer.id, r);
    log(`bench: ${peer.label}: ${r.status === 'ok' ? `available (${peerDetails(r)})` : `not available (${r.note})`}`);
  }

  // One group per (mode, model): its peers run one after another, in reverse order every other round.
  const groups = [];
  for (const mode of modes) for (const model of models) {
    const group = peers.filter((peer) => !peer.modes || peer.modes.includes(mode)).map((peer) => ({ mode, model, peer }));
    if (group.length > 0) groups.push(group);
  }
  const total = groups.reduce((n, g) => n + g.length, 0) * rounds;
  const runs = new Map(); // `${mode}/${model}/${peer}` -> the cell's result in every round
  const loads = [];
  let i = 0;
  for (let round = 0; round < rounds; round++) {
    for (const group of groups) {
      for (const { mode, model, peer } of round % 2 === 1 ? [...group].reverse() : group) {
        i++;
        const key = `${mode}/${model}/${peer.id}`;
        if (!runs.has(key)) runs.set(key, []);
        if (info.get(peer.id).status !== 'ok') {
          runs.get(key).push({ status: 'unavailable' });
          continue;
        }
        const load = await backgroundLoad();
        if (load !== null) loads.push(load);
        const t0 = Date.now();
        const r = await runChild(peer.cmd, [...peer.args, '--model', model, '--mode', mode, ...protocolArgs(protocol)], cellTimeout, envs.get(peer.id));
        r.backgroundLoad = load;
        runs.get(key).push(r);
        const shown = r.status === 'ok' ? `${fmt(r.imagesPerSec)} images/s${r.estimate ? ' (estimate at batch 8)' : ''}` : `${r.status}: ${r.note}`;
        log(`[${i}/${total}] ${mode} ${model} ${peer.label}: ${shown} (${((Date.now() - t0) / 1000).toFixed(0)} s, background load ${load === null ? '?' : `${(load * 100).toFixed(0)}%`})`);
      }
    }
  }
  const results = new Map([...runs].map(([key, list]) => [key, medianRun(list)]));

  const nativeRuns = ['convkit-native-1', 'convkit-native-2'].some((id) => info.get(id)?.status === 'ok');
  // wasm and (where its addon loads) native, each against its own peak measured in the same process.
  const gemm = opts['no-gemm'] ? null : gemmBenchmark(['--threads', '1,2', '--sizes', '1024', '--conv']);
  const demo = nativeRuns && !opts['no-demo'] && (opts.demo || !opts.quick) ? demoSpeed() : null;

  const finished = new Date();
  const markdown = report({ command, root, started, finished, loadStart, loadEnd: loadAverage(), protocol, peers, models, modes, info, results, loads, gemm, demo });
  process.stdout.write(`${markdown}\n`);
  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true });
    const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
    writeFileSync(outFile, mergeWithPrevious(previous, markdown));
    log(`bench: wrote ${relative(root, outFile)}`);
  }
  const jsonFile = join(benchDir, 'results', opts.quick ? 'quick.json' : 'latest.json');
  mkdirSync(dirname(jsonFile), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify({ command, started, finished, protocol, info: Object.fromEntries(info), results: Object.fromEntries(results), gemm, demo }, null, 1));
}

/**
 * One cell's result over the rounds: the run with the median images/s (for an even count, the lower of the two
 * middle runs, with images/s the mean of both), with every round's figure in `roundsImagesPerSec`; a cell that
 * failed in any round reports that failure.
 */
function medianRun(list) {
  if (list.length === 1) return list[0];
  const failed = list.find((r) => r.status !== 'ok');
  if (failed) return failed;
  const sorted = [...list].sort((a, b) => a.imagesPerSec - b.imagesPerSec);
  const lower = sorted[(sorted.length - 1) >> 1], upper = sorted[sorted.length >> 1];
  return { ...lower, imagesPerSec: (lower.imagesPerSec + upper.imagesPerSec) / 2, roundsImagesPerSec: list.map((r) => r.imagesPerSec) };
}

/** bench/gemm.mjs's output with `args`, or "failed: ..." with its last lines of stderr. */
function gemmBenchmark(args) {
  log(`bench: GEMM micro-benchmark (bench/gemm.mjs ${args.join(' ')})`);
  const r = spawnSync(node, [...tsx, 'bench/gemm.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  return r.status === 0 ? r.stdout.trim() : `failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' ')}`;
}

/**
 * `convkit demo` on native and on wasm (bench/demo-speed.mjs): its Markdown and speedup, or why it failed. A --quick
 * run (with --demo) only smoke-tests it: 1 epoch on the shipped subset.
 */
function demoSpeed() {
  const args = ['--rounds', '2', ...(opts.quick ? ['--subset', '--epochs', '1'] : [])];
  log(`bench: convkit demo, native vs wasm (bench/demo-speed.mjs ${args.join(' ')})`);
  const r = spawnSync(node, ['bench/demo-speed.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 3_600_000 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('DEMO_SPEED '));
  if (r.status !== 0 || !line) return { failed: (r.stderr || `exit code ${r.status}`).trim().split('\n').at(-1), command: `node bench/demo-speed.mjs ${args.join(' ')}` };
  const { speedup } = JSON.parse(line.slice('DEMO_SPEED '.length));
  return { markdown: r.stdout.slice(0, r.stdout.indexOf('DEMO_SPEED ')).trim(), speedup, command: `node bench/demo-speed.mjs ${args.join(' ')}` };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
