/**
 * ConvNetJS 0.3 peer (`convnetjs` on npm): float64, one example at a time. One cell per process.
 *
 * Each model is ConvNetJS's closest network: the same conv/pool/fc layers and sizes (parameter counts
 * checked against PyTorch's). Its `softmax` layer adds the last fc layer and the cross-entropy loss.
 * Training uses its `Trainer` ('sgd', learning_rate 0.01, momentum 0.9, batch_size 64 or 128, no weight
 * decay): gradients are summed over the batch and divided by batch_size, and the momentum update
 * `v = 0.9 v - lr g; w += v` equals PyTorch's for a constant learning rate. A step of n examples is n calls
 * of `trainer.train` (a weight update every batch_size examples); inference is `net.forward(vol, false)`.
 *
 * resnet20 cannot be expressed: ConvNetJS networks are a chain of layers (no residual additions) and it
 * has no batch normalisation.
 */
import { createRequire } from 'node:module';
import { cellArgs, emit, measure, randomInputs, INPUT_SHAPES, PARAM_COUNTS } from '../lib/timing.mjs';

const require = createRequire(import.meta.url);
const convnetjs = require('convnetjs');
const args = cellArgs();

function layerDefs(name) {
  const [c, h, w] = INPUT_SHAPES[name];
  const input = { type: 'input', out_sx: w, out_sy: h, out_depth: c };
  const conv = (sx, filters, pad) => ({ type: 'conv', sx, filters, stride: 1, pad, activation: 'relu' });
  const pool = { type: 'pool', sx: 2, stride: 2 };
  const fc = (n) => ({ type: 'fc', num_neurons: n, activation: 'relu' });
  const softmax = { type: 'softmax', num_classes: 10 };
  switch (name) {
    case 'mlp': return [input, fc(256), fc(256), softmax];
    case 'lenet5': return [input, conv(5, 6, 2), pool, conv(5, 16, 0), pool, fc(120), fc(84), softmax];
    case 'vggsmall': return [input, conv(3, 32, 1), conv(3, 32, 1), pool, conv(3, 64, 1), conv(3, 64, 1), pool, fc(256), softmax];
    default: return null;
  }
}

function main() {
  if (args.info) {
    emit({ version: require('convnetjs/package.json').version, detail: 'float64, one example at a time' });
    return;
  }
  const defs = layerDefs(args.model);
  if (defs === null) {
    emit({ status: 'cannot', note: 'cannot express: ConvNetJS has no batch normalisation and no residual connections' });
    return;
  }
  const net = new convnetjs.Net();
  net.makeLayers(defs);
  const params = net.getParamsAndGrads().reduce((sum, pg) => sum + pg.params.length, 0);
  if (params !== PARAM_COUNTS[args.model]) throw new Error(`convnetjs ${args.model}: ${params} parameters, expected ${PARAM_COUNTS[args.model]}`);

  const { x, y } = randomInputs(args.model, args.batch);
  const [c, h, w] = INPUT_SHAPES[args.model];
  const vols = [];
  for (let i = 0; i < args.batch; i++) {
    const vol = new convnetjs.Vol(w, h, c, 0);
    // ConvNetJS stores (x, y, d) at ((w * y) + x) * depth + d; the source is NCHW.
    for (let d = 0; d < c; d++)
      for (let yy = 0; yy < h; yy++)
        for (let xx = 0; xx < w; xx++) vol.w[(w * yy + xx) * c + d] = x[((i * c + d) * h + yy) * w + xx];
    vols.push(vol);
  }

  let step;
  if (args.mode === 'train') {
    const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: 0.01, momentum: 0.9, batch_size: args.batch, l2_decay: 0 });
    let next = 0;
    step = (k) => {
      for (let i = 0; i < k; i++, next = (next + 1) % args.batch) trainer.train(vols[next], y[next]);
    };
  } else {
    step = (k) => {
      for (let i = 0; i < k; i++) net.forward(vols[i], false);
    };
  }
  return measure(step, args.batch, args).then((result) => emit({ batch: args.batch, precision: 'float64', ...result }));
}

Promise.resolve()
  .then(main)
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
