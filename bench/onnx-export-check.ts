/**
 * One-off check of the ONNX export on the big ImageNet zoo models at 224 px (too heavy for `npm test`: the VGGs'
 * files are 0.5 GB): export, run one image through onnxruntime-node and through convkit, print the largest
 * difference relative to max(1, |logit|), the file size and the time, with the CPU model.
 *   node --import tsx bench/onnx-export-check.ts vgg11 vgg16 resnet50 densenet121 ...
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { manualSeed, models, noGrad, Tensor } from '../src/index.js';
import { exportOnnx } from '../src/io/onnx/export.js';

const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? '?';
console.log(`onnx-export-check: ${cpu}`);
for (const name of process.argv.slice(2)) {
  manualSeed(0);
  const net = models.create(name, { numClasses: 1000, inChannels: 3, inputSize: [224, 224] });
  const t0 = Date.now();
  const bytes = exportOnnx(net, { inputShape: [3, 224, 224] });
  const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001));
  net.eval();
  const ours = noGrad(() => (net as unknown as { forward(t: Tensor): Tensor }).forward(new Tensor(x, [1, 3, 224, 224]))).data;
  const session = await ort.InferenceSession.create(bytes);
  const theirs = (await session.run({ input: new ort.Tensor('float32', x, [1, 3, 224, 224]) }))['output']!.data as Float32Array;
  let worst = 0;
  const scale = Math.max(1, ...Array.from(ours, Math.abs));
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!) / scale);
  console.log(`${name}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB, max relative difference ${worst.toExponential(2)}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
