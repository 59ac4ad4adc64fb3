/** `convkit predict`: the top-k classes of a checkpoint's model for image files, with probabilities. */
import { defineCommand } from '../command.js';
import { intOption, stringOption } from '../options.js';
import { UsageError } from '../errors.js';
import { noGrad } from '../../autograd/tape.js';
import { softmax } from '../../ops/index.js';
import { ImageFileError, loadImageFile } from '../../node/dataImages.js';
import { jsonLine } from '../../node/progress.js';
import { loadModelCheckpoint, percent } from '../runtime.js';
import type { Tensor } from '../../tensor/tensor.js';
import { runtimeOption, openRuntime } from '../inferenceRuntime.js';

export default defineCommand({
  name: 'predict',
  order: 40,
  summary: 'classify image files (PNG/JPEG) with a trained checkpoint',
  usage: 'convkit predict --checkpoint DIR IMAGE... [--topk 3] [--invert] [--skip-bad] [--runtime convkit|onnxruntime] [--json]',
  description:
    'Each image is resized to the model\'s input size (antialiased bilinear, stretched to fit) and converted to its ' +
    'channel count (gray = 0.299 R + 0.587 G + 0.114 B; transparency over black). Fashion-MNIST and MNIST ' +
    'show light objects on a dark background: use --invert for photos of dark objects on a light background.',
  options: {
    checkpoint: { type: 'string', valueName: 'DIR', description: 'checkpoint folder (or a run folder: its best/ is used), or a .tar of one (the explorer downloads that)' },
    topk: { type: 'string', valueName: 'K', description: 'how many classes to show per image', defaultText: '3' },
    invert: { type: 'boolean', description: 'invert gray levels before classifying' },
    json: { type: 'boolean', description: 'print one JSON line per image' },
    'skip-bad': { type: 'boolean', description: 'report an unreadable image (stderr, or a JSON line with its error) and classify the others, instead of stopping' },
    runtime: { type: 'string', valueName: 'NAME', description: 'convkit (its own kernels) or onnxruntime (the model exported to ONNX in memory; needs the optional onnxruntime-node)', defaultText: 'convkit' },
  },
  positionals: true,
  examples: ['convkit predict --checkpoint convkit-demo/best shirt.png boot.jpg --topk 3'],
  async run({ args, out, err, cwd }) {
    const v = args.values;
    const images = args.positionals;
    const runtime = runtimeOption(v);
    const { ck, net } = await loadModelCheckpoint(stringOption(v, 'checkpoint'), cwd);
    const meta = ck.meta;
    if (!meta.dataset) throw new UsageError('the checkpoint does not record its input shape and class names; it cannot classify images');
    const classNames = meta.dataset.classNames;
    const topk = intOption(v, 'topk', 3, { min: 1 });
    if (images.length === 0) throw new UsageError('predict: give at least one IMAGE file (PNG or JPEG)');
    const [channels, height, width] = meta.dataset.inputShape;
    if (channels !== 1 && channels !== 3) throw new UsageError(`the checkpoint's model takes ${channels}-channel images; predict supports 1 or 3`);
    const { resolve } = await import('node:path');
    // Decode every image first, so a bad file stops the command before any output (or, with --skip-bad, is
    // reported on its own and the others are classified).
    const inputs: (Tensor | ImageFileError)[] = [];
    const skipBad = v['skip-bad'] === true;
    // The same preprocessing as the explorer page (src/data/preprocess.ts), inversion included.
    const invert = v['invert'] === true;
    for (const path of images) {
      try {
        inputs.push(await loadImageFile(resolve(cwd, path), { size: [height, width], channels, invert }));
      } catch (e) {
        if (!skipBad || !(e instanceof ImageFileError)) throw e;
        inputs.push(e);
      }
    }
    const norm = meta.dataset.normalization;
    const k = Math.min(topk, classNames.length);
    net.eval();
    const engine = await openRuntime(runtime, net, meta.dataset.inputShape);
    for (let i = 0; i < images.length; i++) {
      const x = inputs[i]!;
      if (x instanceof ImageFileError) {
        // Reported in argument order, where its prediction would have been.
        if (v['json']) out.write(jsonLine({ image: images[i], error: x.problem }) + '\n');
        else err.write(`convkit: skipping ${x.message}\n`);
        continue;
      }
      if (norm) {
        const plane = height * width;
        for (let c = 0; c < channels; c++) {
          const m = norm.mean[c] ?? norm.mean[0]!;
          const s = norm.std[c] ?? norm.std[0]!;
          for (let j = c * plane; j < (c + 1) * plane; j++) x.data[j] = (x.data[j]! - m) / s;
        }
      }
      const logits = engine ? await engine.logits(x) : noGrad(() => net.forward(x));
      const probs = noGrad(() => softmax(logits, -1)).data;
      const ranked = Array.from(probs, (p, c) => ({ index: c, className: classNames[c] ?? String(c), probability: p }))
        .sort((a, b) => b.probability - a.probability || a.index - b.index)
        .slice(0, k);
      if (v['json']) {
        out.write(jsonLine({ image: images[i], predictions: ranked }) + '\n');
      } else {
        out.write(`${images[i]}\n`);
        for (const r of ranked) out.write(`  ${percent(r.probability).padStart(6)}  ${r.className}\n`);
      }
    }
    return 0;
  },
});
