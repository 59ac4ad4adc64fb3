// Preload (node --import) that sets up the wasm backend (the default where it loads) before any test runs, for
// test files written for the default backend. WASM_TEST_THREADS picks the thread count; every kernel
// is split across all threads however small (setParallelThreshold(0)), so the multi-thread paths run too.
// A scope that never ends makes alloc() hand out wasm-heap blocks (the in-place path training steps use inside
// their scopes) instead of GC-owned arrays; a test process is short, so nothing needs returning.
import { useBackend } from '../../../src/backend/registry.js';
import { loadWasmBackend } from '../../../src/backend/wasm/index.js';

const wasm = await loadWasmBackend();
await wasm.setThreads(Number(process.env.WASM_TEST_THREADS ?? '1'));
wasm.setParallelThreshold(0);
wasm.beginScope();
useBackend(wasm);
