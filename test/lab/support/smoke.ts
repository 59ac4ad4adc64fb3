// Shared by the lab's smoke tests: the embedded real Fashion-MNIST subset as lab data, and the wasm backend
// when it loads (the reference backend is fine for smoke budgets, only slower).
import { useBackend } from '../../../src/backend/registry.js';
import { loadEmbeddedFashionMnist } from '../../../src/node/datasets.js';
import type { LabData } from '../../../src/lab/types.js';

export const smokeData = async (): Promise<LabData> => ({
  train: loadEmbeddedFashionMnist('train'), test: loadEmbeddedFashionMnist('test'), description: 'embedded Fashion-MNIST subset (2,000/1,000 real images)',
});

/** Select wasm if it loads; returns the backend's name for the report. */
export async function useSmokeBackend(): Promise<string> {
  try {
    const { loadWasmBackend } = await import('../../../src/backend/wasm/index.js');
    useBackend(await loadWasmBackend());
    return 'wasm';
  } catch {
    return 'reference';
  }
}
