/**
 * The backend's per-step memory scope, when it offers one (`Backend.scope`): a backend whose buffers come from a
 * pool (wasm) frees everything a training step allocated once the step is over. The reference backend has none
 * (the garbage collector frees plain Float32Arrays), so the scope is then a plain call.
 */
import { getBackend } from '../backend/registry.js';

export type StepScope = <T>(fn: () => T) => T;

/** The scope of the backend in use now (read once: a later setBackend does not change a scope already taken). */
export function backendScope(): StepScope {
  const backend = getBackend();
  return backend.scope ? (fn) => backend.scope!(fn) : (fn) => fn();
}
