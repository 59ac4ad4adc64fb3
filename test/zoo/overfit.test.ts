// Each small model can fit one batch: 4 random 8x8 grey images with 4 different labels reach 100% training
// accuracy and a cross-entropy below 0.1 within a step budget (Adam). A broken gradient, a detached branch or a
// dead shortcut shows up as a model that cannot. Runs on the wasm backend when it loads (about 15 s for all);
// on the reference backend the slowest two (plain56, densenet_bc100) are skipped.
//
// Measured on wasm (steps to fit): resnet20 2, resnet56 2, plain20 9, plain56 ~35: the plain 56-layer net is
// by far the hardest to fit, the degradation problem that skip connections remove (He et al. 2015).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as models from '../../src/models/index.js';
import { useBackend, getBackend } from '../../src/backend/registry.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { crossEntropy, argmax } from '../../src/ops/index.js';
import { Adam } from '../../src/optim/adam.js';
import { backendScope } from '../../src/train/scope.js';
import { fastestBackend } from './support/fastest-backend.js';

const wasm = await fastestBackend();

/** Train on one batch until it is fitted; returns the number of steps taken, or throws with the last loss. */
function stepsToFit(name: string, options: models.ModelOptions, lr: number, maxSteps: number): number {
  manualSeed(0);
  const [h, w] = options.inputSize ?? [8, 8];
  const net = models.create(name, { inChannels: 1, numClasses: 10, inputSize: [h, w], ...options });
  net.train();
  const x = randn([4, 1, h, w]);
  const y = Int32Array.from([0, 1, 2, 3]);
  const opt = new Adam(net.parameters(), { lr });
  const scope = backendScope();
  let first = NaN, last = NaN;
  for (let step = 0; step <= maxSteps; step++) {
    const fitted = scope(() => {
      const logits = net.forward(x);
      const loss = crossEntropy(logits, y);
      last = loss.item();
      if (step === 0) first = last;
      const correct = argmax(logits, 1).indices.filter((c, i) => c === y[i]).length;
      if (correct === 4 && last < 0.1) return true;
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return false;
    });
    if (fitted) return step;
  }
  assert.fail(`${name} did not fit one batch in ${maxSteps} steps: loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
}

const CASES: [string, models.ModelOptions, number, number][] = [
  // name, options, Adam lr, step budget
  ['resnet20', {}, 3e-3, 20],
  ['resnet20b', {}, 3e-3, 20],
  ['resnet32', {}, 3e-3, 20],
  ['resnet56', {}, 3e-3, 20],
  ['resnet56b', {}, 3e-3, 20],
  ['plain20', {}, 3e-3, 40],
  ['plain56', {}, 1e-3, 80],
  ['vggsmall_bn', {}, 3e-3, 20],
  ['cnn2_bn', {}, 3e-3, 30],
  ['inception_small', {}, 3e-3, 20],
  ['densenet_bc40', {}, 3e-3, 40],
  ['densenet_bc100', {}, 3e-3, 30],
  ['lcnet', {}, 3e-3, 30],
  ['lenet5', { inputSize: [28, 28] }, 3e-3, 40],
  ['vggsmall', {}, 3e-3, 30],
  ['mlp', {}, 3e-3, 30],
];
const SLOW_ON_REFERENCE = new Set(['plain56', 'densenet_bc100']);

for (const [name, options, lr, budget] of CASES) {
  const skip = wasm === null && SLOW_ON_REFERENCE.has(name) ? 'the wasm backend is not available and this model is slow on the reference backend' : false;
  test(`${name} fits one batch`, { skip }, () => {
    const previous = getBackend();
    if (wasm) useBackend(wasm);
    try {
      const steps = stepsToFit(name, options, lr, budget);
      assert.ok(steps >= 1, 'an untrained model does not already fit the batch');
    } finally {
      useBackend(previous);
    }
  });
}
