// kernels.wasm and the JavaScript must come from the same asm/ sources: the build stamps both (KERNELS_STAMP in
// the module, src/backend/wasm/kernels-stamp.ts in the JavaScript) and the wasm backend refuses a mismatch with a
// message naming the fix, instead of running kernels whose scratch sizes, control block or argument lists differ
// from what the JavaScript assumes (which trained silently wrong). The end-to-end fallback (the import settles on
// reference and says why) is in default-backend.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatStamp, kernelsStamp, STAMP_MODULE, stampInModuleText, stampModuleText } from '../../scripts/kernels-stamp.mjs';
import { KERNELS_STAMP } from '../../src/backend/wasm/kernels-stamp.js';
import {
  checkKernelsInstance, checkKernelsModule, formatKernelsStamp, KernelsMismatchError,
} from '../../src/backend/wasm/kernels-check.js';
import { REQUIRED_EXPORTS } from '../../src/backend/wasm/index.js';
import { tinyModule } from './support/tiny-wasm.js';

const root = new URL('../../', import.meta.url).pathname;
const kernels = join(root, 'src/backend/wasm/kernels.wasm');
// A missing kernels.wasm is a build step not run: skip on a developer machine, fail in CI.
const wasmSkip = existsSync(kernels) || process.env.CI === 'true' ? false : `${kernels} is not built (npm run build:wasm)`;
const REBUILD = /kernels\.wasm was built from different sources than this JavaScript .*: run `npm run build`$/;

/** kernels.wasm as built (a copy: a Buffer may sit on a shared pool, which the wasm typings refuse). */
const builtKernels = (): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(kernels));

function instantiate(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Instance {
  const module = new WebAssembly.Module(bytes);
  const imports: WebAssembly.Imports = WebAssembly.Module.imports(module).length > 0
    ? { env: { memory: new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true }) } }
    : {};
  return new WebAssembly.Instance(module, imports);
}

test('kernels-stamp.ts holds the stamp of the current asm/ sources, in the form build-wasm writes', () => {
  assert.equal(formatStamp(KERNELS_STAMP), formatStamp(kernelsStamp(root)),
    `asm/ changed since ${STAMP_MODULE} was written: run \`npm run build:wasm\` and commit ${STAMP_MODULE} with the asm/ change`);
  const text = readFileSync(join(root, STAMP_MODULE), 'utf8');
  assert.equal(text, stampModuleText(KERNELS_STAMP));
  assert.equal(stampInModuleText(text), KERNELS_STAMP);
  assert.ok(Number.isInteger(KERNELS_STAMP) && KERNELS_STAMP >= 0 && KERNELS_STAMP < 2 ** 31, 'a non-negative i32 (what --use and an i32 global carry)');
  assert.equal(formatKernelsStamp(KERNELS_STAMP), formatStamp(KERNELS_STAMP), 'the backend prints stamps as the build does');
});

test('the stamp follows the sources: an edited, added or renamed asm/ file changes it; CRLF line ends do not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-stamp-'));
  try {
    mkdirSync(join(dir, 'asm/sub'), { recursive: true });
    writeFileSync(join(dir, 'asm/a.ts'), 'export const A: i32 = 1;\nexport const B: i32 = 2;\n');
    writeFileSync(join(dir, 'asm/sub/b.ts'), 'export function f(): void {}\n');
    writeFileSync(join(dir, 'asm/notes.md'), 'not a source');
    const base = kernelsStamp(dir);
    assert.equal(kernelsStamp(dir), base, 'deterministic');
    writeFileSync(join(dir, 'asm/notes.md'), 'other text');
    assert.equal(kernelsStamp(dir), base, 'only .ts files count');
    writeFileSync(join(dir, 'asm/a.ts'), 'export const A: i32 = 1;\r\nexport const B: i32 = 2;\r\n');
    assert.equal(kernelsStamp(dir), base, 'a Windows checkout gets the committed stamp');
    writeFileSync(join(dir, 'asm/a.ts'), 'export const A: i32 = 1;\nexport const B: i32 = 3;\n');
    const edited = kernelsStamp(dir);
    assert.notEqual(edited, base);
    writeFileSync(join(dir, 'asm/c.ts'), '');
    const added = kernelsStamp(dir);
    assert.notEqual(added, edited);
    renameSync(join(dir, 'asm/c.ts'), join(dir, 'asm/d.ts'));
    assert.notEqual(kernelsStamp(dir), added);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the built kernels.wasm carries the stamp of this JavaScript and exports every kernel it calls', { skip: wasmSkip }, () => {
  const bytes = builtKernels();
  checkKernelsModule(new WebAssembly.Module(bytes));
  const { exports } = instantiate(bytes);
  assert.equal(formatKernelsStamp((exports['KERNELS_STAMP'] as WebAssembly.Global).value as number), formatKernelsStamp(KERNELS_STAMP),
    'kernels.wasm is older or newer than the sources: run `npm run build:wasm`');
  checkKernelsInstance(exports, REQUIRED_EXPORTS);
  for (const name of REQUIRED_EXPORTS.functions) assert.equal(typeof exports[name], 'function', name);
  // The list the worker threads and the pool index by is part of the required names.
  for (const kernel of ['gemm', 'conv2dForward', 'winogradConv', 'directConv2dForward', 'adamStep']) assert.ok(REQUIRED_EXPORTS.functions.includes(kernel));
});

test('a kernels.wasm with another stamp is refused, saying what to run', { skip: wasmSkip }, () => {
  const { exports } = instantiate(builtKernels());
  const expected = KERNELS_STAMP ^ 1;
  assert.throws(() => checkKernelsInstance(exports, REQUIRED_EXPORTS, expected), (e: unknown) => {
    assert.ok(e instanceof KernelsMismatchError);
    assert.match(e.message, REBUILD);
    assert.ok(e.message.includes(`kernels.wasm has stamp ${formatKernelsStamp(KERNELS_STAMP)}, this JavaScript expects ${formatKernelsStamp(expected)}`), e.message);
    return true;
  });
});

test('a kernels.wasm without a stamp (built before stamps, or not by build-wasm) is refused before instantiation', () => {
  const unstamped = tinyModule({ functions: [...REQUIRED_EXPORTS.functions] });
  assert.throws(() => checkKernelsModule(new WebAssembly.Module(unstamped)), (e: unknown) => {
    assert.ok(e instanceof KernelsMismatchError);
    assert.match(e.message, REBUILD);
    assert.match(e.message, /no KERNELS_STAMP export/);
    return true;
  });
  // A KERNELS_STAMP that is not a global is no stamp either.
  assert.throws(() => checkKernelsModule(new WebAssembly.Module(tinyModule({ functions: ['KERNELS_STAMP'] }))), KernelsMismatchError);
  // And an instance without the global fails the value check too (stamp 'none').
  assert.throws(() => checkKernelsInstance(instantiate(unstamped).exports, REQUIRED_EXPORTS), /kernels\.wasm has stamp none/);
});

test('a stamped module missing exports the JavaScript uses names them all', () => {
  const bytes = tinyModule({ stamp: 12345, functions: ['gemm', 'unary'] });
  checkKernelsModule(new WebAssembly.Module(bytes));
  const { exports } = instantiate(bytes);
  checkKernelsInstance(exports, { functions: ['gemm', 'unary'], globals: ['KERNELS_STAMP'] }, 12345);
  assert.throws(() => checkKernelsInstance(exports, REQUIRED_EXPORTS, 12345), (e: unknown) => {
    assert.ok(e instanceof KernelsMismatchError);
    const missing = /does not export (.*), which src\/backend\/wasm\/index\.ts uses/.exec(e.message)?.[1]?.split(', ') ?? [];
    const expected = [...REQUIRED_EXPORTS.functions, ...REQUIRED_EXPORTS.globals].filter((n) => n !== 'gemm' && n !== 'unary');
    assert.deepEqual(missing, expected, e.message);
    return true;
  });
  // A global of that name where a function is needed (or the reverse) is missing too.
  assert.throws(() => checkKernelsInstance(exports, { functions: ['KERNELS_STAMP'], globals: ['gemm'] }, 12345), /does not export KERNELS_STAMP, gemm,/);
});
