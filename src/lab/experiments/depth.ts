/**
 * Experiment 7, depth and skip connections: plain20, plain56, resnet20 and resnet56 (CIFAR-style, on 1x28x28),
 * trained with the same optimizer, learning-rate schedule, batch, epochs and seeds (a fixed budget: the claim is
 * about training loss, so no early stopping); training-loss curves per window of steps. He et al. (2016): the
 * deeper plain net trains worse than the shallower one (degradation), the residual nets do not. The verdict
 * compares means over seeds; the table and the figure show the spread (min-max, 95 % interval) across seeds.
 */
import * as models from '../../models/index.js';
import { lineChart } from '../../viz/svg.js';
import { accuracy, seededModel, trainEpochs } from '../train.js';
import { labSplit } from '../split.js';
import { storedRun } from '../resume.js';
import { describeBudget, protocolOf } from '../protocol.js';
import { count, interval95, markdownTable, pct, pctSpread, seedList, spread, type Spread } from '../stats.js';
import type { Experiment, Judgement, LabScale, Metrics } from '../types.js';

export const DEPTH_MODELS = ['plain20', 'plain56', 'resnet20', 'resnet56'] as const;

const CLAIM = 'Without skip connections a deeper net (plain56) trains worse than a shallower one (plain20): degradation. With skip connections (resnet20, resnet56) depth does not hurt training.';

const COLORS: Record<string, string> = { plain20: '#0072B2', plain56: '#D55E00', resnet20: '#56B4E9', resnet56: '#E69F00' };

export interface DepthRun {
  model: string;
  seed: number;
  params: number;
  curve: { step: number; loss: number }[];
  seconds: number;
  testAccuracy: number;
  /** Mean training loss over the last 20% of the recorded loss windows. */
  lastLoss: number;
  /** Highest windowed training loss of the run (shows a divergence that later recovers). */
  peakLoss: number;
}

/** 7 (SGD with a warm-up and a cosine decay, 3 seeds at full scale). */
export const depthExperiment: Experiment = makeDepth('depth', 'Depth and skip connections: degradation of plain nets, and ResNets (SGD)', 'depth', { full: 3, quick: 1, smoke: 1 });
/**
 * 7b: the same comparison with the lab's default optimizer, Adam: one seed (a supplement to 7, whose 3 seeds
 * carry the intervals; at full scale the four nets take about as long as one seed of 7).
 */
export const depthAdamExperiment: Experiment = makeDepth('depth-adam', 'Depth and skip connections with Adam', 'depthAdam', { full: 1, quick: 1, smoke: 1 });

/**
 * The verdict from per-seed final training losses (`M loss`): "holds" when plain56 > plain20 (degradation),
 * resnet56 <= plain56 and resnet56 <= 1.05 x resnet20 on the means; "partly holds" when one of the first two holds.
 */
export function judgeDepth(metrics: Metrics): Judgement {
  const mean = (model: string): number => spread(metrics[`${model} loss`] ?? []).mean;
  const degradation = mean('plain56') > mean('plain20');
  const resnetOk = mean('resnet56') <= mean('plain56');
  const resnetNoDegradation = mean('resnet56') <= mean('resnet20') * 1.05;
  return {
    verdict: degradation && resnetOk && resnetNoDegradation ? 'holds' : degradation || resnetOk ? 'partly holds' : 'does not hold',
    summary: `Training loss at the end of the budget${(metrics['plain20 loss']?.length ?? 0) > 1 ? ` (mean of ${metrics['plain20 loss']!.length} seeds)` : ''}: plain20 ${mean('plain20').toFixed(3)}, plain56 ${mean('plain56').toFixed(3)}, resnet20 ${mean('resnet20').toFixed(3)}, resnet56 ${mean('resnet56').toFixed(3)}; degradation ${degradation ? 'seen' : 'not seen'}, resnet56 ${mean('resnet56') < mean('resnet20') ? 'below' : 'not below'} resnet20.`,
  };
}

/** "1.234 ± 0.056 (1.180-1.290)", or just the mean for one run. */
function lossSpread(s: Spread): string {
  return s.n > 1 ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)} (${s.min.toFixed(3)}-${s.max.toFixed(3)})` : s.mean.toFixed(3);
}

/**
 * The training-loss figure: per model the mean curve over seeds, with min-max bars when there are several
 * (every run of one budget records its loss at the same steps, so the curves average point by point).
 */
export function depthLossChart(runs: readonly DepthRun[], seedCount: number, lossEvery: number): string {
  const steps = runs[0]?.curve.map((c) => c.step) ?? [];
  return lineChart({
    title: `Training loss${seedCount > 1 ? `, mean and min-max of ${seedCount} seeds` : ''}`, xLabel: 'step',
    yLabel: `training loss (mean of ${lossEvery} steps)`,
    series: DEPTH_MODELS.map((model) => ({
      name: model, dashed: model.startsWith('plain'), color: COLORS[model],
      points: steps.map((step, i) => {
        const s = spread(runs.filter((r) => r.model === model).map((r) => r.curve[i]!.loss));
        return seedCount > 1 ? { x: step, y: s.mean, lo: s.min, hi: s.max } : { x: step, y: s.mean };
      }),
    })),
  });
}

function makeDepth(name: string, title: string, key: 'depth' | 'depthAdam', defaultSeeds: Record<LabScale, number>): Experiment {
  return {
  name,
  index: 7,
  title,
  claim: CLAIM,
  defaultSeeds,
  judge: judgeDepth,
  metricOrder: () => [...DEPTH_MODELS.map((m) => `${m} loss`), ...DEPTH_MODELS.map((m) => `${m} test`)],
  async run(ctx) {
    const p = protocolOf(ctx)[key];
    const data = await ctx.data();
    const train = labSplit(data.train).train.take(Math.min(p.trainImages, labSplit(data.train).train.length));
    const seeds = seedList(ctx.options.seeds ?? defaultSeeds[ctx.options.scale]);
    const missing = DEPTH_MODELS.filter((m) => !models.has(m));
    if (missing.length) throw new Error(`lab ${name}: the model zoo has no ${missing.join(', ')} (available: ${models.list().map((m) => m.name).join(', ')})`);
    const test = data.test.take(p.testImages);
    const runs: DepthRun[] = [];
    for (const seed of seeds) {
      for (const model of DEPTH_MODELS) {
        const protocol = { model, seed, budget: p.budget, trainImages: train.length, lossEvery: p.lossEvery, testImages: test.length };
        const run = storedRun(ctx, name, `${model}-seed${seed}`, protocol, (progress): { result: DepthRun; seconds: number } => {
          const net = seededModel(seed, () => models.create(model));
          const outcome = trainEpochs({ model: net, train, ...p.budget, seed, lossEvery: p.lossEvery, label: `${model} seed=${seed}`, log: ctx.options.log, progress });
          const tail = outcome.lossCurve.slice(-Math.max(1, Math.floor(outcome.lossCurve.length / 5)));
          const lastLoss = tail.reduce((a, b) => a + b.loss, 0) / tail.length;
          const peakLoss = Math.max(...outcome.lossCurve.map((c) => c.loss));
          const testAccuracy = accuracy(net, test);
          return { result: { model, seed, params: net.numParameters(), curve: outcome.lossCurve, seconds: outcome.seconds, testAccuracy, lastLoss, peakLoss }, seconds: outcome.seconds };
        });
        runs.push(run);
        ctx.options.log(`  ${model} seed=${seed}: final training loss ${run.lastLoss.toFixed(3)} (peak ${run.peakLoss.toFixed(2)}), test ${pct(run.testAccuracy)} (${run.seconds.toFixed(0)} s)`);
      }
    }
    const of = (model: string): DepthRun[] => runs.filter((r) => r.model === model);
    const stat = (model: string, field: 'lastLoss' | 'testAccuracy' | 'peakLoss'): Spread => spread(of(model).map((r) => r[field]));
    const mean = (model: string): number => stat(model, 'lastLoss').mean;
    ctx.output.text(`${name}/training-loss.svg`, depthLossChart(runs, seeds.length, p.lossEvery));
    // Per-seed counts, so a mean carried by one seed is visible.
    const perSeed = (holds: (seed: number) => boolean): string => `${seeds.filter(holds).length} of ${seeds.length} seeds`;
    const loss = (model: string, seed: number): number => runs.find((r) => r.model === model && r.seed === seed)!.lastLoss;
    const metrics: Metrics = {};
    for (const m of DEPTH_MODELS) {
      metrics[`${m} loss`] = of(m).map((r) => r.lastLoss);
      metrics[`${m} test`] = of(m).map((r) => r.testAccuracy);
    }
    const judgement = judgeDepth(metrics);
    const degradation = mean('plain56') > mean('plain20');
    const interval = (m: string): string => { const i = interval95(metrics[`${m} loss`]!); return Number.isFinite(i.halfWidth) ? `[${i.lo.toFixed(3)}, ${i.hi.toFixed(3)}]` : '-'; };
    const md = [
      markdownTable(['model', 'parameters', `training loss, last 20% of steps (mean ± sd${seeds.length > 1 ? ', min-max' : ''})`, '95 % interval', 'peak windowed loss (max over seeds)', `test accuracy (${count(test.length)} images)`, 'seconds (all seeds)'],
        DEPTH_MODELS.map((m) => [m, count(of(m)[0]!.params), lossSpread(stat(m, 'lastLoss')), interval(m), stat(m, 'peakLoss').max.toFixed(2), pctSpread(stat(m, 'testAccuracy')), of(m).reduce((a, r) => a + r.seconds, 0).toFixed(0)])),
      '',
      `- Degradation (plain56 trains worse than plain20): ${degradation ? 'yes' : 'no'} (${mean('plain56').toFixed(3)} vs ${mean('plain20').toFixed(3)}; in ${perSeed((s) => loss('plain56', s) > loss('plain20', s))}).`,
      `- resnet56 vs plain56: ${mean('resnet56').toFixed(3)} vs ${mean('plain56').toFixed(3)} (resnet56 lower in ${perSeed((s) => loss('resnet56', s) <= loss('plain56', s))}); resnet56 vs resnet20: ${mean('resnet56').toFixed(3)} vs ${mean('resnet20').toFixed(3)} (resnet56 within 5% of resnet20 or lower in ${perSeed((s) => loss('resnet56', s) <= loss('resnet20', s) * 1.05)}).`,
      `- Verdict rule, on the means over seeds: "holds" when plain56 > plain20, resnet56 <= plain56 and resnet56 <= 1.05 x resnet20; "partly holds" when one of the first two holds.`,
      '',
      `![training loss](${name}/training-loss.svg)`,
    ].join('\n');
    return {
      verdict: judgement.verdict,
      summary: judgement.summary,
      protocol: `${count(train.length)} images of the training part of the validation split, ${describeBudget(p.budget)} (a fixed budget, no early stopping: the claim is about training loss), seeds ${seeds.join(', ')} (seed s sets the initial weights and the shuffle order, the same order for every model); no augmentation; loss averaged over windows of ${p.lossEvery} steps; test accuracy read once after training.`,
      markdown: md,
      results: { budget: p.budget, seeds, runs },
      metrics,
    };
  },
};
}
