/**
 * One cell of bench/busy-threads.mjs: LeNet-5 training steps (batch 64, the explorer's speed step:
 * web/explorer/engine/speed.ts) on the wasm backend with the default thread count (`--threads default`: the
 * adaptive pool, CONVKIT_THREADS unset) or a fixed one. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { getBackend, ready } from '../src/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { measureTrainingSpeed } from '../web/explorer/engine/speed.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: 'default' }, seconds: { type: 'string', default: '6' }, model: { type: 'string', default: 'lenet5' } } });
await ready();
const wasm = getBackend() as WasmBackend;
if (wasm.name !== 'wasm') throw new Error('the wasm backend did not load');
if (values.threads !== 'default') await wasm.setThreads(Number(values.threads));
const result = measureTrainingSpeed({ model: values.model!, batchSize: 64, warmupSeconds: 1, seconds: Number(values.seconds), repeats: 1 });
console.log(JSON.stringify({ threads: values.threads, poolThreads: wasm.threads, imagesPerSecond: result.imagesPerSecond, soloKernels: wasm.adaptiveThreads.soloKernels }));
process.exit(0);
