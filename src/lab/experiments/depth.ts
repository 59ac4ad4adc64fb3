/**
 * Experiment 7, depth and skip connections: plain20, plain56, resnet20 and resnet56 (CIFAR-style, on 1x28x28),
 * trained with the same optimizer, batch, steps and seed; training-loss curves. He et al. (2016): the deeper
 * plain net trains worse than the shallower one (degradation), the residual nets do not.
 */
import * as models from '../../models/index.js';
import { lineChart } from '../../viz/svg.js';
import { accuracy, seededModel, trainSteps } from '../train.js';
import { describeBudget, protocolOf } from '../protocol.js';
import { count, markdownTable, pct, seedList } from '../stats.js';
import type { Experiment } from '../types.js';

export const DEPTH_MODELS = ['plain20', 'plain56', 'resnet20', 'resnet56'] as const;

const CLAIM = 'Without skip connections a deeper net (plain56) trains worse than a shallower one (plain20): degradation. With skip connections (resnet20, resnet56) depth does not hurt training.';

export const depthExperiment: Experiment = makeDepth('depth', 'Depth and skip connections: degradation of plain nets, and ResNets (SGD)', 'depth');
/** 7b: the same comparison with the lab's default optimizer, Adam, and a longer budget. */
export const depthAdamExperiment: Experiment = makeDepth('depth-adam', 'Depth and skip connections with Adam and a longer budget', 'depthAdam');

function makeDepth(name: string, title: string, key: 'depth' | 'depthAdam'): Experiment {
  return {
  name,
  index: 7,
  title,
  claim: CLAIM,
  defaultSeeds: { full: 1, quick: 1, smoke: 1 },
  async run(ctx) {
    const p = protocolOf(ctx)[key];
    const data = await ctx.data();
    const seeds = seedList(ctx.options.seeds ?? 1);
    const missing = DEPTH_MODELS.filter((m) => !models.has(m));
    if (missing.length) throw new Error(`lab ${name}: the model zoo has no ${missing.join(', ')} (available: ${models.list().map((m) => m.name).join(', ')})`);
    const test = data.test.take(p.testImages);
    const runs: { model: string; seed: number; params: number; curve: { step: number; loss: number }[]; seconds: number; testAccuracy: number; lastLoss: number }[] = [];
    for (const seed of seeds) {
      for (const name of DEPTH_MODELS) {
        const model = seededModel(seed, () => models.create(name));
        const outcome = trainSteps({ model, train: data.train, ...p.budget, seed, lossEvery: p.lossEvery, label: `${name} seed=${seed}`, log: ctx.options.log });
        const tail = outcome.lossCurve.slice(-Math.max(1, Math.floor(outcome.lossCurve.length / 5)));
        const lastLoss = tail.reduce((a, b) => a + b.loss, 0) / tail.length;
        const testAccuracy = accuracy(model, test);
        runs.push({ model: name, seed, params: model.numParameters(), curve: outcome.lossCurve, seconds: outcome.seconds, testAccuracy, lastLoss });
        ctx.options.log(`  ${name} seed=${seed}: final training loss ${lastLoss.toFixed(3)}, test ${pct(testAccuracy)} (${outcome.seconds.toFixed(0)} s)`);
      }
    }
    ctx.output.text(`${name}/training-loss.svg`, lineChart({
      title: 'Training loss (same optimizer, batch and steps)', xLabel: 'step', yLabel: `training loss (mean of ${p.lossEvery} steps)`,
      series: runs.map((r) => ({ name: `${r.model}${seeds.length > 1 ? ` s${r.seed}` : ''}`, dashed: r.model.startsWith('plain'), color: { plain20: '#0072B2', plain56: '#D55E00', resnet20: '#56B4E9', resnet56: '#E69F00' }[r.model], points: r.curve.map((c) => ({ x: c.step, y: c.loss })) })),
    }));
    const mean = (model: string, key: 'lastLoss' | 'testAccuracy'): number => {
      const v = runs.filter((r) => r.model === model).map((r) => r[key]);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const degradation = mean('plain56', 'lastLoss') > mean('plain20', 'lastLoss');
    const resnetOk = mean('resnet56', 'lastLoss') <= mean('plain56', 'lastLoss');
    const resnetNoDegradation = mean('resnet56', 'lastLoss') <= mean('resnet20', 'lastLoss') * 1.05;
    const md = [
      markdownTable(['model', 'parameters', 'training loss, last 20% of steps', `test accuracy (${count(test.length)} images)`, 'seconds'],
        DEPTH_MODELS.map((m) => [m, count(runs.find((r) => r.model === m)!.params), mean(m, 'lastLoss').toFixed(3), pct(mean(m, 'testAccuracy')), runs.filter((r) => r.model === m).reduce((a, r) => a + r.seconds, 0).toFixed(0)])),
      '',
      `- Degradation (plain56 trains worse than plain20): ${degradation ? 'yes' : 'no'} (${mean('plain56', 'lastLoss').toFixed(3)} vs ${mean('plain20', 'lastLoss').toFixed(3)}).`,
      `- resnet56 vs plain56: ${mean('resnet56', 'lastLoss').toFixed(3)} vs ${mean('plain56', 'lastLoss').toFixed(3)}; resnet56 vs resnet20: ${mean('resnet56', 'lastLoss').toFixed(3)} vs ${mean('resnet20', 'lastLoss').toFixed(3)}.`,
      '',
      `![training loss](${name}/training-loss.svg)`,
    ].join('\n');
    return {
      verdict: degradation && resnetOk && resnetNoDegradation ? 'holds' : degradation || resnetOk ? 'partly holds' : 'does not hold',
      summary: `Training loss at the end of the budget: plain20 ${mean('plain20', 'lastLoss').toFixed(3)}, plain56 ${mean('plain56', 'lastLoss').toFixed(3)}, resnet20 ${mean('resnet20', 'lastLoss').toFixed(3)}, resnet56 ${mean('resnet56', 'lastLoss').toFixed(3)}.`,
      protocol: `Full training set, ${describeBudget(p.budget)}, seeds ${seeds.join(', ')}, same shuffle order for every model; loss averaged over windows of ${p.lossEvery} steps.`,
      markdown: md,
      results: { budget: p.budget, seeds, runs },
    };
  },
};
}
