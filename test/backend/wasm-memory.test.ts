// Memory of the wasm backend over long loops that never call release(): flat with scopes (blocks of the wasm heap,
// returned when each scope ends), and flat without (outside a scope alloc() hands out GC-owned arrays, so a plain
// synchronous loop leaves nothing behind in the wasm memory; kernels copy those arrays in and out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conv2dGeometry } from '../../src/backend/backend.js';
import { loadWasmBackend, type WasmBackend } from '../../src/backend/wasm/index.js';

const wasm = await loadWasmBackend();
await wasm.setThreads(1); // memory behaviour does not depend on threads; one keeps the test fast on a busy machine

const g: Conv2dGeometry = {
  n: 2, cIn: 4, h: 12, w: 12, cOut: 8, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1,
  dilationH: 1, dilationW: 1, groups: 1, outH: 12, outW: 12,
};
const x = wasm.alloc(g.n * g.cIn * g.h * g.w).fill(0.5);
const weight = wasm.alloc(g.cOut * g.cIn * g.kh * g.kw).fill(0.25);

/** One "training step" worth of kernels; every output is a fresh alloc that is dropped afterwards. */
function step(w: WasmBackend): number {
  const y = w.alloc(g.n * g.cOut * g.outH * g.outW);
  w.conv2d(x, weight, null, g, y);
  const r = w.alloc(y.length);
  w.unary('relu', y, r);
  const gx = w.alloc(x.length);
  w.conv2dBackwardInput(r, weight, g, gx);
  const gw = w.alloc(weight.length);
  w.conv2dBackwardWeight(x, r, g, gw);
  // Activation-sized elementwise traffic: 3 x 256 KiB per step.
  const big = w.alloc(1 << 16);
  w.binary('add', big, [1 << 16], gw, [1], big, [1 << 16]);
  const e = w.alloc(big.length);
  w.unary('relu', big, e);
  const sq = w.alloc(big.length);
  w.binary('mul', e, [e.length], e, [e.length], sq, [e.length]);
  const s = w.alloc(1);
  w.reduce('sum', sq, [sq.length], [0], s);
  return s[0]!;
}

test('a 2,000-step loop inside scopes keeps the wasm memory flat', () => {
  let at200 = 0;
  for (let i = 1; i <= 2000; i++) {
    wasm.scope(() => step(wasm));
    if (i === 200) at200 = wasm.memoryBytes();
  }
  const at2000 = wasm.memoryBytes();
  assert.ok(at2000 <= at200 * 1.03, `memory grew from ${at200} to ${at2000} bytes`);
});

test('a plain synchronous 2,000-step loop without scopes or release keeps the wasm memory flat', () => {
  let at200 = 0;
  for (let i = 1; i <= 2000; i++) {
    step(wasm);
    if (i === 200) at200 = wasm.memoryBytes();
  }
  const at2000 = wasm.memoryBytes();
  assert.ok(at2000 <= at200 * 1.03, `memory grew from ${(at200 / 2 ** 20).toFixed(1)} to ${(at2000 / 2 ** 20).toFixed(1)} MiB`);
});

test('heap arrays that escape their scope are returned by finalization when the loop yields', async () => {
  // keep() lets arrays outlive their scope; once dropped, only the FinalizationRegistry can return their blocks,
  // after a collection (the heap asks Node for one) and a turn of the event loop.
  let at200 = 0;
  for (let i = 1; i <= 2000; i++) {
    wasm.scope(() => { wasm.keep(wasm.alloc(1 << 16)); });
    if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    if (i === 200) at200 = wasm.memoryBytes();
  }
  const at2000 = wasm.memoryBytes();
  assert.ok(at2000 <= at200 * 1.05, `memory grew from ${(at200 / 2 ** 20).toFixed(1)} to ${(at2000 / 2 ** 20).toFixed(1)} MiB`);
});

test('scope frees what it allocated, except kept arrays and its result', () => {
  const outer = wasm.alloc(16);
  let kept: Float32Array | null = null, returned: Float32Array | null = null;
  const liveBefore = wasm.liveBytes();
  returned = wasm.scope(() => {
    for (let i = 0; i < 10; i++) wasm.alloc(1000);
    kept = wasm.alloc(100).fill(3);
    wasm.keep(kept);
    return wasm.alloc(50).fill(4);
  });
  // Only the kept and the returned blocks (64-byte size classes) remain.
  assert.equal(wasm.liveBytes() - liveBefore, 448 + 256);
  wasm.setPoisonFreed(true);
  try {
    wasm.scope(() => { wasm.alloc(2000).fill(1); });
    assert.ok(kept!.every((v) => v === 3));
    assert.ok(returned.every((v) => v === 4));
    assert.equal(outer.length, 16);
  } finally {
    wasm.setPoisonFreed(false);
  }
  assert.throws(() => wasm.endScope(), /without a matching beginScope/);
});

test('arrays stay valid when the memory grows, and kernels still read them', () => wasm.scope(() => {
  const a = wasm.alloc(1024);
  for (let i = 0; i < a.length; i++) a[i] = i;
  const before = wasm.memoryBytes();
  const big = wasm.alloc(before / 2); // forces growth
  assert.ok(wasm.memoryBytes() > before);
  assert.equal(a[1023], 1023);
  const out = wasm.alloc(1);
  wasm.reduce('sum', a, [1024], [0], out);
  assert.equal(out[0], (1023 * 1024) / 2);
  assert.ok(wasm.owns(a) && wasm.owns(big));
  wasm.release(big);
}));

test('subarrays keep their parent block alive for finalization', () => wasm.scope(() => {
  const parent = wasm.alloc(64);
  const view = parent.subarray(8, 16);
  assert.ok(wasm.owns(view));
  assert.equal((view as unknown as { owner: Float32Array }).owner, parent);
}));
