// Memory scopes over plain Float32Arrays (src/backend/scoped-arrays.ts, the native backend's): a scope's end takes
// back what it allocated except its result and kept arrays, and the next scope reuses them; a training step run
// inside scopes gives the same bits as one run without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScopedArrays } from '../../src/backend/scoped-arrays.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { getBackend, useBackend } from '../../src/backend/registry.js';
import { F, manualSeed, models, optim, randn } from '../../src/index.js';

const fresh = (n: number) => new Float32Array(n);

test('a scope gives back what it allocated, and the next scope reuses it zero-filled', () => {
  const s = new ScopedArrays(1 << 20);
  assert.equal(s.alloc(4, true, fresh).length, 4, 'outside a scope: a fresh array');
  assert.equal(s.pooledBytes, 0, 'outside a scope nothing is tracked');
  s.beginScope();
  const a = s.alloc(8, true, fresh);
  a.fill(7);
  s.endScope();
  assert.equal(s.pooledBytes, 32);
  s.beginScope();
  const b = s.alloc(8, true, fresh);
  assert.equal(b, a, 'the same array comes back');
  assert.deepEqual([...b], new Array(8).fill(0), 'zero-filled when asked');
  const c = s.alloc(8, false, fresh);
  assert.notEqual(c, a, 'a live array is never handed out twice');
  s.endScope();
});

test('the result, kept arrays and subarrays of them survive; nested scopes hand kept arrays outwards', () => {
  const s = new ScopedArrays(1 << 20);
  const result = s.scope(() => {
    const whole = s.alloc(16, true, fresh);
    s.alloc(16, true, fresh);
    return { data: whole.subarray(4, 8) };
  });
  assert.equal(s.pooledBytes, 64, 'only the other array came back');
  s.beginScope();
  const again = s.alloc(16, true, fresh);
  assert.notEqual(again.buffer, result.data.buffer, 'the result\'s parent buffer is not reused');
  s.beginScope();
  const inner = s.alloc(32, true, fresh);
  s.keep(inner);
  s.endScope();
  assert.equal(s.pooledBytes, 0, 'kept: it belongs to the outer scope now');
  s.endScope();
  assert.equal(s.pooledBytes, 64 + 128, 'the outer scope gives both back');
});

test('at most maxFreeBytes wait for reuse', () => {
  const s = new ScopedArrays(100);
  s.scope(() => { s.alloc(20, true, fresh); s.alloc(20, true, fresh); return null; });
  assert.equal(s.pooledBytes, 80, 'the second 80-byte array did not fit under 100 bytes');
});

test('native: training steps inside scopes (arrays reused) give the same bits as without scopes', async () => {
  const native = await loadNativeBackend();
  const previous = getBackend();
  useBackend(native);
  try {
    const run = (scoped: boolean): number[] => {
      manualSeed(3);
      const net = models.create('resnet20b', { numClasses: 10, inChannels: 1, inputSize: [12, 12] });
      const opt = new optim.SGD([...net.parameters()], { lr: 0.05, momentum: 0.9 });
      const x = randn([6, 1, 12, 12]);
      const y = Int32Array.from([0, 1, 2, 3, 4, 5]);
      const losses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const step = () => { const l = F.crossEntropy(net.forward(x), y); opt.zeroGrad(); l.backward(); opt.step(); return l.item(); };
        losses.push(scoped ? native.scope(step) : step());
      }
      return losses;
    };
    const plain = run(false);
    const scoped = run(true);
    assert.ok(native.pooledBytes > 0, 'the scoped steps gave arrays back for reuse');
    assert.deepEqual(scoped, plain);
  } finally {
    useBackend(previous);
  }
});
