// The registry's descriptions of the backend in use (what `convkit --version` and the CLI print) and auto's choice
// in this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backend/backend.js';
import { BACKEND_NAMES, describeBackend, describeSkipped, loadBackend } from '../../src/backend/registry.js';
import { referenceBackend } from '../../src/backend/reference/index.js';

test('describeBackend: the name, then the ISA level and threads where the backend has them, then notes', () => {
  assert.equal(describeBackend(referenceBackend), 'reference');
  const threaded: Backend = { ...referenceBackend, name: 'wasm', threads: 1 };
  assert.equal(describeBackend(threaded), 'wasm (1 thread)');
  const native: Backend & { isa: string } = { ...referenceBackend, name: 'native', threads: 2, isa: 'avx2' };
  assert.equal(describeBackend(native), 'native (avx2, 2 threads)');
  const skipped = describeSkipped([{ name: 'native', reason: 'no compiled addon' }]);
  assert.equal(skipped, 'native unavailable: no compiled addon');
  assert.equal(describeBackend({ ...threaded, threads: 2 }, [skipped]), 'wasm (2 threads; native unavailable: no compiled addon)');
  assert.equal(describeBackend(referenceBackend, [skipped]), 'reference (native unavailable: no compiled addon)');
  assert.equal(describeSkipped([{ name: 'native', reason: 'a' }, { name: 'wasm', reason: 'b' }]), 'native unavailable: a; wasm unavailable: b');
});

test('auto takes the first of BACKEND_NAMES that loads, and lists every one before it with its load error', async () => {
  const { backend, skipped } = await loadBackend('auto');
  const firstLoading = BACKEND_NAMES.indexOf(backend.name as (typeof BACKEND_NAMES)[number]);
  assert.ok(firstLoading >= 0, `${backend.name} is a registered backend`);
  assert.deepEqual(skipped.map((s) => s.name), BACKEND_NAMES.slice(0, firstLoading));
  for (const s of skipped) await assert.rejects(loadBackend(s.name), { message: s.reason });
  assert.equal(BACKEND_NAMES[BACKEND_NAMES.length - 1], 'reference', 'reference, which always loads, is tried last');
});
