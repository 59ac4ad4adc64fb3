/** Which backend runs the kernels. Chosen once (explicit over global); ops read it at call time. */
import type { Backend } from './backend.js';
import { referenceBackend } from './reference/index.js';

export type BackendName = 'reference' | 'wasm';

type BackendLoader = () => Promise<Backend>;
const loaders = new Map<string, BackendLoader>([
  ['reference', async () => referenceBackend],
  // Loaded lazily: the wasm module, its workers and Node glue are only fetched when selected.
  ['wasm', async () => (await import('./wasm/index.js')).loadWasmBackend()],
]);
let current: Backend = referenceBackend;

/** Make a backend selectable by name (a backend folder calls this; `wasm` registers itself). */
export function registerBackend(name: string, loader: BackendLoader): void {
  loaders.set(name, loader);
}

/** Select the backend used by every op from now on. */
export async function setBackend(name: BackendName | string): Promise<Backend> {
  const loader = loaders.get(name);
  if (!loader) throw new Error(`setBackend: unknown backend '${name}' (available: ${[...loaders.keys()].join(', ')})`);
  current = await loader();
  return current;
}

/** Use an already-loaded backend object directly (tests, custom backends). */
export function useBackend(backend: Backend): void {
  current = backend;
}

export function getBackend(): Backend {
  return current;
}

export function availableBackends(): string[] {
  return [...loaders.keys()];
}
