/**
 * What the wasm backend needs from its host: the compiled kernels, a thread count, and a way to start workers.
 * Node's version lives in src/node/wasm-node.ts (worker_threads, fs) and is loaded by a dynamic import only when
 * running in Node; the browser version below uses fetch and Web Workers.
 */
import { isNode } from '../settings.js';
import { WORKER_SOURCE, type SpawnWorker, type WorkerHandle, type WorkerInit } from './threads.js';

export interface WasmPlatform {
  /** The bytes of kernels.wasm; rejects with a message naming `npm run build:wasm` when the file is missing. */
  loadKernels(): Promise<BufferSource>;
  /** Thread count used when none is given (the number of cores). */
  defaultThreads(): number;
  /** Whether defaultThreads() is a count the user set (Node: CONVKIT_THREADS), which an adaptive pool must keep. */
  threadsFromUser?(): boolean;
  /** Starts workers, or null when this host cannot share memory with workers. */
  spawnWorker: SpawnWorker | null;
  /** Whether the thread that calls kernels may block in Atomics.wait (Node: yes; a browser main thread: no). */
  mainThreadMayWait: boolean;
  /** A full garbage collection, when the host can trigger one (lets finalization return heap blocks). */
  collectGarbage: (() => void) | null;
}

export const MISSING_WASM_HINT = 'the compiled kernels are missing; run `npm run build:wasm` (it needs the assemblyscript devDependency)';

function browserSpawn(init: WorkerInit): WorkerHandle {
  const source = `${WORKER_SOURCE}\nself.onmessage = (e) => { self.onmessage = null; convkitWorkerMain(e.data, (m) => self.postMessage(m)); };`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url);
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => { URL.revokeObjectURL(url); resolve(); };
    worker.onerror = (e) => reject(new Error(`wasm backend: worker ${init.tid} failed to start: ${e.message}`));
  });
  worker.postMessage(init);
  return { ready };
}

export function browserPlatform(): WasmPlatform {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const isolated = g.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined' && typeof Worker !== 'undefined';
  const isWorkerScope = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
  return {
    async loadKernels() {
      const url = new URL('./kernels.wasm', import.meta.url);
      let response: Response;
      try {
        response = await fetch(url);
      } catch (e) {
        throw new Error(`wasm backend: cannot fetch ${url.href} (${(e as Error).message}); ${MISSING_WASM_HINT}`);
      }
      if (!response.ok) throw new Error(`wasm backend: ${url.href} answered ${response.status}; ${MISSING_WASM_HINT}`);
      return response.arrayBuffer();
    },
    defaultThreads: () => (isolated ? Math.max(1, g.navigator?.hardwareConcurrency ?? 1) : 1),
    spawnWorker: isolated ? browserSpawn : null,
    mainThreadMayWait: isWorkerScope,
    collectGarbage: null,
  };
}

/** This host's platform: Node's glue (src/node/wasm-node.ts, imported only in Node) or the browser's above. */
export async function loadPlatform(): Promise<WasmPlatform> {
  if (!isNode()) return browserPlatform();
  // A variable specifier keeps bundlers from pulling Node-only glue into browser builds.
  const glue = '../../node/wasm-node.js';
  const mod = (await import(/* @vite-ignore */ glue)) as { nodePlatform: WasmPlatform };
  return mod.nodePlatform;
}
