/**
 * The two environment variables that configure the backends in Node: CONVKIT_BACKEND (auto, or a backend's name
 * from registry.ts's BACKEND_NAMES) and CONVKIT_THREADS (the default thread count of a backend with threads).
 * Browser-safe: a page has no environment, so both read as unset there. A value that is set but wrong is an error
 * (never silently ignored: a typo such as CONVKIT_BACKEND=referance must not quietly run something else).
 * The backend names come from the caller (the registry, which imports this module), so they are written only there.
 */

/** The most threads CONVKIT_THREADS may ask for (the CLI's --threads has the same limit). */
export const MAX_THREADS = 256;

export type Environment = Readonly<Record<string, string | undefined>>;

/** A backend setting the user must fix: an invalid CONVKIT_BACKEND / CONVKIT_THREADS, or a backend asked for where it cannot load. */
export class BackendConfigError extends Error {
  override name = 'BackendConfigError';
}

/** True when running in Node (false in browsers and their workers). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** `process.env` in Node, an empty environment elsewhere. */
export function processEnvironment(): Environment {
  const p = (globalThis as { process?: { env?: Environment } }).process;
  return p?.env ?? {};
}

/**
 * CONVKIT_BACKEND: one of `names` (the registry's BACKEND_NAMES), or 'auto' when unset, empty or 'auto' (the
 * fastest backend that loads).
 */
export function backendFromEnv<Name extends string>(env: Environment, names: readonly Name[]): 'auto' | Name {
  const raw = env['CONVKIT_BACKEND']?.trim().toLowerCase() ?? '';
  if (raw === '' || raw === 'auto') return 'auto';
  const name = names.find((s) => s === raw);
  if (!name) throw new BackendConfigError(`CONVKIT_BACKEND=${env['CONVKIT_BACKEND']}: expected auto, ${names.join(', ')} (or unset)`);
  return name;
}

/** CONVKIT_THREADS: the thread count of a backend with threads, or undefined when unset or empty (then: the number of cores). */
export function threadsFromEnv(env: Environment): number | undefined {
  const raw = env['CONVKIT_THREADS']?.trim() ?? '';
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_THREADS) {
    throw new BackendConfigError(`CONVKIT_THREADS=${env['CONVKIT_THREADS']}: expected a whole number of threads from 1 to ${MAX_THREADS} (or unset for the number of cores)`);
  }
  return n;
}
