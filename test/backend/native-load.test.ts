// Loading the native backend where it cannot run: the rejection says which file is missing and how to build it
// (the registry's auto choice then falls back to wasm, quoting it), quotes the reason a failed build recorded,
// and a forced ISA level the CPU lacks names the missing CPU flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNativeBackend, loadNativeBackend } from '../../src/backend/native/index.js';
import { BackendConfigError } from '../../src/backend/settings.js';

const built = await loadNativeBackend().then((b) => b, () => null);

test('a missing addon: the rejection names the file looked for and `npm run build:native`', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-native-'));
  try {
    await assert.rejects(createNativeBackend({ addonDirectory: dir }), (e: Error) => {
      assert.match(e.message, /native backend: no compiled addon/);
      assert.ok(e.message.includes(join(dir, 'build', 'Release', 'convkit_native.node')), e.message);
      assert.ok(e.message.includes(join(dir, 'prebuilds', `${process.platform}-${process.arch}`)), e.message);
      assert.match(e.message, /npm run build:native/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed build: the rejection quotes the reason scripts/build-native.mjs recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-native-'));
  try {
    mkdirSync(join(dir, 'build'));
    writeFileSync(join(dir, 'build', 'build-error.txt'), 'node-gyp build failed: g++: command not found\n(the full log)\n');
    await assert.rejects(createNativeBackend({ addonDirectory: dir }), /The last build failed: node-gyp build failed: g\+\+: command not found\./);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function withIsaEnv<T>(value: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.CONVKIT_NATIVE_ISA;
  process.env.CONVKIT_NATIVE_ISA = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.CONVKIT_NATIVE_ISA;
    else process.env.CONVKIT_NATIVE_ISA = saved;
  }
}

test('CONVKIT_NATIVE_ISA with an unknown level is a configuration error listing the levels', async () => {
  await withIsaEnv('sse9', () => assert.rejects(createNativeBackend(), (e: Error) => {
    assert.ok(e instanceof BackendConfigError, 'a BackendConfigError (auto stops on it instead of falling back)');
    assert.match(e.message, /CONVKIT_NATIVE_ISA=sse9: expected avx512, avx2, baseline/);
    return true;
  }));
});

const avx512 = built?.availableIsas().find((l) => l.name === 'avx512');
test('CONVKIT_NATIVE_ISA=avx512 on a CPU without AVX-512 is an error naming the missing CPU flags', {
  skip: !built ? 'the native addon is not built' : !avx512 ? 'this build has no x86 levels' : avx512.supported ? 'this CPU has AVX-512' : false,
}, async () => {
  const before = built!.isa;
  await withIsaEnv('avx512', () => assert.rejects(createNativeBackend(), (e: Error) => {
    assert.ok(e instanceof BackendConfigError, 'a BackendConfigError');
    assert.match(e.message, /CONVKIT_NATIVE_ISA=avx512: native backend: the ISA level 'avx512' needs CPU flags this CPU lacks: /);
    for (const flag of avx512!.missingFlags) assert.ok(e.message.includes(flag), e.message);
    return true;
  }));
  assert.equal(built!.isa, before, 'the level running before is kept');
  assert.throws(() => built!.setIsa('avx512'), /lacks: avx512f/);
});
