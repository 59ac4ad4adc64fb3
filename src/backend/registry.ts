/**
 * Which backend runs the kernels. Ops read it at call time (`getBackend()`), so a selection applies to every op
 * from then on.
 *
 * The default is chosen once, while this module loads: the first backend of BACKEND_NAMES that loads here (native
 * in Node where its addon is built, else wasm, else reference, which always loads), silently (no shared memory, no SIMD, kernels.wasm missing or built from other sources
 * than this JavaScript: all mean a slower backend; `backendFallbackReason()` says which and why). In Node,
 * CONVKIT_BACKEND=<name> overrides the choice (that backend then fails loudly if it cannot load) and
 * CONVKIT_THREADS sets the thread count of a backend with threads.
 * The module awaits the choice at top level, so every module that can run an op (they all import this one)
 * finishes loading only after it: `import { nn, F } from 'convkit'` followed by ordinary synchronous code runs on
 * native or wasm, with no `await` in user code. That is why it is a top-level await and not a lazy choice on first use:
 * loading wasm is asynchronous (kernels.wasm is fetched in browsers, where compiling it synchronously on the
 * main thread is restricted, and the workers report ready asynchronously). `ready()` resolves to the backend in
 * use, for code that wants to say so explicitly (as `tf.ready()` does); `setBackend` overrides the default.
 */
import type { Backend } from './backend.js';
import { referenceBackend } from './reference/index.js';
import { BackendConfigError, backendFromEnv, isNode, processEnvironment, threadsFromEnv } from './settings.js';

type BackendLoader = () => Promise<Backend>;

/**
 * Every built-in backend, fastest first: the one list of backend names (CONVKIT_BACKEND, the CLI's --backend and
 * the conformance suite all read it), and the order in which `auto` tries them. A backend is a folder under
 * src/backend/ plus one line here; each loads lazily, so its module (and its workers or Node glue) is only
 * fetched when it is tried. A Node-only backend is imported through `nodeOnly`, so browser bundles never hold it.
 */
const BUILTIN_BACKENDS = {
  native: async () => (await nodeOnly<typeof import('./native/index.js')>('native', './native/index.js')).loadNativeBackend(),
  wasm: async () => (await import('./wasm/index.js')).loadWasmBackend(),
  reference: async () => referenceBackend,
} satisfies Record<string, BackendLoader>;

/** Thrown by `nodeOnly` outside Node: `auto` passes over such a backend without calling it a fallback. */
class NotInThisHost extends Error {}

/**
 * Import a backend module that only Node can run (a native addon) from `specifier`, relative to this file. The
 * specifier is a variable, so bundlers leave the module out of browser builds; outside Node it is never imported.
 */
async function nodeOnly<Module>(backend: string, specifier: string): Promise<Module> {
  if (!isNode()) throw new NotInThisHost(`the ${backend} backend runs in Node only (browsers use wasm or reference)`);
  return (await import(/* @vite-ignore */ specifier)) as Module;
}

/** The name of a built-in backend. */
export type BackendName = keyof typeof BUILTIN_BACKENDS;
/** The built-in backends' names, in the order `auto` tries them (the last, reference, always loads). */
export const BACKEND_NAMES = Object.keys(BUILTIN_BACKENDS) as readonly BackendName[];
/** What CONVKIT_BACKEND and --backend accept: a backend's name, or `auto` (the first of BACKEND_NAMES that loads). */
export type BackendSetting = 'auto' | BackendName;
export const BACKEND_SETTINGS: readonly BackendSetting[] = ['auto', ...BACKEND_NAMES];

const loaders = new Map<string, BackendLoader>(Object.entries(BUILTIN_BACKENDS));
let current: Backend = referenceBackend;
/** Why the default choice skipped faster backends (each one's load error), or null. */
let fallbackReason: string | null = null;

/** Make a backend selectable by name (a custom backend; the built-in ones are listed above). */
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

/** The backend ops run on now; `getBackend().name` is one of BACKEND_NAMES (or a custom backend's name). */
export function getBackend(): Backend {
  return current;
}

export function availableBackends(): string[] {
  return [...loaders.keys()];
}

/** A backend `auto` passed over, and the error it gave while loading. */
export interface SkippedBackend { name: BackendName; reason: string }

/**
 * Load the backend `setting` names (its load error propagates), or for `auto` the first of BACKEND_NAMES that
 * loads, with the ones skipped before it; a BackendConfigError (a wrong setting, such as a backend's own environment
 * variable) stops `auto` instead of skipping to a slower backend. Does not select it (see `useBackend`).
 * @example
 * const { backend, skipped } = await loadBackend('auto');
 * for (const s of skipped) console.warn(describeSkipped([s]));
 */
export async function loadBackend(setting: BackendSetting): Promise<{ backend: Backend; skipped: SkippedBackend[] }> {
  if (setting !== 'auto') return { backend: await BUILTIN_BACKENDS[setting](), skipped: [] };
  const skipped: SkippedBackend[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      return { backend: await BUILTIN_BACKENDS[name](), skipped };
    } catch (e) {
      // A setting the user must fix (a backend's own environment variable set to a wrong value) is never skipped.
      if (e instanceof BackendConfigError) throw e;
      // A Node-only backend in a browser is not a fallback: it was never a candidate there.
      if (!(e instanceof NotInThisHost)) skipped.push({ name, reason: (e as Error).message });
    }
  }
  // Unreachable while reference is listed (it cannot fail to load); said plainly if it ever is not.
  throw new Error(`no backend loads here: ${describeSkipped(skipped)}`);
}

/** "wasm unavailable: <reason>" for each skipped backend, joined by "; ". */
export function describeSkipped(skipped: readonly SkippedBackend[]): string {
  return skipped.map((s) => `${s.name} unavailable: ${s.reason}`).join('; ');
}

/**
 * The backend in a few words: its name, then its instruction set level (native) and threads where it has them,
 * then `notes`.
 * @example
 * describeBackend(getBackend()); // 'native (avx2, 2 threads)', 'wasm (1 thread)' or 'reference'
 */
export function describeBackend(backend: Backend, notes: readonly string[] = []): string {
  const details: string[] = [];
  if ('isa' in backend && typeof backend.isa === 'string') details.push(backend.isa);
  if (backend.threads !== undefined) details.push(`${backend.threads} thread${backend.threads === 1 ? '' : 's'}`);
  const inParentheses = [details.join(', '), ...notes].filter((d) => d !== '').join('; ');
  return inParentheses === '' ? backend.name : `${backend.name} (${inParentheses})`;
}

/** The default backend: CONVKIT_BACKEND when set, else the first of BACKEND_NAMES that loads. */
async function chooseDefaultBackend(): Promise<Backend> {
  const env = processEnvironment();
  const requested = backendFromEnv(env, BACKEND_NAMES);
  // Checked here, before loading: a bad CONVKIT_THREADS must be an error, not a silent fallback to reference.
  threadsFromEnv(env);
  try {
    const { backend, skipped } = await loadBackend(requested);
    fallbackReason = skipped.length > 0 ? describeSkipped(skipped) : null;
    return backend;
  } catch (e) {
    if (requested === 'auto' || e instanceof BackendConfigError) throw e;
    throw new BackendConfigError(`CONVKIT_BACKEND=${requested}, but the ${requested} backend cannot load here: ${(e as Error).message}`);
  }
}

const defaultChoice = chooseDefaultBackend();
current = await defaultChoice;

/**
 * Resolves to the backend in use once the default choice is made (already so when any importer of convkit
 * runs: module loading waits for it). It rejects only when CONVKIT_BACKEND or CONVKIT_THREADS is invalid, or
 * asks for a backend that cannot load here, and then the import itself has already failed with that message.
 * @example
 * const backend = await ready();
 * console.log(backend.name); // 'native' in Node, 'wasm' in browsers, or a slower one where those cannot load
 */
export async function ready(): Promise<Backend> {
  await defaultChoice;
  return current;
}

/**
 * Why importing convkit did not choose the first of BACKEND_NAMES: for each backend it passed over, the error that
 * backend gave while the library loaded, as "native unavailable: <reason>" joined by "; " (native: no compiled
 * addon, or one built from other sources; wasm: kernels.wasm missing, or built from other sources than this
 * JavaScript; no shared memory; no SIMD). Null when the first one loaded (in a browser, native is not a candidate:
 * wasm is first there), or when CONVKIT_BACKEND named the backend. The choice itself stays silent (a library must not print on
 * import), so this is where a program or a bug report looks.
 * @example
 * const reason = backendFallbackReason();
 * if (reason) console.warn(`convkit runs on ${getBackend().name}: ${reason}`);
 */
export function backendFallbackReason(): string | null {
  return fallbackReason;
}
