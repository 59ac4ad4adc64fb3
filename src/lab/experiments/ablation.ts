/**
 * Experiment 3, locality and weight sharing, and data efficiency: the MLP (neither), lcnet (local, unshared:
 * vggsmall's topology with LocallyConnected2d) and vggsmall (local and shared), each trained on 1k, 5k, 20k and
 * all 55k images of the training part of the split (a seeded random draw per seed), 3 seeds, each run trained
 * to near convergence with early stopping on the validation part. Reports test and train accuracy (mean,
 * spread, 95 % interval) and parameter counts.
 */
import * as models from '../../models/index.js';
import { lineChart } from '../../viz/svg.js';
import { accuracy, seededModel, trainEpochs } from '../train.js';
import { describeBudget, protocolOf, validationSet } from '../protocol.js';
import { labSplit, subsetIndices } from '../split.js';
import { storedRun } from '../resume.js';
import { count, interval95, markdownTable, pct, pctInterval, pctSpread, seedList, spread } from '../stats.js';
import type { Experiment, Judgement, Metrics } from '../types.js';

export const ABLATION_MODELS = [
  { name: 'mlp', what: 'dense: no locality, no sharing' },
  { name: 'lcnet', what: 'local, unshared' },
  { name: 'vggsmall', what: 'local and shared (CNN)' },
] as const;

export interface AblationRun {
  model: string;
  size: number;
  seed: number;
  testAccuracy: number;
  trainAccuracy: number;
  validationAccuracy: number;
  finalLoss: number;
  seconds: number;
  /** Epochs run (early stopping may end a run before its cap) and the epoch whose weights were kept. */
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
}

const CLAIM = 'Locality and weight sharing are an inductive bias: trained alike, the CNN beats the locally connected net, which beats the MLP, and the gap is largest when training data is scarce.';

/** The training-set sizes present in `metrics` (from the `vggsmall N test` names), ascending. */
export function ablationSizes(metrics: Metrics): number[] {
  return Object.keys(metrics).map((k) => /^vggsmall (\d+) test$/.exec(k)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b);
}

/**
 * The verdict from per-seed test accuracies: "holds" when CNN > locally connected > MLP on the means at every
 * size and the CNN's lead over the MLP is larger at the smallest size than at the largest; "partly holds"
 * when the CNN beats the MLP at every size; otherwise "does not hold".
 */
export function judgeAblation(metrics: Metrics): Judgement {
  const sizes = ablationSizes(metrics);
  const mean = (model: string, size: number): number => spread(metrics[`${model} ${size} test`] ?? []).mean;
  const orderHolds = sizes.map((s) => mean('vggsmall', s) > mean('lcnet', s) && mean('lcnet', s) > mean('mlp', s));
  const cnnOverMlp = sizes.map((s) => mean('vggsmall', s) - mean('mlp', s));
  const gapShrinks = sizes.length < 2 || cnnOverMlp[0]! > cnnOverMlp.at(-1)!;
  const verdict = sizes.length > 0 && orderHolds.every(Boolean) && gapShrinks ? 'holds' : sizes.length > 0 && cnnOverMlp.every((g) => g > 0) ? 'partly holds' : 'does not hold';
  const at = (s: number): string => `vggsmall ${pct(mean('vggsmall', s))}, lcnet ${pct(mean('lcnet', s))}, mlp ${pct(mean('mlp', s))}`;
  const failing = sizes.filter((_, i) => !orderHolds[i]);
  return {
    verdict,
    summary: `Test accuracy at ${sizes.map(count).join(' / ')} training images: ${sizes.length ? `${at(sizes[0]!)}${sizes.length > 1 ? ` at ${count(sizes[0]!)}; ${at(sizes.at(-1)!)} at ${count(sizes.at(-1)!)}` : ''}` : '-'}. CNN > locally connected > MLP ${failing.length ? `fails at ${failing.map(count).join(', ')}` : 'at every size'}; the CNN's lead over the MLP is ${cnnOverMlp.map((g) => (g * 100).toFixed(1)).join(' / ')} points.`,
  };
}

export const ablationExperiment: Experiment = {
  name: 'ablation',
  index: 3,
  title: 'Locality and weight sharing: MLP vs locally connected vs CNN, and data efficiency',
  claim: CLAIM,
  defaultSeeds: { full: 3, quick: 1, smoke: 1 },
  judge: judgeAblation,
  metricOrder: (metrics) => ablationSizes(metrics).flatMap((s) => ABLATION_MODELS.map((m) => `${m.name} ${s} test`)),
  async run(ctx) {
    const p = protocolOf(ctx).ablation;
    const data = await ctx.data();
    const split = labSplit(data.train);
    const validation = validationSet(ctx, split);
    const seeds = seedList(ctx.options.seeds ?? this.defaultSeeds[ctx.options.scale]);
    const plan = p.sizes.map((s) => ({ size: Math.min(s.images, split.train.length), epochs: s.epochs })).filter((s, i, all) => all.findIndex((t) => t.size === s.size) === i);
    const sizes = plan.map((s) => s.size);
    const test = data.test.take(p.testImages);
    const params: Record<string, number> = {};
    for (const m of ABLATION_MODELS) params[m.name] = models.create(m.name).numParameters();
    const runs: AblationRun[] = [];
    for (const { size, epochs } of plan) {
      for (const seed of seeds) {
        const train = data.train.subset(subsetIndices(split, size, 100 + seed), `${data.train.name}[${size} drawn with seed ${100 + seed}]`);
        const trainEval = train.take(p.trainImages);
        for (const m of ABLATION_MODELS) {
          const protocol = { model: m.name, size, epochs, seed, budget: p.budget, validationImages: validation.length, testImages: test.length, trainEvalImages: trainEval.length };
          const run = storedRun(ctx, 'ablation', `${m.name}-${size}-seed${seed}`, protocol, (progress) => {
            const model = seededModel(seed, () => models.create(m.name));
            const o = trainEpochs({ model, train, validation, ...p.budget, epochs, seed, label: `${m.name} n=${size} seed=${seed}`, log: ctx.options.log, progress });
            const result: AblationRun = {
              model: m.name, size, seed,
              testAccuracy: accuracy(model, test), trainAccuracy: accuracy(model, trainEval), validationAccuracy: o.bestValidationAccuracy,
              finalLoss: o.lossCurve.at(-1)?.loss ?? NaN, seconds: o.seconds, epochs: o.epochsRun, bestEpoch: o.bestEpoch, stoppedEarly: o.stoppedEarly,
            };
            return { result, seconds: o.seconds };
          });
          runs.push(run);
          ctx.options.log(`  ${m.name} n=${size} seed=${seed}: test ${pct(run.testAccuracy)}, validation ${pct(run.validationAccuracy)}, train ${pct(run.trainAccuracy)}, best epoch ${run.bestEpoch} of ${run.epochs} (${run.seconds.toFixed(0)} s)`);
        }
      }
    }
    const metrics: Metrics = {};
    for (const r of runs) {
      (metrics[`${r.model} ${r.size} test`] ??= []).push(r.testAccuracy);
      (metrics[`${r.model} ${r.size} train`] ??= []).push(r.trainAccuracy);
    }
    const cell = (model: string, size: number, key: 'testAccuracy' | 'trainAccuracy') => runs.filter((r) => r.model === model && r.size === size).map((r) => r[key]);
    const rows = ABLATION_MODELS.flatMap((m) => sizes.map((size) => {
      const te = spread(cell(m.name, size, 'testAccuracy'));
      const tr = spread(cell(m.name, size, 'trainAccuracy'));
      const of = runs.filter((r) => r.model === m.name && r.size === size);
      return [m.name, count(params[m.name]!), count(size), pctSpread(te), pctInterval(interval95(cell(m.name, size, 'testAccuracy'))), pctSpread(tr),
        (tr.mean - te.mean >= 0 ? '+' : '') + ((tr.mean - te.mean) * 100).toFixed(1), of.map((r) => `${r.bestEpoch}/${r.epochs}`).join(', ')];
    }));
    ctx.output.text('ablation/test-accuracy.svg', lineChart({
      title: 'Test accuracy vs training-set size (trained to early stopping)', xLabel: 'training images', yLabel: 'test accuracy (mean, min-max over seeds)', logX: true,
      series: ABLATION_MODELS.map((m) => ({
        name: `${m.name} (${count(params[m.name]!)} params)`,
        points: sizes.map((size) => { const s = spread(cell(m.name, size, 'testAccuracy')); return { x: size, y: s.mean, lo: s.min, hi: s.max }; }),
      })),
    }));
    ctx.output.text('ablation/train-vs-test.svg', lineChart({
      title: 'Train (dashed) and test (solid) accuracy', xLabel: 'training images', yLabel: 'accuracy (mean over seeds)', logX: true,
      series: ABLATION_MODELS.flatMap((m, i) => [
        { name: `${m.name} test`, color: ['#0072B2', '#D55E00', '#009E73'][i], points: sizes.map((size) => ({ x: size, y: spread(cell(m.name, size, 'testAccuracy')).mean })) },
        { name: `${m.name} train`, dashed: true, color: ['#0072B2', '#D55E00', '#009E73'][i], points: sizes.map((size) => ({ x: size, y: spread(cell(m.name, size, 'trainAccuracy')).mean })) },
      ]),
    }));
    const judgement = judgeAblation(metrics);
    const md = [
      markdownTable(['model', 'parameters', 'training images', 'test accuracy (mean ± sd)', '95 % interval', 'train accuracy', 'train - test (points)', 'best epoch / epochs run, per seed'], rows),
      '',
      `- ${judgement.summary}`,
      '- Every run trains until its validation accuracy stops rising (or its epoch cap), and keeps its best weights: the columns compare models near convergence, not learning speed.',
      `- Verdict rule, on the means over seeds: "holds" when CNN > locally connected > MLP at every size and the CNN's lead over the MLP is larger at ${count(sizes[0] ?? 0)} than at ${count(sizes.at(-1) ?? 0)} images; "partly holds" when the CNN beats the MLP at every size.`,
      '',
      '![test accuracy](ablation/test-accuracy.svg)',
      '',
      '![train vs test](ablation/train-vs-test.svg)',
    ].join('\n');
    return {
      verdict: judgement.verdict,
      summary: judgement.summary,
      protocol: `Training sets of ${plan.map((s) => `${count(s.size)} (at most ${s.epochs} epochs)`).join(', ')} images, a seeded random draw (seed 100 + s) of the training part of the validation split; seeds ${seeds.join(', ')} (seed s also sets the initial weights and the shuffle order); each run ${describeBudget({ ...p.budget, epochs: plan[0]?.epochs ?? 1 }).replace(/^at most \d+ epochs? x/, 'batches of')}; validation on ${count(validation.length)} of the ${count(split.validation.length)} held-out training images; no augmentation; test accuracy on the first ${count(test.length)} test images, read once after training; train accuracy on the first ${count(p.trainImages)} images of the run's subset.`,
      markdown: md,
      results: { sizes, plan, seeds, params, budget: p.budget, runs },
      metrics,
    };
  },
};
