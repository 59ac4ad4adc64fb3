/**
 * Checks that kernels.wasm is the build this JavaScript was compiled for, before anything runs on it.
 *
 * The JavaScript of the wasm backend is written for one build of asm/: it sizes each thread's scratch with
 * formulas that mirror the kernels, lays out the control block and the geometry the kernels read, and calls
 * kernels by name and argument order. Run against kernels.wasm from other asm/ sources (e.g. after
 * `npm run build:wasm` but before tsc recompiled dist/) it does not fail: it trains wrongly, and differently from
 * run to run. So scripts/build-wasm.mjs stamps both sides with one number computed from asm/ and the asc options
 * (scripts/kernels-stamp.mjs): kernels.wasm exports it as the i32 global KERNELS_STAMP, and kernels-stamp.ts,
 * compiled into this JavaScript, holds the stamp it expects. A different or missing stamp is a
 * KernelsMismatchError naming the fix, and the default backend choice falls back to reference with that reason.
 */
import { KERNELS_STAMP } from './kernels-stamp.js';

/** What the user runs to rebuild both halves: the kernels and the JavaScript (build:wasm alone leaves dist/ stale). */
export const REBUILD_COMMAND = 'npm run build';

const MISMATCH = 'wasm backend: kernels.wasm was built from different sources than this JavaScript';

/** kernels.wasm is not the build this JavaScript expects (another stamp, no stamp, or exports missing). */
export class KernelsMismatchError extends Error {
  override readonly name = 'KernelsMismatchError';
}

/** A stamp as build-wasm prints it: 0x and 8 hex digits. */
export function formatKernelsStamp(stamp: number): string {
  return `0x${(stamp >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Before instantiation: the module carries a stamp. A module without one was built before stamps existed or not by
 * scripts/build-wasm.mjs; either way nothing says which sources it came from, so it is refused like a wrong stamp
 * (and before instantiating it, which could fail with an unhelpful LinkError if its imports differ).
 */
export function checkKernelsModule(module: WebAssembly.Module): void {
  const stamp = WebAssembly.Module.exports(module).find((e) => e.name === 'KERNELS_STAMP');
  if (stamp?.kind !== 'global') {
    throw new KernelsMismatchError(`${MISMATCH} (it has no KERNELS_STAMP export: it predates build stamps or was not ` +
      `built by scripts/build-wasm.mjs): run \`${REBUILD_COMMAND}\``);
  }
}

/** The exports of kernels.wasm that the JavaScript uses, by kind. */
export interface RequiredKernelExports {
  functions: readonly string[];
  globals: readonly string[];
}

/**
 * After instantiation: the stamp is the one this JavaScript was compiled with (`expected`, kernels-stamp.ts unless a
 * test says otherwise), and every export the JavaScript uses exists with the right kind. The second can only fail
 * with matching stamps when the sources disagree with each other (a name in index.ts's KERNELS list that asm/index.ts
 * does not export), so its message points at the sources rather than at the build.
 */
export function checkKernelsInstance(exports: WebAssembly.Exports, required: RequiredKernelExports, expected: number = KERNELS_STAMP): void {
  const global = exports['KERNELS_STAMP'];
  const stamp = global instanceof WebAssembly.Global ? (global.value as number) : null;
  if (stamp !== expected) {
    throw new KernelsMismatchError(`${MISMATCH} (kernels.wasm has stamp ${stamp === null ? 'none' : formatKernelsStamp(stamp)}, ` +
      `this JavaScript expects ${formatKernelsStamp(expected)}): run \`${REBUILD_COMMAND}\``);
  }
  const missing = [
    ...required.functions.filter((name) => typeof exports[name] !== 'function'),
    ...required.globals.filter((name) => !(exports[name] instanceof WebAssembly.Global)),
  ];
  if (missing.length > 0) {
    throw new KernelsMismatchError(`wasm backend: kernels.wasm (stamp ${formatKernelsStamp(stamp)}, as expected) does not export ` +
      `${missing.join(', ')}, which src/backend/wasm/index.ts uses: asm/index.ts must export them (then \`${REBUILD_COMMAND}\`)`);
  }
}
