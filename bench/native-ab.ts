/**
 * A/B of two builds of the native addon in one process: GEMM shapes timed in alternating blocks (old, new, new,
 * old, ...) and compared by their medians, so a change in the machine's load or clock hits both builds alike.
 * This is how a kernel change is measured on a noisy machine before it is committed.
 *
 *   node scripts/build-native.mjs && mkdir -p /tmp/ab-new/build/Release && cp native/build/Release/convkit_native.node /tmp/ab-new/build/Release/
 *   (build the other revision the same way into /tmp/ab-old)
 *   node --import tsx bench/native-ab.ts --old /tmp/ab-old --new /tmp/ab-new [--shapes MxNxK,...] [--trans-b 0|1]
 *        [--threads 2] [--rounds 60]
 *
 * Each directory holds build/Release/convkit_native.node (or prebuilds/), as native/ does. Prints the CPU model and
 * the load average beside the figures.
 */
import { parseArgs } from 'node:util';
import { createNativeBackend } from '../src/backend/native/index.js';
import { cpuLine, loadAverage } from './lib/machine.mjs';

const { values: o } = parseArgs({
  options: {
    old: { type: 'string' }, new: { type: 'string' }, shapes: { type: 'string', default: '256x256x784,256x256x256,256x10x256,64x256x784,64x784x256,10x1024x1024' },
    'trans-b': { type: 'string', default: '1' }, threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '60' },
  },
});
if (!o.old || !o.new) throw new Error('native-ab: --old DIR and --new DIR are required (folders with build/Release/convkit_native.node)');
const builds = [await createNativeBackend({ addonDirectory: o.old }), await createNativeBackend({ addonDirectory: o.new })];
for (const be of builds) be.setThreads?.(Number(o.threads));
const transB = o['trans-b'] !== '0';
const rounds = Number(o.rounds);
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
console.log(`${cpuLine()}; load ${loadAverage()}; ${o.threads} threads; transB ${transB}`);
console.log('| m x n x k | old us | new us | new / old |\n|---|---:|---:|---:|');
for (const shape of o.shapes.split(',')) {
  const [m, n, k] = shape.split('x').map(Number) as [number, number, number];
  const buffers = builds.map((be) => {
    const a = be.allocState(m * k), b = be.allocState(n * k), c = be.allocState(m * n);
    for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    for (let i = 0; i < b.length; i++) b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
    return { a, b, c };
  });
  const call = (i: number): void => {
    const { a, b, c } = buffers[i]!;
    builds[i]!.gemm(false, transB, m, n, k, a, 0, b, 0, c, 0, false);
  };
  for (let w = 0; w < 20; w++) { call(0); call(1); }
  if (buffers[0]!.c.some((v, i) => v !== buffers[1]!.c[i])) console.log(`note: ${shape}: the two builds give different bits`);
  const reps = Math.max(5, Math.round(4e7 / (m * n * k)));
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const t = performance.now();
      for (let q = 0; q < reps; q++) call(i);
      times[i]!.push(((performance.now() - t) / reps) * 1000);
    }
  }
  const [before, after] = [median(times[0]), median(times[1])];
  console.log(`| ${shape} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(after / before).toFixed(3)} |`);
}
console.log(`load at the end ${loadAverage()}`);
