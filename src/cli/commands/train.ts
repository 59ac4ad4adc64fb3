/** `convkit train`: train a registered model on a dataset, with checkpoints, progress and exact --resume. */
import { defineCommand } from '../command.js';
import { choiceOption, floatOption, intOption, stringOption, type OptionSpecs } from '../options.js';
import { formatPerClassTable } from '../../train/metrics.js';
import { BACKEND_OPTIONS, backendOption, threadsOption, OPTIMIZERS, SCHEDULES, percent } from '../runtime.js';
import { AUGMENTATIONS, describeSplit, runTraining, summaryJson, type TrainSettings } from '../training.js';
import { UsageError } from '../errors.js';
import type { ParsedArgs } from '../options.js';
import { formatDuration } from '../../node/progress.js';

export const TRAIN_DEFAULTS = {
  model: 'lenet5', dataset: 'fashion-mnist', epochs: 5, batch: 64, opt: 'adam', schedule: 'onecycle', augment: 'none', seed: 0,
  imageSize: 28, channels: 1,
} as const;

/** Default learning rate per optimizer (SGD needs a larger one). */
export const DEFAULT_LR = { sgd: 0.05, adam: 2e-3, adamw: 2e-3 } as const;

const options: OptionSpecs = {
  model: { type: 'string', valueName: 'NAME', description: 'model from the registry: mlp, lenet5, vggsmall, ...', defaultText: TRAIN_DEFAULTS.model },
  dataset: { type: 'string', valueName: 'NAME|DIR', description: 'fashion-mnist, mnist, fashion-mnist-subset (the 2,000/1,000 images shipped in the package), or a folder with one subfolder of images per class (with train/ and test/ inside, or 20% held out)', defaultText: TRAIN_DEFAULTS.dataset },
  data: { type: 'string', valueName: 'DIR', description: 'folder with the IDX files of fashion-mnist/mnist (see convkit datasets)' },
  epochs: { type: 'string', valueName: 'N', description: 'number of epochs', defaultText: String(TRAIN_DEFAULTS.epochs) },
  batch: { type: 'string', valueName: 'N', description: 'batch size', defaultText: String(TRAIN_DEFAULTS.batch) },
  opt: { type: 'string', valueName: 'NAME', description: 'optimizer: sgd, adam or adamw', defaultText: TRAIN_DEFAULTS.opt },
  lr: { type: 'string', valueName: 'X', description: 'learning rate (peak lr for onecycle)', defaultText: 'sgd 0.05, adam/adamw 0.002' },
  momentum: { type: 'string', valueName: 'X', description: 'SGD momentum', defaultText: '0.9' },
  'weight-decay': { type: 'string', valueName: 'X', description: 'weight decay', defaultText: 'adamw 0.01, else 0' },
  schedule: { type: 'string', valueName: 'NAME', description: 'lr schedule: none, step (/10 at 1/2 and 3/4), cosine, onecycle', defaultText: TRAIN_DEFAULTS.schedule },
  augment: { type: 'string', valueName: 'NAME', description: 'training augmentation: none, crop (pad 2 + random crop), crop-flip', defaultText: TRAIN_DEFAULTS.augment },
  seed: { type: 'string', valueName: 'N', description: 'seed of weights, shuffling and augmentation', defaultText: String(TRAIN_DEFAULTS.seed) },
  ...BACKEND_OPTIONS,
  out: { type: 'string', valueName: 'DIR', description: 'run folder: checkpoints go to DIR/last and DIR/best', defaultText: 'runs/MODEL' },
  resume: { type: 'boolean', description: 'continue the run saved in --out DIR/last exactly where it stopped' },
  force: { type: 'boolean', description: 'overwrite the checkpoints of an earlier run in --out DIR' },
  json: { type: 'boolean', description: 'print one JSON line per epoch and a final summary on stdout' },
  'train-limit': { type: 'string', valueName: 'N', description: 'use only the first N training images' },
  'skip-bad': { type: 'boolean', description: 'image folders: skip images that cannot be read (with a note) instead of stopping' },
  init: { type: 'string', valueName: 'DIR', description: 'fine-tune: start from this checkpoint\'s model and weights (a zoo model, or one written by convkit import) instead of --model' },
  'test-limit': { type: 'string', valueName: 'N', description: 'use only the first N test images' },
  'val-split': { type: 'string', valueName: 'F', description: 'hold out this fraction of the training set (e.g. 0.1; stratified, seeded by --seed) and pick the best checkpoint on its accuracy instead of the test set\'s', defaultText: 'none: best is picked on test accuracy' },
  'early-stop': { type: 'string', valueName: 'PATIENCE', description: 'stop after PATIENCE epochs without a validation accuracy improvement (needs --val-split; the test set is never read for it)' },
  'image-size': { type: 'string', valueName: 'N', description: 'image folders: resize to NxN', defaultText: String(TRAIN_DEFAULTS.imageSize) },
  channels: { type: 'string', valueName: '1|3', description: 'image folders: 1 = grayscale, 3 = RGB', defaultText: String(TRAIN_DEFAULTS.channels) },
};

/** --val-split and --early-stop (which needs a validation split: it never reads the test set). */
function validationSettings(v: ParsedArgs['values']): Pick<TrainSettings, 'valSplit' | 'earlyStop'> {
  const valSplit = v['val-split'] === undefined ? undefined : floatOption(v, 'val-split', 0, { positive: true });
  if (valSplit !== undefined && valSplit >= 1) throw new UsageError(`option --val-split is the fraction of the training set to hold out, between 0 and 1 (e.g. 0.1), got ${valSplit}`);
  const earlyStop = v['early-stop'] === undefined ? undefined : intOption(v, 'early-stop', 0, { min: 1, max: 100_000 });
  if (earlyStop !== undefined && valSplit === undefined) {
    throw new UsageError(`--early-stop ${earlyStop} needs a validation split to watch: add --val-split F (e.g. --val-split 0.1); early stopping never reads the test set`);
  }
  return { ...(valSplit !== undefined ? { valSplit } : {}), ...(earlyStop !== undefined ? { earlyStop } : {}) };
}

export default defineCommand({
  name: 'train',
  order: 20,
  summary: 'train a model on Fashion-MNIST, MNIST or an image folder',
  usage: 'convkit train [--model NAME] [--dataset NAME|DIR] [--epochs N] [--opt sgd|adam|adamw] [--lr X] [options]',
  options,
  examples: [
    'convkit train --model lenet5 --epochs 5',
    'convkit train --model vggsmall --opt sgd --lr 0.05 --schedule cosine --augment crop --out runs/vgg',
    'convkit train --out runs/vgg --resume',
    'convkit train --model vggsmall_bn --epochs 30 --val-split 0.1 --early-stop 5 --out runs/vgg-val',
    'convkit train --init imported/ --dataset fashion-mnist --epochs 2 --lr 1e-4 --out runs/finetune',
    'convkit train --dataset ./photos --image-size 32 --channels 3 --json',
  ],
  async run(ctx) {
    const v = ctx.args.values;
    const opt = choiceOption(v, 'opt', OPTIMIZERS, TRAIN_DEFAULTS.opt);
    const settings: TrainSettings = {
      model: stringOption(v, 'model') ?? TRAIN_DEFAULTS.model,
      dataset: stringOption(v, 'dataset') ?? TRAIN_DEFAULTS.dataset,
      dataDir: stringOption(v, 'data'),
      epochs: intOption(v, 'epochs', TRAIN_DEFAULTS.epochs, { min: 1, max: 100_000 }),
      batch: intOption(v, 'batch', TRAIN_DEFAULTS.batch, { min: 1, max: 65_536 }),
      opt,
      lr: floatOption(v, 'lr', DEFAULT_LR[opt], { positive: true }),
      momentum: floatOption(v, 'momentum', 0.9, { min: 0, max: 1 }),
      weightDecay: floatOption(v, 'weight-decay', opt === 'adamw' ? 0.01 : 0, { min: 0 }),
      schedule: choiceOption(v, 'schedule', SCHEDULES, TRAIN_DEFAULTS.schedule),
      augment: choiceOption(v, 'augment', AUGMENTATIONS, TRAIN_DEFAULTS.augment),
      seed: intOption(v, 'seed', TRAIN_DEFAULTS.seed, { min: 0, max: 2 ** 32 - 1 }),
      backend: backendOption(v, ctx.env),
      threads: threadsOption(v),
      out: stringOption(v, 'out') ?? `runs/${stringOption(v, 'model') ?? TRAIN_DEFAULTS.model}`,
      resume: v['resume'] === true,
      force: v['force'] === true,
      json: v['json'] === true,
      skipBad: v['skip-bad'] === true,
      init: stringOption(v, 'init'),
      trainLimit: v['train-limit'] === undefined ? undefined : intOption(v, 'train-limit', 0, { min: 1 }),
      testLimit: v['test-limit'] === undefined ? undefined : intOption(v, 'test-limit', 0, { min: 1 }),
      ...validationSettings(v),
      imageSize: intOption(v, 'image-size', TRAIN_DEFAULTS.imageSize, { min: 4, max: 1024 }),
      channels: choiceOption(v, 'channels', ['1', '3'] as const, '1') === '3' ? 3 : 1,
    };
    const explicit = new Set(Object.keys(v).filter((k) => v[k] !== undefined));
    const run = await runTraining(settings, ctx, explicit);
    if (settings.json) {
      ctx.out.write(summaryJson(run) + '\n');
      return 0;
    }
    const r = run.result;
    const pickedOn = r.best?.metric === 'validationAccuracy' ? 'validation accuracy' : 'test accuracy';
    if (r.earlyStop) {
      ctx.out.write(`\nstopped early after epoch ${r.earlyStop.epoch} of ${settings.epochs}: validation accuracy last improved at epoch ${r.earlyStop.bestEpoch} (patience ${r.earlyStop.patience})\n`);
    }
    if (r.finalValidation) ctx.out.write(`\nvalidation accuracy ${percent(r.finalValidation.accuracy)} (loss ${r.finalValidation.loss.toFixed(4)}) on ${r.finalValidation.count} held-out training images (${describeSplit(run.settings)})`);
    ctx.out.write(`\ntest accuracy ${percent(r.final.accuracy)} (loss ${r.final.loss.toFixed(4)}) after ${r.epochsCompleted} epochs in ${formatDuration(run.seconds)}` +
      (r.best ? `; best ${pickedOn} ${percent(r.best.value)} at epoch ${r.best.epoch}` : '') + '\n\n');
    ctx.out.write(formatPerClassTable(r.final, run.data.train.classNames) + '\n\n');
    ctx.out.write(`checkpoints: ${run.outDir}/last (final), ${run.outDir}/best (best ${pickedOn})\n`);
    ctx.out.write(`next: convkit eval --checkpoint ${run.outDir}/best   or   convkit predict --checkpoint ${run.outDir}/best IMAGE...\n`);
    return 0;
  },
});
