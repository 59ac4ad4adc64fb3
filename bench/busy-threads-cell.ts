/**
 * One cell of bench/busy-threads.mjs: LeNet-5 training steps (batch 64, the explorer's speed step:
 * web/explorer/engine/speed.ts) on the wasm or native backend (`--backend`, default wasm) with the default thread
 * count (`--threads default`: the adaptive pool, CONVKIT_THREADS unset) or a fixed one. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { setBackend } from '../src/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import type { NativeBackend } from '../src/backend/native/index.js';
import { measureTrainingSpeed } from '../web/explorer/engine/speed.js';

const { values } = parseArgs({ options: {
  threads: { type: 'string', default: 'default' }, seconds: { type: 'string', default: '6' }, model: { type: 'string', default: 'lenet5' },
  backend: { type: 'string', default: 'wasm' },
} });
if (values.backend !== 'wasm' && values.backend !== 'native') throw new Error(`--backend: wasm or native, not ${values.backend}`);
const backend = (await setBackend(values.backend)) as WasmBackend | NativeBackend;
if (values.threads !== 'default') await backend.setThreads(Number(values.threads));
const soloKernels = (): number => (backend.name === 'wasm' ? (backend as WasmBackend).adaptiveThreads.soloKernels : (backend as NativeBackend).soloJobs);
const result = measureTrainingSpeed({ model: values.model!, batchSize: 64, warmupSeconds: 1, seconds: Number(values.seconds), repeats: 1 });
console.log(JSON.stringify({ threads: values.threads, poolThreads: backend.threads, imagesPerSecond: result.imagesPerSecond, soloKernels: soloKernels() }));
process.exit(0);
