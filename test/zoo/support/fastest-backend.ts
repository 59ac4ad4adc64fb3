// The wasm backend with 2 threads when it loads (zoo tests then run big models quickly), else null.
import type { Backend } from '../../../src/backend/backend.js';

export async function fastestBackend(): Promise<Backend | null> {
  try {
    const { loadWasmBackend } = await import('../../../src/backend/wasm/index.js');
    const wasm = await loadWasmBackend();
    await wasm.setThreads(2);
    return wasm;
  } catch {
    return null;
  }
}
