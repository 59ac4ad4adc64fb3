/**
 * `convkit speedrun`: wall time to a target TEST accuracy on Fashion-MNIST for a named recipe (issue 19), the
 * time-to-accuracy record that tools/torch_speedrun.py measures for PyTorch with the same recipe
 * (`--print-recipe` hands it the recipe and the model's PyTorch source) and bench/speedrun.mjs runs side by side.
 *
 * Protocol. Each recipe's hyperparameters were chosen beforehand on a validation split of the training set
 * (`convkit train --val-split 0.1`; the figures are in the recipe's comment). A speedrun then trains on the whole
 * training set and evaluates the test set after every epoch only to READ the time at which the target was first
 * reached; it stops there. The time counts training only: data loading, model creation and the test evaluations
 * are excluded (the wall time including the evaluations is reported beside it).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { defineCommand } from '../command.js';
import { choiceOption, floatOption, intOption, stringOption } from '../options.js';
import { UsageError } from '../errors.js';
import { BACKEND_OPTIONS, backendOption, loadTrainTest, percent, selectBackend, threadsOption } from '../runtime.js';
import * as models from '../../models/index.js';
import { DataLoader } from '../../data/loader.js';
import { normalize } from '../../data/transforms.js';
import { Generator, manualSeed } from '../../tensor/random.js';
import { fit, TrainingAbortedError } from '../../train/trainer.js';
import { makeOptimizer, makeScheduler, modelConfigFor, trainTransform, type Augmentation, type OptimizerName, type ScheduleName } from '../../train/setup.js';
import { pytorchModelSource } from '../../node/pytorchInterop.js';
import type { ImageDataset } from '../../data/dataset.js';

/** A named way to reach a test accuracy: everything the PyTorch side needs to run the same training. */
export interface SpeedrunRecipe {
  name: string;
  /** Test accuracy to reach, a fraction. */
  target: number;
  /** The issue's goal for this target on 2 cores, in seconds. */
  goalSeconds: number;
  model: string;
  /** Length of the schedule; the run stops earlier when the target is reached. */
  epochs: number;
  batch: number;
  optimizer: { name: OptimizerName; lr: number; momentum: number; weightDecay: number };
  schedule: ScheduleName;
  augment: Augmentation;
  /** How the hyperparameters were chosen, with the validation figures measured. */
  chosenOn: string;
}

// Recipes. Hyperparameters are chosen on `convkit train --val-split 0.1` (54,000 / 6,000, seed 0), never on test.
const RECIPES: readonly SpeedrunRecipe[] = [
  {
    // 91: cnn2_bn (conv3x3 16, BN, pool, conv3x3 32, BN, pool, fc 128; about 10-12 s per epoch native on an idle
    // 2-core machine). The first recipe, LeNet-5 for 12 epochs with Adam 0.003 one-cycle, reached 91 % on only 1 of
    // 3 timed seeds: LeNet-5 sits at its ceiling (16-epoch validation runs on 3 seeds peak at 91.6, 91.5, 90.8 %,
    // with crop augmentation 91.5, 91.1, 90.8 %). Validation runs for cnn2_bn (2026-12-07, AMD EPYC 2 cores, native
    // 2 threads, the lab running at nice 19 beside it): `convkit train --model cnn2_bn --epochs E --batch 128 --opt
    // adam --lr LR --schedule onecycle --val-split 0.1 --seed S` gave validation accuracy after each epoch
    //   E 3, LR 0.003, seed 0: 85.83, 90.37, 91.63 %;
    //   E 4, LR 0.003, seed 0: 85.02, 89.30, 91.25, 92.17 %;
    //   E 4, LR 0.005, seed 0: 84.15, 88.72, 91.60, 92.37 % (chosen);
    //   E 4, LR 0.005, seed 1: 86.53, 90.13, 91.52, 92.03 %.
    // Four epochs (about 45 s) is what the 60-second goal allows with a margin; the validation split reads 0.5-0.9
    // points above the test set, so 92.0-92.4 % on validation leaves a small margin over 91 % on test.
    name: '91', target: 0.91, goalSeconds: 60, model: 'cnn2_bn', epochs: 4, batch: 128,
    optimizer: { name: 'adam', lr: 0.005, momentum: 0.9, weightDecay: 0 }, schedule: 'onecycle', augment: 'none',
    chosenOn: 'validation split (10 % of the training set): 92.37 % (seed 0) and 92.03 % (seed 1) at epoch 4 of this schedule (Adam 0.003: 92.17 %)',
  },
  {
    // 93: a small VGG with batch norm (the issue's suggested start). Validation runs (2026-12-07, AMD EPYC 2 cores,
    // native, 1 thread each, the machine shared with the lab): `convkit train --model vggsmall_bn --epochs 6 --batch
    // 128 --opt adam --lr 0.003 --schedule onecycle --augment A --val-split 0.1 --seed 0` gave validation accuracy
    //   augment none: 89.35, 91.48, 92.02, 93.40, 94.00, 94.43 % after epochs 1-6;
    //   augment crop: 84.95, 90.35, 90.80, 92.83, 93.90, 94.20 %.
    // No augmentation wins on validation at this short schedule. Six epochs (about 4-5 min on an idle 2-core
    // machine) is what the 5-minute goal allows; the validation split reads about 0.8 points above the test set
    // in these runs, so 94.4 % on validation leaves a small margin over 93 % on test.
    name: '93', target: 0.93, goalSeconds: 300, model: 'vggsmall_bn', epochs: 6, batch: 128,
    optimizer: { name: 'adam', lr: 0.003, momentum: 0.9, weightDecay: 0 }, schedule: 'onecycle', augment: 'none',
    chosenOn: 'validation split (10 % of the training set, seed 0): 94.43 % at epoch 6 of this schedule (crop augmentation: 94.20 %)',
  },
  {
    // 94: CIFAR ResNet-20 with SGD and a one-cycle schedule, as on CIFAR-10. 14 epochs is about what fits the
    // 30-minute goal at resnet20's training speed here (551 images/s native, 2 threads, idle AMD EPYC). Validation
    // runs (2026-12-07, AMD EPYC 2 cores, native, 1 thread each, the machine shared): `convkit train --model resnet20
    // --epochs 14 --batch 128 --opt sgd --lr 0.2 --momentum 0.9 --weight-decay 5e-4 --schedule onecycle --augment A
    // --val-split 0.1 --seed 0` gave validation accuracy (epochs 10-14)
    //   augment crop: 91.78, 91.28, 93.70, 94.22, 94.50 % (best 94.50 % at epoch 14);
    //   augment none: 93.02 at epoch 12, 93.93, 94.22 at 13, 93.98 % at 14 (train accuracy 98.7 %: overfitting).
    // Crop wins. The validation split has read 0.8-0.9 points above the test set in every run so far, so this
    // recipe is expected to miss 94 % on test by a little (its timed runs are still to be made): reaching 94 % in
    // 30 minutes on 2 cores needs a faster or better net than resnet20 at this budget.
    name: '94', target: 0.94, goalSeconds: 1800, model: 'resnet20', epochs: 14, batch: 128,
    optimizer: { name: 'sgd', lr: 0.2, momentum: 0.9, weightDecay: 5e-4 }, schedule: 'onecycle', augment: 'crop',
    chosenOn: 'validation split (10 % of the training set, seed 0): 94.50 % at epoch 14 of this schedule (no augmentation: 94.22 % at best)',
  },
];

/** One seed's run. */
export interface SpeedrunSeedResult {
  seed: number;
  reached: boolean;
  /** The epoch whose end first met the target (null if none did). */
  epoch: number | null;
  /** Training seconds until then (test evaluations, data loading and model creation excluded). */
  secondsToTarget: number | null;
  /** Wall seconds from the first step until then, test evaluations included. */
  wallSecondsToTarget: number | null;
  epochs: { epoch: number; testAccuracy: number; trainSeconds: number }[];
}

/** Mean, sample standard deviation, min and max of the times of the seeds that reached the target. */
export function summarizeTimes(runs: readonly SpeedrunSeedResult[]): { reached: number; of: number; meanSeconds: number | null; sdSeconds: number | null; minSeconds: number | null; maxSeconds: number | null } {
  const times = runs.filter((r) => r.reached).map((r) => r.secondsToTarget!);
  const n = times.length;
  if (n === 0) return { reached: 0, of: runs.length, meanSeconds: null, sdSeconds: null, minSeconds: null, maxSeconds: null };
  const mean = times.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(times.reduce((a, t) => a + (t - mean) ** 2, 0) / (n - 1)) : 0;
  return { reached: n, of: runs.length, meanSeconds: mean, sdSeconds: sd, minSeconds: Math.min(...times), maxSeconds: Math.max(...times) };
}

/** lscpu's model name (else /proc/cpuinfo's), the logical CPUs and the 1/5/15-minute load averages. */
export function machineNow(): { cpu: string; cpus: number; loadAverage: number[] } {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' });
  const fromLscpu = lscpu.status === 0 ? /^Model name:\s*(.*)$/m.exec(lscpu.stdout)?.[1]?.trim() : undefined;
  const fromCpuinfo = spawnSync('grep', ['-m1', 'model name', '/proc/cpuinfo'], { encoding: 'utf8' }).stdout?.split(':')[1]?.trim();
  return { cpu: fromLscpu ?? fromCpuinfo ?? 'unknown CPU', cpus: availableParallelism(), loadAverage: loadavg().map((l) => Math.round(l * 100) / 100) };
}

function recipeNamed(name: string): SpeedrunRecipe {
  const recipe = RECIPES.find((r) => r.name === name);
  if (!recipe) throw new UsageError(`--recipe ${name}: no such recipe (recipes: ${RECIPES.map((r) => r.name).join(', ')})`);
  return recipe;
}

const seconds = (s: number | null): string => (s === null ? '-' : `${s.toFixed(1)} s`);
/** Two decimals, so 90.96 % is not shown as a 91.0 % that missed 91 %. */
const accuracyText = (a: number): string => `${(a * 100).toFixed(2)} %`;

/** Train one seed until the test accuracy first reaches the target (or the schedule ends). */
async function runSeed(recipe: SpeedrunRecipe, target: number, seed: number, train: ImageDataset, test: ImageDataset, note: (m: string) => void): Promise<SpeedrunSeedResult> {
  const stats = train.channelStats();
  const norm = normalize(stats.mean, stats.std);
  manualSeed(seed);
  const net = models.create(recipe.model, modelConfigFor(train));
  const { optimizer } = makeOptimizer(net, recipe.optimizer);
  const trainLoader = new DataLoader(train, {
    batchSize: recipe.batch, shuffle: true, generator: new Generator(seed + 1), transform: trainTransform(recipe.augment, train.height, norm), reuseBuffer: true,
  });
  const testLoader = new DataLoader(test, { batchSize: Math.max(recipe.batch, 256), transform: norm, reuseBuffer: true });
  const scheduler = makeScheduler(recipe.schedule, optimizer, recipe.optimizer.lr, recipe.epochs, trainLoader.length);
  const result: SpeedrunSeedResult = { seed, reached: false, epoch: null, secondsToTarget: null, wallSecondsToTarget: null, epochs: [] };
  let trainSeconds = 0;
  let epochStart = 0;
  let firstStep = 0;
  try {
    await fit({
      model: net, optimizer, train: trainLoader, test: testLoader, epochs: recipe.epochs, scheduler,
      info: { model: { name: recipe.model, config: {} } },
      // Stop at the first step after the target was read.
      interrupted: () => result.reached,
      onEvent: (e) => {
        if (e.type === 'epochStart') {
          epochStart = performance.now();
          if (e.epoch === 1) firstStep = epochStart;
        } else if (e.type === 'evaluating') {
          trainSeconds += (performance.now() - epochStart) / 1000;
        } else if (e.type === 'epochEnd') {
          const accuracy = e.metrics.testAccuracy;
          result.epochs.push({ epoch: e.epoch, testAccuracy: accuracy, trainSeconds });
          note(`  seed ${seed} epoch ${e.epoch}: test ${accuracyText(accuracy)} after ${trainSeconds.toFixed(1)} s of training`);
          if (accuracy >= target) {
            Object.assign(result, { reached: true, epoch: e.epoch, secondsToTarget: trainSeconds, wallSecondsToTarget: (performance.now() - firstStep) / 1000 });
          }
        }
      },
    });
  } catch (e) {
    if (!(e instanceof TrainingAbortedError && result.reached)) throw e;
  }
  return result;
}

export default defineCommand({
  name: 'speedrun',
  order: 25,
  summary: 'time to a target test accuracy on Fashion-MNIST for a named recipe (91, 93, 94), with the CPU and load',
  usage: 'convkit speedrun [--recipe 91|93|94] [--seeds N] [--json FILE] [--backend NAME] [--threads N]',
  description:
    'Trains the recipe on the whole training set and reads the test accuracy after each epoch only to time when the target ' +
    'is first reached (training time; test evaluations excluded). A recipe\'s hyperparameters are chosen on a validation ' +
    'split of the training set (convkit train --val-split 0.1), never on the test set; its "chosen on" line gives the figures. ' +
    'tools/torch_speedrun.py runs the same ' +
    'recipe in PyTorch; bench/speedrun.mjs runs both.',
  options: {
    recipe: { type: 'string', valueName: 'NAME', description: `the recipe: ${RECIPES.map((r) => `${r.name} (${r.model}, goal ${r.goalSeconds} s)`).join(', ')}`, defaultText: '91' },
    seeds: { type: 'string', valueName: 'N', description: 'how many seeds (0..N-1); the report gives the mean and spread of their times', defaultText: '3' },
    'first-seed': { type: 'string', valueName: 'K', description: 'start at seed K (bench/speedrun.mjs runs one seed at a time, alternating with PyTorch)', defaultText: '0' },
    json: { type: 'string', valueName: 'FILE', description: 'also write the result as JSON to FILE' },
    dataset: { type: 'string', valueName: 'NAME', description: 'fashion-mnist, or fashion-mnist-subset (the embedded 2,000/1,000 images: for smoke tests with --target)', defaultText: 'fashion-mnist' },
    data: { type: 'string', valueName: 'DIR', description: 'folder with the Fashion-MNIST IDX files (see convkit datasets)' },
    target: { type: 'string', valueName: 'F', description: 'override the recipe\'s target test accuracy (a fraction, e.g. 0.5; the result says it was overridden)' },
    'print-recipe': { type: 'boolean', description: 'print the recipe and its model\'s PyTorch source as JSON (what tools/torch_speedrun.py reads) and exit' },
    ...BACKEND_OPTIONS,
  },
  examples: ['convkit speedrun --recipe 91 --seeds 3 --json speedrun-91.json', 'convkit speedrun --recipe 93 --seeds 1', 'convkit speedrun --recipe 91 --print-recipe'],
  async run({ args, out, err, env, cwd }) {
    const v = args.values;
    const note = (m: string): void => { err.write(m + '\n'); };
    const recipe = recipeNamed(stringOption(v, 'recipe') ?? '91');
    const dataset = choiceOption(v, 'dataset', ['fashion-mnist', 'fashion-mnist-subset'] as const, 'fashion-mnist');
    if (v['print-recipe'] === true) {
      const net = models.create(recipe.model, modelConfigFor({ numClasses: 10, channels: 1, height: 28, width: 28 }));
      out.write(JSON.stringify({ ...recipe, modelSource: pytorchModelSource(net, { modelName: recipe.model }).source }, null, 2) + '\n');
      return 0;
    }
    const seeds = intOption(v, 'seeds', 3, { min: 1, max: 100 });
    const firstSeed = intOption(v, 'first-seed', 0, { min: 0, max: 2 ** 31 });
    const target = floatOption(v, 'target', recipe.target, { positive: true, max: 1 });
    const jsonFile = stringOption(v, 'json');
    const backend = await selectBackend(backendOption(v, env), threadsOption(v), note);
    const data = await loadTrainTest({ dataset, dataDir: stringOption(v, 'data'), env, cwd, note });
    const start = machineNow();
    const o = recipe.optimizer;
    out.write(`speedrun ${recipe.name}: ${percent(target)} test accuracy on ${data.name}${target !== recipe.target ? ` (target overridden; the recipe's is ${percent(recipe.target)})` : ''}, goal under ${recipe.goalSeconds} s\n` +
      `recipe: ${recipe.model}, ${o.name} lr ${o.lr}${o.name === 'sgd' ? ` momentum ${o.momentum}` : ''} weight decay ${o.weightDecay}, schedule ${recipe.schedule} over ${recipe.epochs} epochs, batch ${recipe.batch}, augment ${recipe.augment}\n` +
      `chosen on: ${recipe.chosenOn}\n` +
      `protocol: trains on all ${data.train.length} training images; the ${data.test.length} test images are evaluated after each epoch only to read when the target is first reached (training time; evaluations excluded)\n` +
      `machine: ${start.cpu}, ${start.cpus} CPUs, load average ${start.loadAverage.join(' ')}; backend ${backend}; data ${data.source}\n`);
    const runs: SpeedrunSeedResult[] = [];
    for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
      const r = await runSeed(recipe, target, seed, data.train, data.test, note);
      runs.push(r);
      out.write(r.reached
        ? `seed ${seed}: ${accuracyText(r.epochs.at(-1)!.testAccuracy)} at epoch ${r.epoch} after ${seconds(r.secondsToTarget)} of training (${seconds(r.wallSecondsToTarget)} with the test evaluations)\n`
        : `seed ${seed}: target not reached in ${recipe.epochs} epochs (best ${accuracyText(Math.max(...r.epochs.map((e) => e.testAccuracy)))})\n`);
    }
    const summary = summarizeTimes(runs);
    const end = machineNow();
    out.write(`time to ${percent(target)}: ${summary.reached === 0 ? 'not reached' : `mean ${seconds(summary.meanSeconds)}, sd ${seconds(summary.sdSeconds)}, min ${seconds(summary.minSeconds)}, max ${seconds(summary.maxSeconds)}`} ` +
      `(${summary.reached} of ${summary.of} seeds reached it); load average at the end ${end.loadAverage.join(' ')}\n`);
    if (jsonFile !== undefined) {
      const report = {
        tool: 'convkit', recipe, target, targetOverridden: target !== recipe.target, backend,
        dataset: { name: data.name, source: data.source, train: data.train.length, test: data.test.length },
        machine: { cpu: start.cpu, cpus: start.cpus, loadAverage: { start: start.loadAverage, end: end.loadAverage } },
        runs, summary,
      };
      writeFileSync(resolve(cwd, jsonFile), JSON.stringify(report, null, 2) + '\n');
      note(`wrote ${jsonFile}`);
    }
    return 0;
  },
});
