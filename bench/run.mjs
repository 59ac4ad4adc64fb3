#!/usr/bin/env node
/**
 * convkit benchmarks: `npm run bench` from the project root (never part of `npm test`).
 *
 * Runs every (mode, model, peer) cell in its own child process, one after another, and prints Markdown
 * tables of images/s and of the ratio convkit / peer; a full run writes them to BENCHMARKS.md with the
 * machine, the versions and the command. Peers: convkit (reference, wasm 1 thread, wasm 2 threads),
 * TensorFlow.js cpu and wasm, ConvNetJS, onnxruntime-node (inference) and PyTorch (Debian's python3-torch).
 * Protocol: bench/lib/timing.mjs. Options:
 *
 *   --quick              smoke run: 1 s timed runs, 0.3 s warm-up, 3 s step cap; writes bench/results/quick.md
 *   --seconds S          length of each timed run (default 10)       --repeats R   timed runs per cell (3)
 *   --warmup S           warm-up seconds (default 2)                 --max-step S  longest full-batch step
 *                        before a cell is estimated at batch 8 (default 30)
 *   --models a,b         subset of mlp,lenet5,vggsmall,resnet20      --modes train,infer
 *   --peers a,b          subset of the peer ids (see PEERS; `pytorch-1` is extra, off by default)
 *   --out FILE           Markdown output (default BENCHMARKS.md; `-` = print only)
 *   --no-gemm            skip the GEMM micro-benchmark (bench/gemm.mjs)
 *   --timeout S          kill a cell after S seconds (default 900)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
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
  },
});
const protocol = {
  seconds: Number(opts.seconds ?? (opts.quick ? 1 : 10)),
  repeats: Number(opts.repeats ?? 3),
  warmup: Number(opts.warmup ?? (opts.quick ? 0.3 : 2)),
  maxStep: Number(opts['max-step'] ?? (opts.quick ? 3 : 30)),
};
const models = opts.models ? opts.models.split(',') : MODELS;
const modes = opts.modes ? opts.modes.split(',') : ['train', 'infer'];
const peers = opts.peers ? opts.peers.split(',').map((id) => PEERS.find((p) => p.id === id) ?? fail(`unknown peer '${id}' (known: ${PEERS.map((p) => p.id).join(', ')})`)) : PEERS.filter((p) => !p.extra);
for (const m of models) if (!MODELS.includes(m)) fail(`unknown model '${m}' (known: ${MODELS.join(', ')})`);
for (const m of modes) if (m !== 'train' && m !== 'infer') fail(`unknown mode '${m}' (train or infer)`);
const outFile = opts.out === '-' ? null : join(root, opts.out ?? (opts.quick ? 'bench/results/quick.md' : 'BENCHMARKS.md'));
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

// ---- formatting

/** A peer's --info answer in words: "backend native avx2; 2 threads; ...". */
function peerDetails(i) {
  const backend = i.backend && `backend ${i.backend}${i.isa ? ` ${i.isa}` : ''}`;
  return [backend, i.threads && `${i.threads} thread${i.threads === 1 ? '' : 's'}`, i.detail, i.blas].filter(Boolean).join('; ');
}

function fmt(x) {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}
const fmtRatio = (r) => `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2)}x`;

/** A table cell's text; notes become footnotes (cells with the same note share one). */
function cellText(cell, mode, footnotes, where) {
  if (!cell) return '';
  const mark = (note) => {
    const text = cell.status === 'ok' ? `${where}: ${note}` : note;
    let k = footnotes.indexOf(text);
    if (k < 0) k = footnotes.push(text) - 1;
    return `[^${k + 1}]`;
  };
  switch (cell.status) {
    case 'ok':
      return cell.estimate ? `~${fmt(cell.imagesPerSec)} (est.)${mark(cell.note)}` : fmt(cell.imagesPerSec);
    case 'cannot':
      return `${cell.note?.startsWith('cannot express') ? 'cannot express' : mode === 'train' ? 'cannot train' : 'cannot run'}${mark(cell.note)}`;
    case 'unavailable':
      return 'not available';
    case 'skipped':
      return '-';
    default:
      return `failed${mark(`${cell.status}: ${cell.note}`)}`;
  }
}

function table(header, rows, numeric = true) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 || !numeric ? '---' : '---:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

// ---- main

async function main() {
  const started = new Date();
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

  const cells = [];
  const results = new Map(); // `${mode}/${model}/${peer}` -> cell
  for (const mode of modes) for (const model of models) for (const peer of peers) if (!peer.modes || peer.modes.includes(mode)) cells.push({ mode, model, peer });
  const loads = [];
  let i = 0;
  for (const { mode, model, peer } of cells) {
    i++;
    const key = `${mode}/${model}/${peer.id}`;
    if (info.get(peer.id).status !== 'ok') {
      results.set(key, { status: 'unavailable' });
      continue;
    }
    const load = await backgroundLoad();
    if (load !== null) loads.push(load);
    const t0 = Date.now();
    const r = await runChild(peer.cmd, [...peer.args, '--model', model, '--mode', mode, ...protocolArgs(protocol)], cellTimeout, envs.get(peer.id));
    r.backgroundLoad = load;
    results.set(key, r);
    const shown = r.status === 'ok' ? `${fmt(r.imagesPerSec)} images/s${r.estimate ? ' (estimate at batch 8)' : ''}` : `${r.status}: ${r.note}`;
    log(`[${i}/${cells.length}] ${mode} ${model} ${peer.label}: ${shown} (${((Date.now() - t0) / 1000).toFixed(0)} s, background load ${load === null ? '?' : `${(load * 100).toFixed(0)}%`})`);
  }

  let gemm = null;
  if (!opts['no-gemm'] && existsSync(join(benchDir, 'gemm.mjs'))) {
    log('bench: GEMM micro-benchmark (bench/gemm.mjs --threads 1,2 --sizes 1024 --conv)');
    const r = spawnSync(node, [...tsx, 'bench/gemm.mjs', '--threads', '1,2', '--sizes', '1024', '--conv'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
    gemm = r.status === 0 ? r.stdout.trim() : `failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' ')}`;
  }

  const finished = new Date();
  const markdown = report({ started, finished, info, results, loads, gemm });
  process.stdout.write(`${markdown}\n`);
  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true });
    const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
    const notes = previous.match(/<!-- notes:start -->[\s\S]*<!-- notes:end -->/)?.[0] ?? '<!-- notes:start -->\n<!-- notes:end -->';
    writeFileSync(outFile, `${markdown}\n\n## Notes\n\nWritten by hand and kept when the command rewrites this file.\n\n${notes}\n`);
    log(`bench: wrote ${relative(root, outFile)}`);
  }
  const jsonFile = join(benchDir, 'results', opts.quick ? 'quick.json' : 'latest.json');
  mkdirSync(dirname(jsonFile), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify({ command, started, finished, protocol, info: Object.fromEntries(info), results: Object.fromEntries(results), gemm }, null, 1));
}

function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? '?';
  const flags = cpuinfo.match(/^flags\s*:\s*(.*)$/m)?.[1].split(' ') ?? [];
  const simd = ['avx2', 'fma', 'avx512f'].filter((f) => flags.includes(f)).join(', ');
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || String(cpus().length);
  const mhz = cpuinfo.match(/^cpu MHz\s*:\s*(.*)$/m)?.[1];
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '?';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'asm'], { cwd: root, encoding: 'utf8' }).stdout?.trim() ? ' (with uncommitted changes in src/ or asm/)' : '';
  return { model, simd, nproc, mhz, git: `${git}${dirty}`, mem: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at the end)` };
}

function report({ started, finished, info, results, loads, gemm }) {
  const m = machine();
  const out = [];
  const meanLoad = loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : null;
  const maxLoad = loads.length ? Math.max(...loads) : null;
  const busy = maxLoad !== null && (meanLoad > 0.1 || maxLoad > 0.3);
  out.push('# Benchmarks', '');
  out.push(`Generated by \`${command}\` (bench/run.mjs) from ${started.toISOString()} to ${finished.toISOString()}. Every figure below`);
  out.push('was measured by that command in that run; a figure marked "est." was measured at a smaller batch (see its note).', '');
  out.push('## Machine', '');
  out.push(`- CPU: ${m.model}, \`nproc\` = ${m.nproc}${m.mhz ? `, ${Number(m.mhz).toFixed(0)} MHz` : ''}; SIMD: ${m.simd || 'none of avx2/fma/avx512f'}`);
  out.push(`- Memory: ${m.mem}; Linux ${release()}; Node ${process.version}; convkit commit ${m.git}`);
  if (meanLoad !== null) {
    const loadLine = `- Other processes' share of the CPU, sampled for 0.5 s before each cell: mean ${(meanLoad * 100).toFixed(0)}%, max ${(maxLoad * 100).toFixed(0)}% (1-min load average at the end: ${loadavg()[0].toFixed(2)})`;
    out.push(busy ? `${loadLine}. **The machine was shared with other work during this run: the figures are noisy.**` : `${loadLine}: the machine was otherwise idle.`);
  }
  out.push('', '## Peers', '');
  out.push(table(['peer', 'version', 'details'], peers.map((p) => {
    const i = info.get(p.id);
    if (i.status !== 'ok') return [p.label, 'not available', i.note ?? ''];
    return [p.label, i.version, peerDetails(i)];
  }), false));

  const footnotes = [];
  for (const mode of modes) {
    const title = mode === 'train'
      ? 'Training: images/s (batch 64; resnet20 batch 128; forward, cross-entropy, backward, SGD momentum 0.9)'
      : 'Inference: images/s (batch 256, eval mode)';
    out.push('', `## ${title}`, '');
    const rows = peers.filter((p) => !p.modes || p.modes.includes(mode)).map((p) => [p.label, ...models.map((model) => cellText(results.get(`${mode}/${model}/${p.id}`), mode, footnotes, `${p.label}, ${model} ${mode === 'train' ? 'training' : 'inference'}`))]);
    out.push(table(['peer', ...models], rows));
  }

  // How much CPU each peer got: on an idle machine a 1-thread peer shows ~1.0 and a 2-thread one up to ~2.0.
  const cpuRows = [];
  for (const mode of modes) {
    for (const p of peers.filter((q) => !q.modes || q.modes.includes(mode))) {
      const row = models.map((model) => {
        const c = results.get(`${mode}/${model}/${p.id}`);
        return c?.status === 'ok' && c.cpuSeconds !== undefined && c.wallSeconds ? (c.cpuSeconds / c.wallSeconds).toFixed(2) : '';
      });
      if (row.some((x) => x !== '')) cpuRows.push([`${p.label}, ${mode === 'train' ? 'training' : 'inference'}`, ...row]);
    }
  }
  if (cpuRows.length) {
    out.push('', '<details><summary>CPU-seconds per wall-second of each peer during its timed runs</summary>', '');
    out.push('A single-threaded peer shows about 1.00 when it had a core to itself, a 2-thread peer up to about 2.00 (thread pools that spin while waiting count too); lower figures mean other processes took the CPU.', '');
    out.push(table(['', ...models], cpuRows), '', '</details>');
  }

  // Ratios: convkit's best backend for each cell against every other peer.
  const best = (mode, model) => {
    let top = null;
    for (const p of peers.filter((q) => q.convkit)) {
      const c = results.get(`${mode}/${model}/${p.id}`);
      if (c?.status === 'ok' && (top === null || c.imagesPerSec > top.cell.imagesPerSec)) top = { cell: c, peer: p };
    }
    return top;
  };
  const ratio = (a, b) => (a?.status === 'ok' && b?.status === 'ok' ? a.imagesPerSec / b.imagesPerSec : null);
  const ratioText = (a, b) => {
    const r = ratio(a, b);
    if (r === null) return b?.status === 'cannot' ? (b.note?.startsWith('cannot express') ? 'n/a' : 'cannot') : '-';
    return a.estimate || b.estimate ? `~${fmtRatio(r)}` : fmtRatio(r);
  };
  const others = peers.filter((p) => !p.convkit);
  if (others.length && peers.some((p) => p.convkit)) {
    for (const mode of modes) {
      out.push('', `## convkit (best backend) / peer, ${mode === 'train' ? 'training' : 'inference'}`, '');
      out.push('Above 1x convkit is faster. "~" when either figure is an estimate.', '');
      const bestRow = ['convkit best backend', ...models.map((model) => {
        const b = best(mode, model);
        return b ? `${fmt(b.cell.imagesPerSec)} (${b.peer.label.replace('convkit ', '')})` : '-';
      })];
      const rows = others.filter((p) => !p.modes || p.modes.includes(mode)).map((p) => [p.label, ...models.map((model) => ratioText(best(mode, model)?.cell, results.get(`${mode}/${model}/${p.id}`)))]);
      out.push(table(['', ...models], [bestRow, ...rows]));
    }
    out.push('', ...targets(results, ratio, ratioText, gemm));
  }

  if (gemm !== null) out.push('', '## GEMM micro-benchmark (bench/gemm.mjs, wasm backend)', '', '```', gemm, '```');

  out.push('', '## Protocol', '');
  out.push(`- Each cell (mode, model, peer) runs in its own child process of \`bench/run.mjs\`, one after another.`);
  out.push(`- Inputs: a fixed batch of seeded random values (1x28x28, or 3x32x32 for resnet20) and random labels of 10 classes.`);
  out.push(`- Training step: forward, cross-entropy, backward, SGD (lr 0.01, momentum 0.9), loss read back. Inference: eval mode, no gradients, logits read back.`);
  out.push(`- Timing: one cold step at batch 8 predicts a full-batch step; if that is over ${protocol.maxStep} s (twice), the cell is timed at batch 8 for ${protocol.seconds} s (at least one step) and marked "est.". Otherwise warm-up >= ${protocol.warmup} s (and >= 2 steps), then ${protocol.repeats} timed runs of >= ${protocol.seconds} s each (whole steps); the figure is the median.`);
  out.push(`- Models: the same layers and parameter counts in every peer (mlp 269,322; lenet5 61,706; vggsmall 870,634; resnet20 272,474, checked by each peer); bench/python/bench_models.py is the PyTorch definition, exported to bench/onnx/ for onnxruntime.`);
  out.push(`- TensorFlow.js runs channels-last (NHWC) because its convolutions are NHWC; ConvNetJS is float64 and one example at a time (its Trainer sums the batch's gradients and updates every batch), and cannot express resnet20 (no residual additions, no batch norm).`);
  if (footnotes.length) out.push('', ...footnotes.map((n, k) => `[^${k + 1}]: ${n}`));
  return out.join('\n');
}

/** The targets of issue 5, checked against this run's figures (convkit wasm with 2 threads). */
function targets(results, ratio, ratioText, gemm) {
  const k = (mode, model) => results.get(`${mode}/${model}/convkit-wasm-2`);
  const peer = (mode, model, id) => results.get(`${mode}/${model}/${id}`);
  const rows = [];
  const check = (label, a, b, goal) => {
    const r = ratio(a, b);
    rows.push([label, ratioText(a, b), `>= ${goal}x`, r === null ? '-' : r >= goal ? (a.estimate || b.estimate ? 'yes (est.)' : 'yes') : (a.estimate || b.estimate ? '**no** (est.)' : '**no**')]);
  };
  for (const model of ['lenet5', 'vggsmall', 'resnet20'].filter((x) => models.includes(x))) {
    let fastest = null;
    for (const id of ['tfjs-cpu', 'tfjs-wasm', 'convnetjs']) {
      const c = peer('train', model, id);
      if (c?.status === 'ok' && (fastest === null || c.imagesPerSec > fastest.cell.imagesPerSec)) fastest = { cell: c, id };
    }
    check(`training ${model}: vs fastest JS peer that trains it${fastest ? ` (${fastest.id})` : ''}`, k('train', model), fastest?.cell, 30);
  }
  for (const [model, goal] of [['lenet5', 1], ['vggsmall', 1], ['mlp', 8], ['resnet20', 0.5]]) {
    if (models.includes(model)) check(`training ${model}: vs PyTorch (2 threads)`, k('train', model), peer('train', model, 'pytorch'), goal);
  }
  for (const model of models) {
    check(`inference ${model}: vs TensorFlow.js wasm`, k('infer', model), peer('infer', model, 'tfjs-wasm'), 3);
    check(`inference ${model}: vs onnxruntime-node`, k('infer', model), peer('infer', model, 'onnxruntime'), 0.3);
  }
  if (gemm) {
    const section = gemm.split(/^threads=/m).find((s) => s.startsWith('2:'));
    const pct = section?.match(/1024\^3\s+[\d.]+ GFLOPS\s+(\d+)% of peak/)?.[1];
    rows.push(['SGEMM 1024^3, 2 threads: share of the measured SIMD peak', pct ? `${pct}%` : '-', '>= 85%', pct ? (Number(pct) >= 85 ? 'yes' : '**no**') : '-']);
  }
  return ['## Targets of issue 5 (convkit wasm, 2 threads, same run)', '', table(['target', 'measured', 'goal', 'met'], rows)];
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
