/** `convkit eval`: accuracy, per-class accuracy and the confusion matrix of a checkpoint on its test set. */
import { defineCommand } from '../command.js';
import { intOption, stringOption } from '../options.js';
import { DataLoader } from '../../data/loader.js';
import { normalize } from '../../data/transforms.js';
import { evaluate, evaluateWith, formatConfusionMatrix, formatPerClassTable } from '../../train/metrics.js';
import { openRuntime, runtimeOption } from '../inferenceRuntime.js';
import { jsonLine } from '../../node/progress.js';
import { UsageError } from '../errors.js';
import { BACKEND_OPTIONS, backendOption, threadsOption, loadModelCheckpoint, loadTrainTest, percent, selectBackend } from '../runtime.js';

export default defineCommand({
  name: 'eval',
  order: 30,
  summary: 'evaluate a checkpoint on its test set (accuracy, per-class accuracy, confusion matrix)',
  usage: 'convkit eval --checkpoint DIR [--dataset NAME|DIR] [--data DIR] [--runtime convkit|onnxruntime] [--json]',
  options: {
    checkpoint: { type: 'string', valueName: 'DIR', description: 'checkpoint folder (or a run folder: its best/ is used), or a .tar of one (the explorer downloads that)' },
    dataset: { type: 'string', valueName: 'NAME|DIR', description: 'evaluate on another dataset with the same classes', defaultText: 'the one it was trained on' },
    data: { type: 'string', valueName: 'DIR', description: 'folder with the IDX files of fashion-mnist/mnist' },
    batch: { type: 'string', valueName: 'N', description: 'batch size', defaultText: '256' },
    'test-limit': { type: 'string', valueName: 'N', description: 'use only the first N test images' },
    ...BACKEND_OPTIONS,
    json: { type: 'boolean', description: 'print the result as one JSON line' },
    runtime: { type: 'string', valueName: 'NAME', description: 'convkit (its own kernels) or onnxruntime (the model exported to ONNX in memory; needs the optional onnxruntime-node)', defaultText: 'convkit' },
  },
  examples: ['convkit eval --checkpoint convkit-demo/best', 'convkit eval --checkpoint convkit-demo/best --runtime onnxruntime'],
  async run({ args, out, err, env, cwd }) {
    const v = args.values;
    const note = (m: string): void => { err.write(m + '\n'); };
    const batch = intOption(v, 'batch', 256, { min: 1 });
    const testLimit = v['test-limit'] === undefined ? undefined : intOption(v, 'test-limit', 0, { min: 1 });
    const runtime = runtimeOption(v);
    const backendChoice = backendOption(v, env);
    const threads = threadsOption(v);
    const { ck, net, dir } = await loadModelCheckpoint(stringOption(v, 'checkpoint'), cwd);
    const meta = ck.meta;
    if (!meta.dataset) throw new UsageError(`checkpoint ${dir} does not say which dataset it was trained on; pass --dataset`);
    await selectBackend(backendChoice, threads, note);
    const [channels, height] = meta.dataset.inputShape;
    const settings = meta.training['settings'] as { dataDir?: string; seed?: number } | undefined;
    const data = await loadTrainTest({
      dataset: stringOption(v, 'dataset') ?? meta.dataset.name,
      dataDir: stringOption(v, 'data') ?? settings?.dataDir,
      env, cwd, imageSize: height, channels: channels === 3 ? 3 : 1, seed: settings?.seed ?? 0, note,
    });
    let test = data.test;
    if (test.classNames.length !== meta.dataset.classNames.length) {
      throw new UsageError(`the test set has ${test.classNames.length} classes but checkpoint ${dir} was trained on ${meta.dataset.classNames.length}`);
    }
    if (testLimit !== undefined && testLimit < test.length) test = test.take(testLimit);
    const norm = meta.dataset.normalization;
    const loader = new DataLoader(test, { batchSize: batch, transform: norm ? normalize(norm.mean, norm.std) : undefined, reuseBuffer: true });
    const engine = await openRuntime(runtime, net, meta.dataset.inputShape, threads);
    const t0 = performance.now();
    const result = engine
      ? await evaluateWith((x) => engine.logits(x), loader, meta.dataset.classNames.length)
      : evaluate(net, loader, meta.dataset.classNames.length);
    const seconds = (performance.now() - t0) / 1000;
    const classNames = meta.dataset.classNames;
    if (v['json']) {
      out.write(jsonLine({
        type: 'eval', checkpoint: dir, model: meta.model.name, runtime: engine ? engine.description : 'convkit', dataset: data.name, source: data.source, count: result.count,
        accuracy: result.accuracy, loss: result.loss,
        perClassAccuracy: Object.fromEntries(classNames.map((c, i) => [c, result.perClassAccuracy[i]])), confusion: result.confusion, seconds,
      }) + '\n');
      return 0;
    }
    out.write(`${meta.model.name} from ${dir}\n${data.name} test set (${data.source}): ${result.count} images\n\n`);
    out.write(`accuracy ${percent(result.accuracy)}  loss ${result.loss.toFixed(4)}  (${seconds.toFixed(1)}s${engine ? `, ${engine.description}` : ''})\n\n`);
    out.write(formatPerClassTable(result, classNames) + '\n\n');
    out.write(formatConfusionMatrix(result.confusion, classNames) + '\n');
    return 0;
  },
});
