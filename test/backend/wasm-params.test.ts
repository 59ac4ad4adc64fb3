// Parameters in the wasm heap: the layers take their parameters' data from the backend's allocState(), which on
// wasm is a persistent heap block (kernels read and update it in place, no copy per call). These tests pin down
// what that must not change: the bits of training and inference, backend switches, state dicts, and what happens
// when the heap cannot (or should not) hold more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, getBackend, io, manualSeed, models, nn, noGrad, optim, randn, setBackend, useBackend, type Tensor } from '../../src/index.js';
import { loadWasmBackend, type WasmBackend } from '../../src/backend/wasm/index.js';

const wasm: WasmBackend = await loadWasmBackend();
await wasm.setThreads(1);
// These tests are about wasm's heap: they run on wasm whatever the default is (native comes first in Node).
useBackend(wasm);

/** Run fn with `name` as the active backend, then restore the one that was active. */
async function onBackend<T>(name: 'wasm' | 'reference', fn: () => T): Promise<T> {
  const before = getBackend();
  await setBackend(name);
  try {
    return fn();
  } finally {
    if (getBackend() !== before) await setBackend(before.name);
  }
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/** Losses of a few SGD-with-momentum steps and the final parameters, on the active backend. */
function trainSteps(net: nn.Module, steps: number): { losses: number[]; params: Float32Array[]; logits: Float32Array } {
  manualSeed(7);
  const x = randn([8, 1, 28, 28]);
  const y = Int32Array.from({ length: 8 }, (_, i) => i % 10);
  const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
  const losses: number[] = [];
  net.train();
  for (let s = 0; s < steps; s++) {
    const loss = F.crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  net.eval();
  const logits = noGrad(() => net.forward(x)).toFloat32Array();
  return { losses, params: net.parameters().map((p) => p.toFloat32Array()), logits };
}

test('on wasm, the layers\' parameters live in the heap; on reference, in ordinary memory', async () => {
  const before = wasm.persistentBytes();
  const onWasm = await onBackend('wasm', () => models.create('lenet5'));
  assert.ok(onWasm.parameters().every((p) => wasm.owns(p.data)), 'every parameter is a heap block');
  assert.ok(wasm.persistentBytes() - before >= onWasm.numParameters() * 4);
  const onReference = await onBackend('reference', () => models.create('lenet5'));
  assert.ok(onReference.parameters().every((p) => !wasm.owns(p.data)));
  // BatchNorm's weight starts at 1 wherever it lives.
  const bn = await onBackend('wasm', () => new nn.BatchNorm2d(3));
  assert.deepEqual(Array.from(bn.weight!.data), [1, 1, 1]);
  assert.ok(wasm.owns(bn.weight!.data));
});

test('heap parameters give the same bits as GC-owned ones (only copies are saved), with 1 and 2 threads', async () => {
  for (const threads of [1, 2]) {
    await wasm.setThreads(threads);
    for (const name of ['mlp', 'lenet5']) {
      manualSeed(3);
      const inHeap = await onBackend('wasm', () => models.create(name));
      manualSeed(3);
      const gcOwned = await onBackend('reference', () => models.create(name)); // plain arrays, then trained on wasm
      assert.ok(!wasm.owns(gcOwned.parameters()[0]!.data) && wasm.owns(inHeap.parameters()[0]!.data));
      const a = await onBackend('wasm', () => trainSteps(inHeap, 4));
      const b = await onBackend('wasm', () => trainSteps(gcOwned, 4));
      assert.deepEqual(a.losses, b.losses, `${name}, ${threads} threads: losses`);
      a.params.forEach((p, i) => assert.deepEqual(bits(p), bits(b.params[i]!), `${name}, ${threads} threads: parameter ${i}`));
      assert.deepEqual(bits(a.logits), bits(b.logits), `${name}, ${threads} threads: logits`);
    }
  }
  await wasm.setThreads(1);
});

test('parameters created on wasm keep working after setBackend(\'reference\') and back', async () => {
  manualSeed(5);
  const net = await onBackend('wasm', () => models.create('lenet5'));
  manualSeed(5);
  const twin = await onBackend('reference', () => models.create('lenet5'));
  // Train both on reference: heap arrays are ordinary Float32Arrays to the reference kernels.
  const a = await onBackend('reference', () => trainSteps(net, 2));
  const b = await onBackend('reference', () => trainSteps(twin, 2));
  assert.deepEqual(a.losses, b.losses);
  a.params.forEach((p, i) => assert.deepEqual(bits(p), bits(b.params[i]!)));
  assert.ok(net.parameters().every((p) => wasm.owns(p.data)), 'the optimizer updated the heap arrays in place');
  // And back on wasm, still the same as the twin.
  const c = await onBackend('wasm', () => trainSteps(net, 2));
  const d = await onBackend('wasm', () => trainSteps(twin, 2));
  assert.deepEqual(c.losses, d.losses);
  assert.deepEqual(bits(c.logits), bits(d.logits));
});

test('stateDict / loadStateDict and safetensors round-trip into the same heap arrays', async () => {
  await onBackend('wasm', () => {
    manualSeed(11);
    const source = models.create('lenet5');
    manualSeed(12);
    const target = models.create('lenet5');
    const arrays = target.parameters().map((p) => p.data);
    const bytes = io.encodeSafetensors(Object.fromEntries(Object.entries(source.stateDict()).map(([k, t]) => [k, { data: t.data, shape: t.shape }])));
    const sd: Record<string, Tensor> = {};
    for (const [k, t] of io.decodeSafetensors(bytes).tensors) sd[k] = new nn.Parameter(t.data, t.shape, false);
    assert.equal(Object.keys(sd).length, Object.keys(source.stateDict()).length);
    target.loadStateDict(sd);
    target.parameters().forEach((p, i) => {
      assert.equal(p.data, arrays[i], 'loaded in place: the parameter keeps its array');
      assert.ok(wasm.owns(p.data));
    });
    for (const [k, t] of Object.entries(source.stateDict())) assert.deepEqual(bits(target.stateDict()[k]!.data), bits(t.data), k);
    // Copies out of a heap array are plain arrays, equal to any Float32Array of the same values.
    assert.deepStrictEqual(target.parameters()[1]!.toFloat32Array(), Float32Array.from(source.parameters()[1]!.data));
    assert.equal(Object.getPrototypeOf(target.parameters()[1]!.data.slice()), Float32Array.prototype);
  });
});

test('when the memory cannot grow, parameters and optimizer state fall back to GC-owned arrays', async () => {
  await onBackend('wasm', () => {
    let big: nn.Linear;
    wasm.setMemoryLimit(wasm.memoryBytes());
    try {
      const floats = wasm.memoryBytes() / 4; // more than the heap has free, so it would need to grow
      assert.throws(() => wasm.scope(() => wasm.alloc(floats)), /out of memory/, 'the limit holds for scoped blocks');
      const state = wasm.allocState(floats);
      assert.equal(state.length, floats);
      assert.ok(!wasm.owns(state), 'a GC-owned array');
      assert.ok(state.every((v) => v === 0));
      big = new nn.Linear(1024, floats / 1024 + 1);
      assert.ok(!wasm.owns(big.weight.data));
    } finally {
      wasm.setMemoryLimit(null);
    }
    assert.ok(wasm.owns(wasm.allocState(16)), 'heap blocks again once the limit is lifted');
    // The fallback layer trains like any other (kernels copy its arrays through temporary blocks).
    const x = randn([2, 1024]);
    const before = big.weight.toFloat32Array();
    const opt = new optim.Adam(big.parameters(), { lr: 1e-3 });
    F.mean(big.forward(x)).backward();
    opt.step();
    assert.ok(big.weight.data.every(Number.isFinite));
    assert.notDeepEqual(big.weight.toFloat32Array(), before);
  });
});

test('a synchronous loop building many models stops at the persistent budget instead of filling the memory', async () => {
  await onBackend('wasm', () => {
    const budget = 8 * 2 ** 20;
    wasm.setPersistentBudget(wasm.persistentBytes() + budget);
    try {
      const memoryBefore = wasm.memoryBytes();
      const kept: nn.Linear[] = [];
      let inHeap = 0;
      // 64 x 1 MiB of weights, never released and with no turn of the event loop (so no finalization).
      for (let i = 0; i < 64; i++) {
        const layer = new nn.Linear(512, 512);
        if (wasm.owns(layer.weight.data)) inHeap++;
        kept.push(layer);
      }
      assert.ok(inHeap >= 6 && inHeap <= 8, `${inHeap} of 64 layers in the heap with an 8 MiB budget`);
      // The budget, plus the 1/8 margin the heap grows by at once (without the budget: 64 MiB).
      assert.ok(wasm.memoryBytes() - memoryBefore <= budget + memoryBefore / 8 + 2 ** 20,
        `the memory grew by ${((wasm.memoryBytes() - memoryBefore) / 2 ** 20).toFixed(1)} MiB`);
      // Layers past the budget work the same.
      const x = randn([4, 512]);
      const first = kept[0]!, last = kept[63]!;
      last.weight.data.set(first.weight.data);
      last.bias!.data.set(first.bias!.data);
      assert.deepEqual(bits(noGrad(() => last.forward(x)).data), bits(noGrad(() => first.forward(x)).data));
    } finally {
      wasm.setPersistentBudget(null);
    }
  });
});

test('released and finalized persistent blocks leave the persistent count', async () => {
  const before = wasm.persistentBytes();
  const a = wasm.allocState(1000);
  assert.equal(wasm.persistentBytes() - before, 4096);
  wasm.release(a);
  assert.equal(wasm.persistentBytes(), before);
  // A loop that yields now and then gets its dropped models' blocks back (the heap asks for a collection, and
  // finalization runs on the event loop), so it never reaches the budget: 200 x 256 KiB, far less kept.
  let stillInHeap = 0;
  for (let i = 1; i <= 200; i++) {
    const layer = new nn.Linear(256, 256, { bias: false });
    if (wasm.owns(layer.weight.data)) stillInHeap++;
    if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(stillInHeap, 200, 'every layer got a heap block');
  const kept = wasm.persistentBytes() - before;
  assert.ok(kept < 200 * 2 ** 18 / 2, `${(kept / 2 ** 20).toFixed(1)} MiB of 50 MiB still held`);
});
