#!/usr/bin/env node
/**
 * The explorer's in-page training speed against Node's, same model, threads and machine, in one run
 * (issue: in-page images/s at least 0.8x Node's). Both sides run web/explorer/engine/speed.ts: in Node through
 * bench/explorer-speed-node.ts (a child process), in the page through the explorer's engine worker
 * (`engine.measureSpeed`) in headless Debian Chromium, served cross-origin isolated. Node and page runs alternate
 * per model so drift in the machine's load hits both.
 *
 *   node bench/explorer-speed.mjs [--models mlp,lenet5,vggsmall,resnet20] [--threads 2] [--seconds 4] [--repeats 3]
 *                                [--write]   (replaces the explorer section of BENCHMARKS.md)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.mjs';
import { serveStatic } from '../scripts/serve-web.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: {
  models: { type: 'string', default: 'mlp,lenet5,vggsmall,resnet20' }, threads: { type: 'string', default: '2' },
  seconds: { type: 'string', default: '4' }, repeats: { type: 'string', default: '3' }, warmup: { type: 'string', default: '2' },
  batch: { type: 'string', default: '64' }, write: { type: 'boolean', default: false },
} });
const models = values.models.split(',');
const threads = Number(values.threads);
const options = { batchSize: Number(values.batch), warmupSeconds: Number(values.warmup), seconds: Number(values.seconds), repeats: Number(values.repeats) };
const cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? '?';
const load = loadavg().map((v) => v.toFixed(2)).join(' ');
console.log(`explorer-speed: ${cpuModel}, ${cpus().length} cores, load average ${load}; wasm, ${threads} thread(s), batch ${options.batchSize}`);

const outdir = mkdtempSync(join(tmpdir(), 'convkit-explorer-speed-'));
await buildWeb({ outdir, minify: true });
const server = await serveStatic({ mounts: [{ prefix: '/', dir: outdir }, { prefix: '/data/', dir: join(root, 'data') }] });
const browser = await chromium.launch({ executablePath: process.env.CONVKIT_CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'] });
const rows = [];
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('body[data-engine=ready], body[data-error]', { state: 'attached', timeout: 60_000 });
  const info = await page.evaluate((t) => window.convkitExplorer.client.call('engine.init', { backend: 'wasm', threads: t }), threads);
  console.log(`page engine: ${info.backend} (cross-origin isolated: ${info.crossOriginIsolated})`);
  for (const model of models) {
    const nodeRun = () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/explorer-speed-node.ts'), '--model', model, '--batch', String(options.batchSize),
        '--threads', String(threads), '--warmup', String(options.warmupSeconds), '--seconds', String(options.seconds), '--repeats', String(options.repeats)], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`node side failed for ${model}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop());
    };
    const pageRun = () => page.evaluate((p) => window.convkitExplorer.client.call('engine.measureSpeed', p), { model, ...options });
    // Alternate: node, page, node, page; each side's figure is the better of its two medians (the other one
    // is more likely to have shared the cores with something else).
    const n1 = nodeRun(); const p1 = await pageRun(); const n2 = nodeRun(); const p2 = await pageRun();
    const nodeIps = Math.max(n1.imagesPerSecond, n2.imagesPerSecond), pageIps = Math.max(p1.imagesPerSecond, p2.imagesPerSecond);
    rows.push({ model, nodeIps, pageIps, ratio: pageIps / nodeIps });
    console.log(`${model}: node ${nodeIps.toFixed(0)} images/s (${n1.imagesPerSecond.toFixed(0)}, ${n2.imagesPerSecond.toFixed(0)}), page ${pageIps.toFixed(0)} (${p1.imagesPerSecond.toFixed(0)}, ${p2.imagesPerSecond.toFixed(0)}), page/node ${(pageIps / nodeIps).toFixed(2)}`);
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(outdir, { recursive: true, force: true });
}
const table = [
  `| model | Node images/s | page images/s | page / Node (goal >= 0.8) |`,
  `|---|---:|---:|---:|`,
  ...rows.map((r) => `| ${r.model} | ${r.nodeIps.toFixed(0)} | ${r.pageIps.toFixed(0)} | ${r.ratio.toFixed(2)} |`),
].join('\n');
console.log('\n' + table);
if (values.write) {
  const path = join(root, 'BENCHMARKS.md');
  const begin = '<!-- explorer-speed:begin -->', end = '<!-- explorer-speed:end -->';
  const section = `${begin}\n## The explorer: training in the page vs in Node\n\n` +
    `\`node bench/explorer-speed.mjs\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC): ${cpuModel}, ${cpus().length} cores, load average before the run ${load}. ` +
    `wasm backend, ${threads} threads, batch ${options.batchSize}, 28x28 inputs, SGD with momentum; the same function (web/explorer/engine/speed.ts) in a Node process and in the ` +
    `explorer's engine worker in headless Chromium (cross-origin isolated); runs alternate Node, page, Node, page; each figure is the better of two medians of ${options.repeats} ${options.seconds}-s runs.\n\n${table}\n${end}`;
  const text = readFileSync(path, 'utf8');
  const at = text.indexOf(begin);
  writeFileSync(path, at >= 0 ? text.slice(0, at) + section + text.slice(text.indexOf(end) + end.length) : text.trimEnd() + '\n\n' + section + '\n');
  console.log(`explorer-speed: wrote the explorer section of ${path}`);
}
