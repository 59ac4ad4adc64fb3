/**
 * The backend's per-step memory scope, when it offers one: a backend whose buffers come from a pool (wasm) can
 * free everything a training step allocated once the step is over. The reference backend has none (the
 * garbage collector frees plain Float32Arrays), so the scope is then a plain call.
 */
import { getBackend } from '../backend/registry.js';

export type StepScope = <T>(fn: () => T) => T;

export function backendScope(): StepScope {
  const backend = getBackend() as { scope?: StepScope };
  if (typeof backend.scope === 'function') return (fn) => backend.scope!(fn);
  return (fn) => fn();
}
