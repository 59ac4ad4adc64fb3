/**
 * Node side of bench/explorer-speed.mjs: the explorer's training-speed measurement (web/explorer/engine/speed.ts)
 * on the wasm backend with N threads, one JSON line on stdout.
 *   node --import tsx bench/explorer-speed-node.ts --model lenet5 --batch 64 --threads 2 --warmup 2 --seconds 4 --repeats 3
 */
import { parseArgs } from 'node:util';
import { setBackend } from '../src/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { measureTrainingSpeed } from '../web/explorer/engine/speed.js';

const { values } = parseArgs({ options: {
  model: { type: 'string', default: 'lenet5' }, batch: { type: 'string', default: '64' }, threads: { type: 'string', default: '2' },
  warmup: { type: 'string', default: '2' }, seconds: { type: 'string', default: '4' }, repeats: { type: 'string', default: '3' },
} });
const wasm = (await setBackend('wasm')) as WasmBackend;
await wasm.setThreads(Number(values.threads));
const result = measureTrainingSpeed({
  model: values.model!, batchSize: Number(values.batch), warmupSeconds: Number(values.warmup), seconds: Number(values.seconds), repeats: Number(values.repeats),
});
console.log(JSON.stringify({ ...result, threads: wasm.threads }));
process.exit(0);
