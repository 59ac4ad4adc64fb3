#!/usr/bin/env node
// Compiles the AssemblyScript kernels in asm/ to src/backend/wasm/kernels.wasm (found there when running the
// sources through tsx) and copies it to dist/backend/wasm/kernels.wasm (found there by the built package).
// Both src/backend/wasm/index.ts (browser: fetch next to itself) and src/node/wasm-node.ts (Node: read
// ../backend/wasm/kernels.wasm) locate the file relative to their own module URL, so one layout serves both.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'src/backend/wasm/kernels.wasm');
const distOut = join(root, 'dist/backend/wasm/kernels.wasm');

let ascBin;
try {
  ascBin = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin/asc.js');
} catch {
  console.error('build-wasm: the assemblyscript devDependency is missing; run `npm install` first.');
  process.exit(1);
}

const args = [
  ascBin, join(root, 'asm/index.ts'), '-o', out,
  '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd,threads',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
  // A name section (about 1 KB): profiles show `asm/gemm/gemmCore` instead of `wasm-function[4]`. It does not
  // change the optimised code (measured: lenet5 training 8,114 vs 8,071 images/s with and without).
  '--debug',
];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('build-wasm: asc failed');
  process.exit(result.status ?? 1);
}
mkdirSync(dirname(distOut), { recursive: true });
copyFileSync(out, distOut);
console.log(`build-wasm: ${out} (${statSync(out).size} bytes), copied to ${distOut}`);
if (!existsSync(distOut)) process.exit(1);
