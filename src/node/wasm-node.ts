/**
 * Node glue for the wasm backend: reads kernels.wasm next to the backend's module and runs workers with
 * worker_threads. Loaded by src/backend/wasm/index.ts through a dynamic import, only in Node.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { processEnvironment, threadsFromEnv } from '../backend/settings.js';
import { MISSING_WASM_HINT, type WasmPlatform } from '../backend/wasm/platform.js';
import { WORKER_SOURCE, type WorkerHandle, type WorkerInit } from '../backend/wasm/threads.js';

// An eval'd worker inherits the process's --input-type, so its program may run as CommonJS or as an ES module:
// a dynamic import works in both (`require` made `node --input-type=module -e "..."` fall back to reference).
const WORKER_PROGRAM = `${WORKER_SOURCE}
import('node:worker_threads').then(({ parentPort, workerData }) => convkitWorkerMain(workerData, (m) => parentPort.postMessage(m)));
`;

function spawnWorker(init: WorkerInit): WorkerHandle {
  const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData: init });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => {
      // Idle workers sleep in Atomics.wait forever: unref them so a finished script exits.
      worker.unref();
      resolve();
    });
    worker.once('error', (e) => reject(new Error(`wasm backend: worker ${init.tid} failed: ${e.message}`)));
  });
  return { ready };
}

/**
 * A handle on V8's full collection without starting Node with --expose-gc: the flag, set at run time, exposes
 * `gc` in contexts created afterwards (here one throwaway context); the global scope is unchanged.
 */
function garbageCollector(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

export const nodePlatform: WasmPlatform = {
  async loadKernels() {
    const url = new URL('../backend/wasm/kernels.wasm', import.meta.url);
    try {
      return await readFile(url);
    } catch {
      throw new Error(`wasm backend: ${fileURLToPath(url)} not found; ${MISSING_WASM_HINT}`);
    }
  },
  // CONVKIT_THREADS when set (validated: a bad value is an error), else one thread per core.
  defaultThreads: () => threadsFromEnv(processEnvironment()) ?? availableParallelism(),
  threadsFromUser: () => threadsFromEnv(processEnvironment()) !== undefined,
  spawnWorker,
  mainThreadMayWait: true,
  collectGarbage: garbageCollector(),
};
