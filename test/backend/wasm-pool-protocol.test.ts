// The wasm worker pool's job protocol (src/backend/wasm/threads.ts): a worker that wakes late for an old job must
// never take a share of the next one while the caller is still writing it. The caller used to write the new job's
// kernel, arguments and CHUNKS while NEXT still held the old generation with fewer taken shares than the new CHUNKS,
// so such a worker took a share with a mix of both jobs (a wrong value now and then in the 2-thread op suite on a
// loaded machine). These tests drive the share loop and ThreadPool.run on a hand-made control block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ThreadPool, convkitRunShares, closeShares, openShares, generationOf,
  ARGS_BYTE, CHUNKS, CONTROL_BYTES, DONE, KERNEL, MAX_ARGS, MAX_CHUNKS, NEXT, NT, SEQ, SHARE_BITS,
} from '../../src/backend/wasm/threads.js';

type Kernel = (...args: number[]) => unknown;

function controlBlock(): { memory: WebAssembly.Memory; ctl: Int32Array; args: Float64Array } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  return { memory, ctl: new Int32Array(memory.buffer, 0, 16), args: new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS) };
}

test('a late worker of the previous job takes no share once the caller has closed the shares for the next one', () => {
  const { ctl, args } = controlBlock();
  const ran: string[] = [];
  const fns: Kernel[] = [(a, share) => ran.push(`old ${a} share ${share}`), (a, share) => ran.push(`new ${a} share ${share}`)];
  // Job 1: kernel 0, 2 shares, both taken by the caller.
  ctl[KERNEL] = 0; ctl[CHUNKS] = 2; ctl[4] = 1; ctl[8] = -1; args[0] = 11;
  openShares(ctl, 1);
  Atomics.store(ctl, SEQ, 1);
  assert.equal(convkitRunShares(ctl, args, fns, 0, generationOf(1)), 2);
  // The caller starts job 2 (kernel 1, 8 shares): first it closes the shares, then it rewrites the fields.
  closeShares(ctl, 2);
  ctl[KERNEL] = 1; ctl[CHUNKS] = 8; args[0] = 22;
  Atomics.store(ctl, DONE, 0);
  // A worker that read SEQ = 1 long ago and only now reaches the share loop sees job 2's fields half written.
  assert.equal(convkitRunShares(ctl, args, fns, 1, generationOf(1)), 0, 'the late worker ran a share');
  // Nor can a thread of the new generation start before the shares are opened.
  assert.equal(convkitRunShares(ctl, args, fns, 1, generationOf(2)), 0);
  assert.equal(Atomics.load(ctl, DONE), 0, 'DONE counts only real shares of job 2');
  openShares(ctl, 2);
  assert.equal(convkitRunShares(ctl, args, fns, 1, generationOf(2)), 8);
  assert.deepEqual(ran, ['old 11 share 0', 'old 11 share 1', ...Array.from({ length: 8 }, (_, s) => `new 22 share ${s}`)]);
});

test('ThreadPool.run closes the shares under the new generation before it writes any field of the job', async () => {
  const { memory, ctl } = controlBlock();
  const fns: Kernel[] = [() => 0, () => 0];
  // Workers that are spawned and ready but never run a share: the caller runs every share itself.
  const pool = new ThreadPool({} as WebAssembly.Module, memory, ['a', 'b'], fns, 0, () => ({ ready: Promise.resolve() }), true);
  await pool.setThreads(2);
  const seen: { seq: number; next: number; chunks: number }[] = [];
  const store = Atomics.store;
  // ThreadPool.run stores NT (with Atomics) after writing the kernel, the arguments and CHUNKS: at that moment NEXT
  // must already belong to the new job and have no share to take.
  Atomics.store = ((array: Int32Array, index: number, value: number) => {
    if (array.buffer === memory.buffer && index === NT) seen.push({ seq: (Atomics.load(ctl, SEQ) + 1) | 0, next: Atomics.load(ctl, NEXT), chunks: ctl[CHUNKS]! });
    return store(array, index, value);
  }) as typeof Atomics.store;
  try {
    pool.run(0, [1, 2], 2);
    pool.run(1, [3], 8);
    pool.run(0, [4, 5, 6], 5);
  } finally {
    Atomics.store = store;
  }
  assert.equal(seen.length, 3);
  for (const s of seen) {
    assert.equal(s.next >>> SHARE_BITS, generationOf(s.seq), `NEXT still held the previous job's generation while job ${s.seq} was written`);
    assert.equal(s.next & MAX_CHUNKS, MAX_CHUNKS, 'shares were open while the job was written');
  }
  assert.deepEqual(seen.map((s) => s.chunks), [2, 8, 5]);
  assert.ok(CONTROL_BYTES >= ARGS_BYTE + MAX_ARGS * 8);
});
