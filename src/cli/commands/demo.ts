/**
 * `convkit demo`: zero flags. Trains LeNet-5 on Fashion-MNIST (the full 60k/10k where available, else the real
 * 2,000/1,000-image subset shipped in the package), shows progress, prints the test accuracy and a per-class
 * table, saves the checkpoint and writes a Markdown report with pictures into ./convkit-demo/.
 */
import { join, relative, resolve } from 'node:path';
import { defineCommand } from '../command.js';
import { intOption, stringOption } from '../options.js';
import { formatPerClassTable } from '../../train/metrics.js';
import { formatDuration } from '../../node/progress.js';
import { BACKEND_OPTIONS, backendOption, threadsOption, EMBEDDED_DATASET, percent } from '../runtime.js';
import { runTraining, summaryJson, type TrainSettings } from '../training.js';
import { writeTrainingReport } from '../report.js';

/** The demo's settings: measured to reach >= 89% test accuracy on the full Fashion-MNIST (see README). */
export const DEMO_SETTINGS = {
  model: 'lenet5', epochs: 6, batch: 64, opt: 'adam', lr: 2e-3, schedule: 'onecycle', augment: 'none', seed: 0,
} as const;

export default defineCommand({
  name: 'demo',
  order: 10,
  summary: 'train a CNN on Fashion-MNIST and write a report (no flags needed)',
  usage: 'convkit demo [--out DIR] [--epochs N] [--subset]',
  description:
    `Trains ${DEMO_SETTINGS.model} for ${DEMO_SETTINGS.epochs} epochs (${DEMO_SETTINGS.opt}, one-cycle schedule) on Fashion-MNIST: the full ` +
    'dataset when it is found or can be downloaded (see `convkit datasets`), else the real 2,000/1,000-image subset ' +
    'shipped in the package. Prints the test accuracy and a per-class table, saves the checkpoint to DIR/best and ' +
    'DIR/last, and writes DIR/report.md with pictures of predictions and the confusion matrix.',
  options: {
    out: { type: 'string', valueName: 'DIR', description: 'output folder', defaultText: 'convkit-demo' },
    epochs: { type: 'string', valueName: 'N', description: 'number of epochs', defaultText: String(DEMO_SETTINGS.epochs) },
    subset: { type: 'boolean', description: 'use the embedded 2,000/1,000-image subset (fast, lower accuracy)' },
    data: { type: 'string', valueName: 'DIR', description: 'folder with the Fashion-MNIST IDX files' },
    seed: { type: 'string', valueName: 'N', description: 'seed', defaultText: String(DEMO_SETTINGS.seed) },
    ...BACKEND_OPTIONS,
    json: { type: 'boolean', description: 'print one JSON line per epoch and a final summary on stdout' },
  },
  examples: ['convkit demo', 'convkit demo --subset --epochs 3'],
  async run(ctx) {
    const v = ctx.args.values;
    const subset = v['subset'] === true;
    const out = stringOption(v, 'out') ?? 'convkit-demo';
    const settings: TrainSettings = {
      ...DEMO_SETTINGS,
      dataset: subset ? EMBEDDED_DATASET : 'fashion-mnist',
      dataDir: stringOption(v, 'data'),
      epochs: intOption(v, 'epochs', subset ? 15 : DEMO_SETTINGS.epochs, { min: 1, max: 1000 }),
      seed: intOption(v, 'seed', DEMO_SETTINGS.seed, { min: 0, max: 2 ** 32 - 1 }),
      momentum: 0.9,
      weightDecay: 0,
      backend: backendOption(v, ctx.env),
      threads: threadsOption(v),
      out,
      resume: false,
      force: true,
      json: v['json'] === true,
      imageSize: 28,
      channels: 1,
    };
    const run = await runTraining(settings, ctx);
    const dir = resolve(ctx.cwd, out);
    const command = ['convkit demo', ...process.argv.slice(3)].join(' ');
    const files = await writeTrainingReport(dir, run, command, ctx.cwd);
    if (settings.json) {
      ctx.out.write(summaryJson(run) + '\n');
      return 0;
    }
    const r = run.result;
    const rel = (p: string): string => relative(ctx.cwd, p) || '.';
    const isSubset = run.data.train.length < 60000;
    ctx.out.write(`\nTest accuracy: ${percent(r.final.accuracy)} on ${r.final.count} Fashion-MNIST test images ` +
      `(${r.epochsCompleted} epochs, ${formatDuration(run.seconds)}, ${run.backend})\n`);
    if (isSubset) ctx.out.write(`(trained on the ${run.data.train.length}-image subset; the full dataset reaches about 90%: see \`convkit datasets\`)\n`);
    ctx.out.write('\n' + formatPerClassTable(r.final, run.data.train.classNames) + '\n\n');
    ctx.out.write(`report:     ${rel(files.report)} (pictures: ${rel(files.predictions)}, ${rel(files.confusion)})\n`);
    ctx.out.write(`checkpoint: ${rel(join(run.outDir, 'best'))}\n\n`);
    ctx.out.write(`try:  convkit eval --checkpoint ${rel(join(run.outDir, 'best'))}\n`);
    ctx.out.write(`      convkit predict --checkpoint ${rel(join(run.outDir, 'best'))} IMAGE.png\n`);
    return 0;
  },
});
