// Child of default-backend.test.ts: imports the library the way a user does (argv[2]: the entry module, default
// src/index.ts), runs one matrix product large enough to be split across the worker threads, and prints one
// JSON line: the backend chosen at import, its threads, what ready() resolves to, why the import fell back to
// reference (backendFallbackReason()), the product's checksum, and (with --try-wasm) the error an explicit
// setBackend('wasm') gives afterwards.
import { pathToFileURL } from 'node:url';

const entry = process.argv[2] ?? new URL('../../../src/index.ts', import.meta.url).pathname;
const convkit = (await import(pathToFileURL(entry).href)) as typeof import('../../../src/index.js');
const atImport = convkit.getBackend() as { name: string; threads?: number };
const fromReady = await convkit.ready();
convkit.manualSeed(0);
const product = convkit.randn([128, 128]).matmul(convkit.randn([128, 128]));
let checksum = 0;
for (const v of product.data) checksum += v;
let wasmError: string | null = null;
if (process.argv.includes('--try-wasm')) {
  try {
    await convkit.setBackend('wasm');
  } catch (e) {
    wasmError = (e as Error).message;
  }
}
const fallbackReason = convkit.backendFallbackReason();
console.log(JSON.stringify({ backend: atImport.name, threads: atImport.threads ?? 1, ready: fromReady.name, fallbackReason, checksum, wasmError }));
