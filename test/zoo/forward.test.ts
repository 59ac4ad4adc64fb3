// Each classic model runs a real forward pass at its native input size (1x3x224x224) and gives [1, 1000].
// On the wasm backend (the fastest available) every model runs: ~20 s for all seventeen, VGG-19 alone ~3.5 s.
// When wasm cannot load, the reference backend (~0.4 GMAC/s) runs only the cheapest, AlexNet and ResNet-18;
// the others' shapes are still checked by the traced pass in counts.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as models from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { noGrad } from '../../src/autograd/tape.js';
import { useBackend, getBackend } from '../../src/backend/registry.js';
import { randn } from '../../src/tensor/creation.js';
import { backendScope } from '../../src/train/scope.js';
import type { Module } from '../../src/nn/module.js';
import { fastestBackend } from './support/fastest-backend.js';


/** Cheap deterministic weights (a hash, scaled like PyTorch's default init): random init of VGG takes seconds. */
function fillWeights(net: Module): void {
  let seed = 12345;
  for (const [name, p] of net.namedParameters()) {
    if (!name.endsWith('weight') || p.ndim < 2) continue;
    const fanIn = p.numel / p.shape[0]!;
    const bound = Math.sqrt(3 / fanIn);
    const d = p.data;
    for (let i = 0; i < d.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      d[i] = (seed / 4294967296 * 2 - 1) * bound;
    }
  }
}

const ALL = [
  'alexnet', 'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn',
  'googlenet', 'googlenet_aux', 'resnet18', 'resnet34', 'resnet50', 'resnet101', 'densenet121', 'densenet169',
];
const CHEAP = new Set(['alexnet', 'resnet18']);

const wasm = await fastestBackend();

for (const name of ALL) {
  const skip = wasm === null && !CHEAP.has(name) ? 'the wasm backend is not available and the reference backend is too slow for this model at 224x224' : false;
  test(`${name}: a forward pass at 224x224 gives [1, 1000] finite logits`, { skip }, () => {
    const previous = getBackend();
    if (wasm) useBackend(wasm);
    try {
      const net = skipInit(() => models.create(name));
      fillWeights(net);
      net.eval();
      const x = randn([1, 3, 224, 224]);
      backendScope()(() => {
        const y = noGrad(() => net.forward(x));
        assert.deepEqual([...y.shape], [1, 1000]);
        let spread = 0;
        for (const v of y.data) {
          assert.ok(Number.isFinite(v), 'finite logits');
          spread = Math.max(spread, Math.abs(v - y.data[0]!));
        }
        assert.ok(spread > 0, 'logits depend on the class');
      });
    } finally {
      useBackend(previous);
    }
  });
}
