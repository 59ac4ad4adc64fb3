// Child of plain-loop-memory.test.ts and native-plain-loop-memory.test.ts: trains LeNet-5 (batch 32) in a plain loop for 2,000 steps (`--steps N`) and prints memory
// every 125 steps (`--every N`). `--leak BYTES` keeps a Float32Array of that many bytes alive per step (the leak the test must
// catch: the test of the test).
import { setBackend, getBackend, manualSeed, randn, F, models, optim } from '../../../src/index.js';
import type { Reading } from './memory-growth.js';

// 'default': the backend chosen when the library loads (what a user's script gets); else a backend to select.
const backendName = process.argv[2] ?? 'default';
const leakIndex = process.argv.indexOf('--leak');
const leakBytes = leakIndex >= 0 ? Number(process.argv[leakIndex + 1]) : 0;
const leaked: Float32Array[] = [];
const stepsIndex = process.argv.indexOf('--steps');
const steps = stepsIndex >= 0 ? Number(process.argv[stepsIndex + 1]) : 2000;
try {
  if (backendName !== 'default') await setBackend(backendName);
} catch (e) {
  process.stderr.write((e as Error).message);
  process.exit(3);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
manualSeed(0);
const net = models.create('lenet5');
const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
const x = randn([32, 1, 28, 28]);
const y = Int32Array.from({ length: 32 }, (_, i) => i % 10);
// Every 125 steps by default (16 readings in 2,000 steps); `--every N` reads every N steps.
const everyIndex = process.argv.indexOf('--every');
const READ_EVERY = everyIndex >= 0 ? Number(process.argv[everyIndex + 1]) : 125;
const backend = getBackend() as { memoryBytes?: () => number };
const readings: Reading[] = [];
for (let i = 1; i <= steps; i++) {
  const loss = F.crossEntropy(net.forward(x), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  if (leakBytes > 0) leaked.push(new Float32Array(leakBytes / 4).fill(i));
  if (i % READ_EVERY === 0) {
    // Full collections until the count of array-buffer bytes stops falling (at most 6): one collection can leave dead
    // ArrayBuffers' backing stores to a background sweeper (up to 22 MiB of them were still counted in one reading
    // out of four), and two still left 0.9 MiB once beside the other test files.
    let m = process.memoryUsage();
    for (let k = 0; k < 6; k++) {
      gc();
      const next = process.memoryUsage();
      const settled = k > 0 && next.arrayBuffers >= m.arrayBuffers;
      m = next;
      if (settled) break;
    }
    readings.push({ step: i, rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20, arrayBuffersMiB: m.arrayBuffers / 2 ** 20, externalMiB: m.external / 2 ** 20, wasmMiB: (backend.memoryBytes?.() ?? 0) / 2 ** 20 });
  }
}
console.log(JSON.stringify({ backend: getBackend().name, leaked: leaked.length, readings }));
process.exit(0);
