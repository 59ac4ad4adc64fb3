/**
 * The wasm backend of another built source tree, for A/B measurements in one process (bench/batchnorm.ts,
 * bench/batchnorm-accuracy.ts). A backend refuses kernels.wasm from sources other than its own (kernels-check.ts),
 * so the other build's kernels come with the other tree's backend: `path` names its kernels.wasm (or the directory
 * holding it), and index.ts beside it is loaded, with its own shared memory and threads.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WasmBackend } from '../../src/backend/wasm/index.js';

export async function loadWasmBuild(path: string): Promise<WasmBackend> {
  const full = resolve(path);
  const dir = existsSync(full) && statSync(full).isDirectory() ? full : dirname(full);
  const index = join(dir, 'index.ts');
  if (!existsSync(join(dir, 'kernels.wasm')) || !existsSync(index)) {
    throw new Error(`loadWasmBuild: ${path}: expected kernels.wasm and index.ts in ${dir} (a built tree's src/backend/wasm)`);
  }
  const mod = (await import(pathToFileURL(index).href)) as { loadWasmBackend: () => Promise<WasmBackend> };
  return mod.loadWasmBackend();
}
