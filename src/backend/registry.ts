/**
 * Which backend runs the kernels. Ops read it at call time (`getBackend()`), so a selection applies to every op
 * from then on.
 *
 * The default is chosen once, while this module loads: `wasm` wherever it loads, else `reference`, silently
 * (no shared memory, no SIMD, kernels.wasm missing or built from other sources than this JavaScript: all mean
 * reference; `backendFallbackReason()` says which). In Node, CONVKIT_BACKEND=reference|wasm
 * overrides the choice (wasm then fails loudly if it cannot load) and CONVKIT_THREADS sets wasm's thread count.
 * The module awaits the choice at top level, so every module that can run an op (they all import this one)
 * finishes loading only after it: `import { nn, F } from 'convkit'` followed by ordinary synchronous code runs on
 * wasm, with no `await` in user code. That is why it is a top-level await and not a lazy choice on first use:
 * loading wasm is asynchronous (kernels.wasm is fetched in browsers, where compiling it synchronously on the
 * main thread is restricted, and the workers report ready asynchronously). `ready()` resolves to the backend in
 * use, for code that wants to say so explicitly (as `tf.ready()` does); `setBackend` overrides the default.
 */
import type { Backend } from './backend.js';
import { referenceBackend } from './reference/index.js';
import { BackendConfigError, backendFromEnv, processEnvironment, threadsFromEnv } from './settings.js';

export type BackendName = 'reference' | 'wasm';

type BackendLoader = () => Promise<Backend>;
const loaders = new Map<string, BackendLoader>([
  ['reference', async () => referenceBackend],
  // Loaded lazily: the wasm module, its workers and Node glue are only fetched when selected.
  ['wasm', async () => (await import('./wasm/index.js')).loadWasmBackend()],
]);
let current: Backend = referenceBackend;
/** Why the default choice fell back to reference (the wasm backend's load error), or null. */
let fallbackReason: string | null = null;

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

/** The backend ops run on now; `getBackend().name` is 'wasm' or 'reference'. */
export function getBackend(): Backend {
  return current;
}

export function availableBackends(): string[] {
  return [...loaders.keys()];
}

/** The default backend: CONVKIT_BACKEND when set, else wasm when it loads, else reference. */
async function chooseDefaultBackend(): Promise<Backend> {
  const env = processEnvironment();
  const requested = backendFromEnv(env);
  // Checked here, before loading: a bad CONVKIT_THREADS must be an error, not a silent fallback to reference.
  threadsFromEnv(env);
  if (requested === 'reference') return referenceBackend;
  try {
    return await loaders.get('wasm')!();
  } catch (e) {
    if (requested === 'wasm') throw new BackendConfigError(`CONVKIT_BACKEND=wasm, but the wasm backend cannot load here: ${(e as Error).message}`);
    fallbackReason = (e as Error).message;
    return referenceBackend;
  }
}

const defaultChoice = chooseDefaultBackend();
current = await defaultChoice;

/**
 * Resolves to the backend in use once the default choice is made (already so when any importer of convkit
 * runs: module loading waits for it). It rejects only when CONVKIT_BACKEND or CONVKIT_THREADS is invalid, or
 * asks for wasm where wasm cannot load, and then the import itself has already failed with that message.
 * @example
 * const backend = await ready();
 * console.log(backend.name); // 'wasm', or 'reference' where wasm cannot load
 */
export async function ready(): Promise<Backend> {
  await defaultChoice;
  return current;
}

/**
 * Why importing convkit chose the reference backend although wasm was allowed: the error the wasm backend gave
 * while the library loaded (kernels.wasm missing, or built from other sources than this JavaScript; no shared
 * memory; no SIMD). Null when wasm loaded, or when CONVKIT_BACKEND=reference asked for reference. The choice
 * itself stays silent (a library must not print on import), so this is where a program or a bug report looks.
 * @example
 * const reason = backendFallbackReason();
 * if (reason) console.warn(`convkit runs on the slow reference backend: ${reason}`);
 */
export function backendFallbackReason(): string | null {
  return fallbackReason;
}
