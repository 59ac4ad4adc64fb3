// Preload (node --import) that runs test files written for the default backend on the native backend.
// NATIVE_TEST_THREADS picks the thread count (default 1); every kernel is split into its tasks and handed to the pool
// however small (setParallelThreshold(0)), so the multi-thread paths run too. NATIVE_TEST_ISA forces an ISA level.
// Poison mode fills every uninitialised allocation with NaN: an op that takes an uninitialised output but leaves
// some element unwritten, or accumulates into it, fails its fixture.
// NATIVE_TEST_ADDON names another addon folder to run instead of the package's (the conformance suite's emulated
// avx512 build, scripts/build-test-addon.mjs); the registry's own native backend stays the package's, unused.
import { useBackend } from '../../../src/backend/registry.js';
import { createNativeBackend, loadNativeBackend, type NativeIsa } from '../../../src/backend/native/index.js';

const addonDirectory = process.env.NATIVE_TEST_ADDON;
const native = addonDirectory ? await createNativeBackend({ addonDirectory }) : await loadNativeBackend();
await native.setThreads(Number(process.env.NATIVE_TEST_THREADS ?? '1'));
if (process.env.NATIVE_TEST_ISA) native.setIsa(process.env.NATIVE_TEST_ISA as NativeIsa);
native.setParallelThreshold(0);
native.setPoisonUninitialized(true);
useBackend(native);
