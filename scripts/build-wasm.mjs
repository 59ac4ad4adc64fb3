#!/usr/bin/env node
// Compiles the AssemblyScript kernels in asm/ to src/backend/wasm/kernels.wasm (found there when running the
// sources through tsx) and copies it to dist/backend/wasm/kernels.wasm (found there by the built package).
// Both src/backend/wasm/index.ts (browser: fetch next to itself) and src/node/wasm-node.ts (Node: read
// ../backend/wasm/kernels.wasm) locate the file relative to their own module URL, so one layout serves both.
//
// It also stamps the build (scripts/kernels-stamp.mjs): the stamp of asm/ is compiled into kernels.wasm as the
// export KERNELS_STAMP and written into src/backend/wasm/kernels-stamp.ts, so JavaScript compiled from sources that
// describe other kernels fails to load them with a message instead of running them wrongly. The dist/ JavaScript is
// not touched here: `npm run build` recompiles it after this script.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { ASC_OPTIONS, STAMP_MODULE, formatStamp, kernelsStamp, stampInModuleText, stampModuleText } from './kernels-stamp.mjs';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'src/backend/wasm/kernels.wasm');
const distOut = join(root, 'dist/backend/wasm/kernels.wasm');
const stampModule = join(root, STAMP_MODULE);
const distStampModule = join(root, 'dist/backend/wasm/kernels-stamp.js');

let ascBin;
try {
  ascBin = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin/asc.js');
} catch {
  console.error('build-wasm: the assemblyscript devDependency is missing; run `npm install` first.');
  process.exit(1);
}

const stamp = kernelsStamp(root);
// `--use NAME=integer` defines a compile-time i32 constant; asm/index.ts exports it as KERNELS_STAMP.
const args = [ascBin, join(root, 'asm/index.ts'), '-o', out, ...ASC_OPTIONS, '--use', `KERNELS_SOURCE_STAMP=${stamp}`];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('build-wasm: asc failed');
  process.exit(result.status ?? 1);
}
const text = stampModuleText(stamp);
if (!existsSync(stampModule) || readFileSync(stampModule, 'utf8') !== text) {
  writeFileSync(stampModule, text);
  console.log(`build-wasm: wrote ${STAMP_MODULE} (stamp ${formatStamp(stamp)}); commit it with the asm/ change`);
}
mkdirSync(dirname(distOut), { recursive: true });
copyFileSync(out, distOut);
console.log(`build-wasm: ${out} (${statSync(out).size} bytes, stamp ${formatStamp(stamp)}), copied to ${distOut}`);
if (!existsSync(distOut)) process.exit(1);
// Only a hint (`npm run build` runs tsc next): the backend itself refuses the pair at load time.
if (existsSync(distStampModule)) {
  const distStamp = stampInModuleText(readFileSync(distStampModule, 'utf8'));
  if (distStamp !== stamp) {
    console.log(`build-wasm: dist/ JavaScript was compiled for kernels ${distStamp === null ? 'without a stamp' : formatStamp(distStamp)}; ` +
      'run `npm run build` (not only build:wasm) before using dist/');
  }
}
