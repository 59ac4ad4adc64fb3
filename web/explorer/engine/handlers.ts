/** Handlers of the engine's own requests (backend, threads). */
import { getBackend, setBackend } from '../../../src/index.js';
import type { WasmBackend } from '../../../src/backend/wasm/index.js';
import type { Handlers } from '../worker.js';
import { probabilities, requireModel } from './model.js';
import { measureTrainingSpeed } from './speed.js';

export const engineHandlers: Handlers<'engine.init' | 'engine.predict' | 'engine.measureSpeed'> = {
  'engine.measureSpeed'(params) {
    return measureTrainingSpeed(params);
  },
  'engine.predict'(params, state) {
    const model = requireModel(state);
    return { probabilities: probabilities(model, params.pixels, params.count ?? 1), classNames: model.meta.dataset?.classNames ?? [] };
  },

  async 'engine.init'(params, state) {
    const isolated = globalThis.crossOriginIsolated === true;
    const cores = navigator.hardwareConcurrency || 1;
    const wanted = Math.max(1, Math.floor(params.threads));
    let threads = Math.min(wanted, cores);
    let threadNote: string | null = wanted > cores ? `threads capped at ${cores} (navigator.hardwareConcurrency)` : null;
    if (!isolated) {
      threads = 1;
      threadNote = 'This page is not cross-origin isolated (the server sends no COOP/COEP headers), so it runs on one thread; `npx convkit explore` serves it with them.';
    }
    if (params.backend === 'reference') {
      await setBackend('reference');
      state.info = { backend: 'reference', backendName: 'reference', threads: 1, crossOriginIsolated: isolated, threadNote, hardwareConcurrency: cores };
      return state.info;
    }
    try {
      // The backend chosen when the library loaded is reused (its workers are running); a second wasm instance
      // would start a second pool of workers.
      const current = getBackend();
      const wasm = (current.name === 'wasm' ? current : await setBackend('wasm')) as WasmBackend;
      await wasm.setThreads(threads);
      state.info = {
        backend: `wasm, ${wasm.threads} thread${wasm.threads === 1 ? '' : 's'}`, backendName: 'wasm', threads: wasm.threads,
        crossOriginIsolated: isolated, threadNote, hardwareConcurrency: cores,
      };
    } catch (e) {
      await setBackend('reference');
      state.info = {
        backend: `reference (wasm unavailable: ${(e as Error).message})`, backendName: 'reference', threads: 1,
        crossOriginIsolated: isolated, threadNote, hardwareConcurrency: cores,
      };
    }
    return state.info;
  },
};
