// Preload (node --import) that runs test files written for the default backend on the native backend.
// NATIVE_TEST_THREADS picks the thread count (default 1); every kernel is split into its tasks and handed to the pool
// however small (setParallelThreshold(0)), so the multi-thread paths run too. NATIVE_TEST_ISA forces an ISA level.
// Poison mode fills every uninitialised allocation with NaN: an op that takes an uninitialised output but leaves
// some element unwritten, or accumulates into it, fails its fixture.
import { useBackend } from '../../../src/backend/registry.js';
import { loadNativeBackend, type NativeIsa } from '../../../src/backend/native/index.js';

const native = await loadNativeBackend();
await native.setThreads(Number(process.env.NATIVE_TEST_THREADS ?? '1'));
if (process.env.NATIVE_TEST_ISA) native.setIsa(process.env.NATIVE_TEST_ISA as NativeIsa);
native.setParallelThreshold(0);
native.setPoisonUninitialized(true);
useBackend(native);
