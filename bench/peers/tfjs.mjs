/**
 * TensorFlow.js peer (`@tensorflow/tfjs` 4.22): `--backend cpu` (pure JS) or `--backend wasm`
 * (`@tensorflow/tfjs-backend-wasm`, XNNPACK; single-threaded in Node). One cell per process.
 *
 * tfjs convolutions are channels-last, so the models take NHWC input ([N, 28, 28, 1]); the layers and
 * parameter counts are the same as PyTorch's. Training: `optimizer.minimize` over
 * `softmaxCrossEntropy(model.apply(x, { training: true }))` with `tf.train.momentum(0.01, 0.9)`
 * (the same update as PyTorch's SGD with momentum 0.9). The wasm backend has no Conv2DBackpropFilter
 * kernel, so training a conv net there fails; the error is reported as 'cannot train', not a figure.
 */
import * as tf from '@tensorflow/tfjs';
import { cellArgs, emit, measure, randomInputs, INPUT_SHAPES, PARAM_COUNTS } from '../lib/timing.mjs';

const args = cellArgs();
const backend = args.backend || 'cpu';

async function selectBackend() {
  if (backend === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  }
  const ok = await tf.setBackend(backend);
  if (!ok || tf.getBackend() !== backend) throw new Error(`tfjs: backend '${backend}' did not initialise`);
  await tf.ready();
}

const conv = (filters, kernelSize, extra = {}) => tf.layers.conv2d({ filters, kernelSize, activation: 'relu', ...extra });

function buildModel(name) {
  const [c, h, w] = INPUT_SHAPES[name];
  const inputShape = [h, w, c];
  if (name === 'mlp') {
    return tf.sequential({ layers: [
      tf.layers.flatten({ inputShape }),
      tf.layers.dense({ units: 256, activation: 'relu' }),
      tf.layers.dense({ units: 256, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ] });
  }
  if (name === 'lenet5') {
    return tf.sequential({ layers: [
      conv(6, 5, { padding: 'same', inputShape }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(16, 5, { padding: 'valid' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: 'relu' }),
      tf.layers.dense({ units: 84, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ] });
  }
  if (name === 'vggsmall') {
    return tf.sequential({ layers: [
      conv(32, 3, { padding: 'same', inputShape }),
      conv(32, 3, { padding: 'same' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(64, 3, { padding: 'same' }),
      conv(64, 3, { padding: 'same' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 256, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ] });
  }
  if (name === 'resnet20') {
    // CIFAR ResNet-20, option-B shortcuts (1x1 conv + BN where the shape changes). PyTorch's BN defaults.
    const bn = () => tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 });
    const conv3 = (filters, strides) => tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false });
    const input = tf.input({ shape: inputShape });
    let x = tf.layers.reLU().apply(bn().apply(conv3(16, 1).apply(input)));
    let cIn = 16;
    for (const [cOut, stride] of [[16, 1], [32, 2], [64, 2]]) {
      for (let i = 0; i < 3; i++) {
        const s = i === 0 ? stride : 1;
        let out = tf.layers.reLU().apply(bn().apply(conv3(cOut, s).apply(x)));
        out = bn().apply(conv3(cOut, 1).apply(out));
        const shortcut = s !== 1 || cIn !== cOut
          ? bn().apply(tf.layers.conv2d({ filters: cOut, kernelSize: 1, strides: s, useBias: false }).apply(x))
          : x;
        x = tf.layers.reLU().apply(tf.layers.add().apply([out, shortcut]));
        cIn = cOut;
      }
    }
    x = tf.layers.globalAveragePooling2d({}).apply(x);
    const logits = tf.layers.dense({ units: 10 }).apply(x);
    return tf.model({ inputs: input, outputs: logits });
  }
  throw new Error(`tfjs: unknown model '${name}'`);
}

async function main() {
  await selectBackend();
  if (args.info) {
    const env = tf.env();
    const flags = backend === 'wasm'
      ? `SIMD ${await env.getAsync('WASM_HAS_SIMD_SUPPORT')}, threads ${await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}`
      : 'pure JavaScript';
    emit({ version: tf.version.tfjs, backend: tf.getBackend(), detail: flags });
    return;
  }
  const model = buildModel(args.model);
  const params = model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
  if (params !== PARAM_COUNTS[args.model]) throw new Error(`tfjs ${args.model}: ${params} parameters, expected ${PARAM_COUNTS[args.model]}`);

  const { x, y, shape: [n, c, h, w] } = randomInputs(args.model, args.batch);
  // NCHW values -> NHWC tensor (only layout; the values are random anyway).
  const xAll = tf.tidy(() => tf.tensor4d(x, [n, c, h, w]).transpose([0, 2, 3, 1]));
  const yAll = tf.oneHot(tf.tensor1d(y, 'int32'), 10).toFloat();
  const slices = new Map();
  const batchOf = (k) => {
    if (!slices.has(k)) slices.set(k, [xAll.slice(0, k), yAll.slice(0, k)]);
    return slices.get(k);
  };

  let step;
  if (args.mode === 'train') {
    const optimizer = tf.train.momentum(0.01, 0.9);
    step = (k) => {
      const [xb, yb] = batchOf(k);
      const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true })), true);
      cost.dataSync();
      cost.dispose();
    };
  } else {
    step = (k) => {
      const [xb] = batchOf(k);
      tf.tidy(() => model.predict(xb, { batchSize: k }).dataSync()); // one pass over the whole batch (predict splits into 32s by default)
    };
  }
  try {
    step(Math.min(args.batch, 8));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (args.mode === 'train' && /not registered|backprop|BackpropFilter/i.test(message)) {
      emit({ status: 'cannot', note: `cannot train: ${message.split('\n')[0]}` });
      return;
    }
    throw error;
  }
  const result = await measure(step, args.batch, args);
  emit({ batch: args.batch, layout: 'NHWC', ...result });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
