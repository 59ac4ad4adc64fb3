/**
 * The two environment variables that configure the backends in Node: CONVKIT_BACKEND (auto | wasm | reference)
 * and CONVKIT_THREADS (the wasm backend's default thread count). Browser-safe: a page has no environment, so
 * both read as unset there. A value that is set but wrong is an error (never silently ignored: a typo such as
 * CONVKIT_BACKEND=referance must not quietly run something else).
 */
export type BackendSetting = 'auto' | 'reference' | 'wasm';
export const BACKEND_SETTINGS: readonly BackendSetting[] = ['auto', 'reference', 'wasm'];

/** The most threads CONVKIT_THREADS may ask for (the CLI's --threads has the same limit). */
export const MAX_THREADS = 256;

export type Environment = Readonly<Record<string, string | undefined>>;

/** A backend setting the user must fix: an invalid CONVKIT_BACKEND / CONVKIT_THREADS, or wasm asked for where it cannot load. */
export class BackendConfigError extends Error {
  override name = 'BackendConfigError';
}

/** `process.env` in Node, an empty environment elsewhere. */
export function processEnvironment(): Environment {
  const p = (globalThis as { process?: { env?: Environment } }).process;
  return p?.env ?? {};
}

/** CONVKIT_BACKEND: 'auto' when unset or empty (wasm where it loads, else reference). */
export function backendFromEnv(env: Environment): BackendSetting {
  const raw = env['CONVKIT_BACKEND']?.trim().toLowerCase() ?? '';
  if (raw === '') return 'auto';
  const setting = BACKEND_SETTINGS.find((s) => s === raw);
  if (!setting) throw new BackendConfigError(`CONVKIT_BACKEND=${env['CONVKIT_BACKEND']}: expected ${BACKEND_SETTINGS.join(', ')} (or unset)`);
  return setting;
}

/** CONVKIT_THREADS: the wasm backend's thread count, or undefined when unset or empty (then: the number of cores). */
export function threadsFromEnv(env: Environment): number | undefined {
  const raw = env['CONVKIT_THREADS']?.trim() ?? '';
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_THREADS) {
    throw new BackendConfigError(`CONVKIT_THREADS=${env['CONVKIT_THREADS']}: expected a whole number of threads from 1 to ${MAX_THREADS} (or unset for the number of cores)`);
  }
  return n;
}
