// nn.Sequential fuses a Conv2d or Linear directly followed by a ReLU into one op, and a Conv2d, [ReLU,] MaxPool2d(2)
// into conv2dMaxPool2x2 (src/nn/layers/fusion.ts):
// the same output and parameter gradients BIT FOR BIT as running every module's forward one by one (the fused
// pass does the same float32 additions and comparisons; see test/ops/fused-activation.test.ts), only when
// nothing observes the modules' forwards, and the zoo's reference models take the fused path. The op suite
// (test/backend/op-suite.test.ts) runs it on every backend, with 1 and 2 threads where it has threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import { F, models, noGrad } from '../../src/index.js';
import { crossEntropy } from '../../src/ops/index.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { getBackend, useBackend } from '../../src/backend/registry.js';
import type { Backend } from '../../src/backend/backend.js';

interface KernelCounts { reluPasses: number; fusedRelu: number; reluMasks: number; fusedReluBackward: number }
/** Calls of the backend's one-pass convolution + pooling (wasm's direct kernels; the reference backend has none). */
let fusedPools = 0;

/** Run fn on the current backend wrapped to count relu passes (unfused) and fused relu epilogues. */
function counting<T>(fn: () => T): [T, KernelCounts] {
  const inner = getBackend();
  const counts: KernelCounts = { reluPasses: 0, fusedRelu: 0, reluMasks: 0, fusedReluBackward: 0 };
  const wrapper: Backend = {
    ...inner,
    unary(op, x, out) { if (op === 'relu') counts.reluPasses++; inner.unary(op, x, out); },
    // A relu gradient computed as mul(gy, gt(out, 0)) would show as comparisons against a scalar 0: there are none,
    // since relu's own VJP uses the same one-pass activationBackward as the fused ops.
    binary(op, a, as, b, bs, out, os) { if (op === 'gt' && b.length === 1 && b[0] === 0) counts.reluMasks++; inner.binary(op, a, as, b, bs, out, os); },
    biasActivation(out, bias, rows, cols, activation) { if (activation === 'relu') counts.fusedRelu++; inner.biasActivation(out, bias, rows, cols, activation); },
    activationBackward(y, gy, gx, activation) { if (activation === 'relu') counts.fusedReluBackward++; inner.activationBackward(y, gy, gx, activation); },
  };
  if (inner.conv2dFused) {
    // A ReLU the convolution kernel applied at its store counts as fused like one applied by biasActivation.
    wrapper.conv2dFused = (x, w, bias, g, epilogue) => {
      const out = inner.conv2dFused!(x, w, bias, g, epilogue);
      if (out && epilogue.activation === 'relu') counts.fusedRelu++;
      if (out && epilogue.maxPool2x2) fusedPools++;
      return out;
    };
  }
  useBackend(wrapper);
  try {
    return [fn(), counts];
  } finally {
    useBackend(inner);
  }
}

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data).buffer));

/** Output and parameter gradients of one forward/backward with a fixed cotangent; params' grads reset first. */
function step(model: nn.Module, forward: (x: Tensor) => Tensor, x: Tensor): { out: number[]; grads: number[][] } {
  model.zeroGrad();
  const y = forward(x);
  manualSeed(5);
  y.backward(randn(y.shape));
  return { out: bits(y), grads: model.parameters().map((p) => bits(p.grad!)) };
}

/** The unfused computation: every child's own forward, in order. */
const unfused = (s: nn.Sequential) => (x: Tensor): Tensor => [...s].reduce((h, m) => m.forward(h), x);

function block(): nn.Sequential {
  manualSeed(1);
  return new nn.Sequential(
    new nn.Conv2d(2, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(4, 6, 3, { bias: false }), new nn.ReLU(), new nn.Flatten(),
    new nn.Linear(6, 5), new nn.ReLU(), new nn.Linear(5, 3), new nn.ReLU(), new nn.Linear(3, 2),
  );
}

test('a fused Sequential gives bit-identical outputs and parameter gradients to running each module', () => {
  const s = block();
  manualSeed(2);
  const x = randn([3, 2, 6, 6]);
  const [fused, counts] = counting(() => step(s, (t) => s.forward(t), x));
  const [plain, plainCounts] = counting(() => step(s, unfused(s), x));
  assert.deepEqual(fused.out, plain.out, 'outputs');
  fused.grads.forEach((g, i) => assert.deepEqual(g, plain.grads[i], `gradient of parameter ${i}`));
  assert.deepEqual(counts, { reluPasses: 0, fusedRelu: 4, reluMasks: 0, fusedReluBackward: 4 }, 'the four layer+ReLU pairs ran fused');
  // Unfused: four separate relu passes forward; backward, relu's own VJP runs the same one-pass mask kernel.
  assert.deepEqual(plainCounts, { reluPasses: 4, fusedRelu: 0, reluMasks: 0, fusedReluBackward: 4 }, 'the module-by-module run is unfused');
});

test('the fusion rule: only an unobserved Conv2d/Linear directly followed by an unobserved ReLU', () => {
  const conv = new nn.Conv2d(1, 1, 1), linear = new nn.Linear(1, 1), relu = new nn.ReLU();
  assert.equal(nn.fusibleActivation(conv, relu), 'relu');
  assert.equal(nn.fusibleActivation(linear, relu), 'relu');
  assert.equal(nn.fusibleActivation(linear, undefined), null, 'last module');
  assert.equal(nn.fusibleActivation(linear, new nn.Sigmoid()), null, 'only ReLU');
  assert.equal(nn.fusibleActivation(new nn.BatchNorm2d(1), relu), null, 'only Conv2d and Linear');
  assert.equal(nn.fusibleActivation(relu, linear), null, 'order matters');
  // A forward replaced on the instance (what inspect's summary does for its pass, or a user's hook) is observed.
  const hooked = new nn.ReLU();
  hooked.forward = (x: Tensor) => nn.ReLU.prototype.forward.call(hooked, x);
  assert.equal(nn.fusibleActivation(linear, hooked), null, 'wrapped ReLU');
  const hookedLinear = new nn.Linear(1, 1);
  hookedLinear.forward = (x: Tensor) => nn.Linear.prototype.forward.call(hookedLinear, x);
  assert.equal(nn.fusibleActivation(hookedLinear, relu), null, 'wrapped Linear');
  // A subclass that overrides forward may do anything there; one that only renames does not stop fusion.
  class ScaledLinear extends nn.Linear { override forward(x: Tensor): Tensor { return super.forward(x).mul(2); } }
  class NamedReLU extends nn.ReLU { override get typeName(): string { return 'NamedReLU'; } }
  assert.equal(nn.fusibleActivation(new ScaledLinear(1, 1), relu), null, 'overridden forward');
  assert.equal(nn.fusibleActivation(linear, new NamedReLU()), 'relu', 'a ReLU subclass with ReLU\'s forward');
});

test('a wrapped forward sees its call: Sequential then runs that pair unfused, with the same values', () => {
  const s = block();
  manualSeed(3);
  const x = randn([2, 2, 6, 6]);
  const seen: string[] = [];
  const relu = s.at<nn.ReLU>(1);
  relu.forward = (h: Tensor) => { seen.push('relu 1'); return nn.ReLU.prototype.forward.call(relu, h); };
  const linear = s.at<nn.Linear>(8);
  linear.forward = (h: Tensor) => { seen.push('linear 8'); return nn.Linear.prototype.forward.call(linear, h); };
  const [out, counts] = counting(() => s.forward(x));
  assert.deepEqual(seen, ['relu 1', 'linear 8']);
  assert.deepEqual([counts.reluPasses, counts.fusedRelu], [2, 2], 'two pairs observed and unfused, two fused');
  delete (relu as Partial<nn.ReLU>).forward;
  delete (linear as Partial<nn.Linear>).forward;
  assert.deepEqual(bits(out), bits(unfused(s)(x)));
});

test('an error inside a fused pair still names the layer', () => {
  const s = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU());
  assert.throws(() => s.forward(randn([2, 5])), /Linear\(4->3\) in 0: expected input with 4 features/);
  const c = new nn.Sequential(new nn.Conv2d(3, 2, 3), new nn.ReLU());
  assert.throws(() => c.forward(randn([1, 2, 5, 5])), /Conv2d\(3->2\) in 0: expected input with 3 channels/);
});

for (const [name, pairs] of [['lenet5', 4], ['mlp', 2], ['vggsmall', 5]] as const) {
  test(`${name} takes the fused path for all ${pairs} layer+ReLU pairs in training and in inference`, () => {
    manualSeed(4);
    const model = models.create(name);
    const x = randn([2, 1, 28, 28]);
    model.train();
    const [, train] = counting(() => crossEntropy(model.forward(x), [3, 7]).backward());
    assert.deepEqual(train, { reluPasses: 0, fusedRelu: pairs, reluMasks: 0, fusedReluBackward: pairs });
    model.eval();
    const [, infer] = counting(() => model.forward(x));
    assert.deepEqual(infer, { reluPasses: 0, fusedRelu: pairs, reluMasks: 0, fusedReluBackward: 0 });
  });
}

test('Conv2d, [ReLU,] MaxPool2d(2) in a Sequential: conv2dMaxPool2x2, the same bits as each module in inference and in training', () => {
  manualSeed(6);
  const s = new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2), // LeNet-5's blocks
    new nn.Conv2d(6, 5, 4), new nn.MaxPool2d([2, 2], { stride: 2 }), // no ReLU; odd output (9 -> 4); 4x4: never Winograd
    new nn.Conv2d(5, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2, { ceilMode: true }), // ceil mode: not fused
  );
  manualSeed(7);
  const x = randn([3, 1, 24, 24]);
  x.data[10] = NaN;
  const before = fusedPools;
  const [inferFused] = counting(() => bits(noGrad(() => s.forward(x))));
  const fusedCalls = fusedPools - before;
  assert.deepEqual(inferFused, bits(noGrad(() => unfused(s)(x))), 'inference');
  // wasm: both plain 2x2 poolings run in the direct convolution kernel; the reference backend has no fused kernel.
  assert.equal(fusedCalls, getBackend().conv2dFused ? 2 : 0, 'one-pass convolution + pooling calls');
  const [fused] = counting(() => step(s, (t) => s.forward(t), x));
  const plain = step(s, unfused(s), x);
  assert.deepEqual(fused.out, plain.out, 'training outputs');
  fused.grads.forEach((g, i) => assert.deepEqual(g, plain.grads[i], `gradient of parameter ${i}`));
  // Training takes the one-pass kernel where it also writes the winners' indices (native: both plain 2x2 poolings);
  // wasm's kernel keeps none, so there training runs conv2d, then maxPool2d.
  const trainingCalls = fusedPools - before - fusedCalls;
  assert.equal(trainingCalls, getBackend().name === 'native' ? 2 : 0, 'one-pass convolution + pooling calls in training');
});

test('the pooling fusion rule: a plain 2x2 stride-2 MaxPool2d after an unobserved Conv2d', () => {
  const conv = new nn.Conv2d(1, 1, 3);
  assert.equal(nn.fusibleMaxPool2x2(conv, new nn.MaxPool2d(2)), true);
  assert.equal(nn.fusibleMaxPool2x2(conv, new nn.MaxPool2d([2, 2], { stride: [2, 2], padding: 0 })), true);
  assert.equal(nn.fusibleMaxPool2x2(conv, new nn.MaxPool2d(3)), false, '3x3');
  assert.equal(nn.fusibleMaxPool2x2(conv, new nn.MaxPool2d(2, { stride: 1 })), false, 'stride 1');
  assert.equal(nn.fusibleMaxPool2x2(conv, new nn.MaxPool2d(2, { padding: 1 })), false, 'padding');
  assert.equal(nn.fusibleMaxPool2x2(conv, new nn.MaxPool2d(2, { ceilMode: true })), false, 'ceil mode');
  assert.equal(nn.fusibleMaxPool2x2(new nn.Linear(1, 1), new nn.MaxPool2d(2)), false, 'only after a Conv2d');
  const hooked = new nn.MaxPool2d(2);
  hooked.forward = (t: Tensor) => nn.MaxPool2d.prototype.forward.call(hooked, t);
  assert.equal(nn.fusibleMaxPool2x2(conv, hooked), false, 'wrapped MaxPool2d');
});

test('F.conv2dMaxPool2x2 names itself in its errors, with or without gradients recorded', () => {
  const w = randn([6, 1, 5, 5]);
  const x = randn([2, 3, 28, 28]);
  assert.throws(() => noGrad(() => F.conv2dMaxPool2x2(x, w, null, { padding: 2 })), /^Error: conv2dMaxPool2x2: expected input with 1 channels/);
  assert.throws(() => F.conv2dMaxPool2x2(x, w.requiresGrad_(), null, { padding: 2 }), /^Error: conv2dMaxPool2x2: expected input with 1 channels/);
  assert.throws(() => noGrad(() => F.conv2dMaxPool2x2(randn([2, 1, 28, 28]), w, randn([5]))), /conv2dMaxPool2x2: bias must be \[6\], got \[5\]/);
});
