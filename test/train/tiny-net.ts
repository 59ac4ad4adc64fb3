// A tiny CNN built from Module + functional ops (conv, batch norm, pool, linear), so trainer and checkpoint
// tests do not depend on the layer library. It has parameters and buffers (batch-norm running statistics).
import { Module, Parameter } from '../../src/nn/module.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { randn, zeros, ones } from '../../src/tensor/creation.js';
import * as F from '../../src/ops/index.js';

export class TinyNet extends Module {
  readonly convWeight = this.registerParameter('convWeight', Parameter.from(randn([4, 1, 3, 3]).mul(0.3)));
  readonly convBias = this.registerParameter('convBias', Parameter.from(zeros([4])));
  readonly bnWeight = this.registerParameter('bnWeight', Parameter.from(ones([4])));
  readonly bnBias = this.registerParameter('bnBias', Parameter.from(zeros([4])));
  readonly runningMean = this.registerBuffer('runningMean', zeros([4]));
  readonly runningVar = this.registerBuffer('runningVar', ones([4]));
  readonly fcWeight = this.registerParameter('fcWeight', Parameter.from(randn([10, 4 * 7 * 7]).mul(0.05)));
  readonly fcBias = this.registerParameter('fcBias', Parameter.from(zeros([10])));

  forward(x: Tensor): Tensor {
    let h = F.conv2d(x, this.convWeight, this.convBias, { padding: 1 });
    h = F.batchNorm(h, this.runningMean, this.runningVar, this.bnWeight, this.bnBias, { training: this.training });
    h = F.maxPool2d(F.relu(h), { kernelSize: 4 });
    return F.linear(F.flatten(h, 1), this.fcWeight, this.fcBias);
  }
}
