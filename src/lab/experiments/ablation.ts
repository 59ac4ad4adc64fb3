/**
 * Experiment 3, locality and weight sharing, and data efficiency: the MLP (neither), lcnet (local, unshared:
 * vggsmall's topology with LocallyConnected2d) and vggsmall (local and shared), each trained on 1k, 5k, 20k and
 * 60k real training images (a seeded random draw per seed), several seeds, the same step budget for every run.
 * Reports test and train accuracy (mean, spread) and parameter counts.
 */
import * as models from '../../models/index.js';
import { lineChart } from '../../viz/svg.js';
import { accuracy, seededModel, seededSubset, trainSteps } from '../train.js';
import { describeBudget, protocolOf } from '../protocol.js';
import { count, markdownTable, pct, pctSpread, seedList, spread } from '../stats.js';
import type { Experiment } from '../types.js';

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
  finalLoss: number;
  seconds: number;
  epochs: number;
}

const CLAIM = 'Locality and weight sharing are an inductive bias: with the same budget, the CNN beats the locally connected net, which beats the MLP, and the gap is largest when training data is scarce.';

export const ablationExperiment: Experiment = makeAblation('ablation', 'Locality and weight sharing: MLP vs locally connected vs CNN, and data efficiency', 'ablation');

/** 3b: the same comparison with a longer budget on the small training sets (where the claim is about). */
export const ablationLongExperiment: Experiment = makeAblation('ablation-long', 'Locality and weight sharing with a longer budget on small training sets', 'ablationLong');

function makeAblation(name: string, title: string, key: 'ablation' | 'ablationLong'): Experiment {
  return {
  name,
  index: 3,
  title,
  claim: CLAIM,
  defaultSeeds: { full: 3, quick: 1, smoke: 1 },
  async run(ctx) {
    const p = protocolOf(ctx)[key];
    const data = await ctx.data();
    const seeds = seedList(ctx.options.seeds ?? (ctx.options.scale === 'full' ? 3 : 1));
    const sizes = [...new Set(p.sizes.map((s) => Math.min(s, data.train.length)))];
    const test = data.test.take(p.testImages);
    const params: Record<string, number> = {};
    for (const m of ABLATION_MODELS) params[m.name] = models.create(m.name).numParameters();
    const runs: AblationRun[] = [];
    for (const size of sizes) {
      for (const seed of seeds) {
        const train = seededSubset(data.train, size, 100 + seed);
        const trainEval = train.take(p.trainImages);
        for (const m of ABLATION_MODELS) {
          const model = seededModel(seed, () => models.create(m.name));
          const outcome = trainSteps({ model, train, ...p.budget, seed, label: `${m.name} n=${size} seed=${seed}`, log: ctx.options.log });
          const run: AblationRun = {
            model: m.name, size, seed,
            testAccuracy: accuracy(model, test), trainAccuracy: accuracy(model, trainEval),
            finalLoss: outcome.lossCurve.at(-1)?.loss ?? NaN, seconds: outcome.seconds, epochs: outcome.epochs,
          };
          runs.push(run);
          ctx.options.log(`  ${m.name} n=${size} seed=${seed}: test ${pct(run.testAccuracy)}, train ${pct(run.trainAccuracy)} (${run.seconds.toFixed(0)} s)`);
        }
      }
    }
    const cell = (model: string, size: number, key: 'testAccuracy' | 'trainAccuracy') => spread(runs.filter((r) => r.model === model && r.size === size).map((r) => r[key]));
    const rows = ABLATION_MODELS.flatMap((m) => sizes.map((size) => {
      const te = cell(m.name, size, 'testAccuracy');
      const tr = cell(m.name, size, 'trainAccuracy');
      return [m.name, count(params[m.name]!), count(size), pctSpread(te), `${pct(te.min)} - ${pct(te.max)}`, pctSpread(tr), (tr.mean - te.mean >= 0 ? '+' : '') + ((tr.mean - te.mean) * 100).toFixed(1)];
    }));
    ctx.output.text(`${name}/test-accuracy.svg`, lineChart({
      title: 'Test accuracy vs training-set size (same step budget)', xLabel: 'training images', yLabel: 'test accuracy (mean, min-max over seeds)', logX: true,
      series: ABLATION_MODELS.map((m) => ({
        name: `${m.name} (${count(params[m.name]!)} params)`,
        points: sizes.map((size) => { const s = cell(m.name, size, 'testAccuracy'); return { x: size, y: s.mean, lo: s.min, hi: s.max }; }),
      })),
    }));
    ctx.output.text(`${name}/train-vs-test.svg`, lineChart({
      title: 'Train (dashed) and test (solid) accuracy', xLabel: 'training images', yLabel: 'accuracy (mean over seeds)', logX: true,
      series: ABLATION_MODELS.flatMap((m, i) => [
        { name: `${m.name} test`, color: ['#0072B2', '#D55E00', '#009E73'][i], points: sizes.map((size) => ({ x: size, y: cell(m.name, size, 'testAccuracy').mean })) },
        { name: `${m.name} train`, dashed: true, color: ['#0072B2', '#D55E00', '#009E73'][i], points: sizes.map((size) => ({ x: size, y: cell(m.name, size, 'trainAccuracy').mean })) },
      ]),
    }));
    // Verdict: order CNN > LC > MLP per size (on means), and the CNN-MLP gap at the smallest vs largest size.
    const mean = (model: string, size: number): number => cell(model, size, 'testAccuracy').mean;
    const orderHolds = sizes.map((s) => mean('vggsmall', s) > mean('lcnet', s) && mean('lcnet', s) > mean('mlp', s));
    const cnnOverMlp = sizes.map((s) => mean('vggsmall', s) - mean('mlp', s));
    const lcOverMlp = sizes.map((s) => mean('lcnet', s) - mean('mlp', s));
    const gapShrinks = sizes.length < 2 || cnnOverMlp[0]! > cnnOverMlp.at(-1)!;
    const verdict = orderHolds.every(Boolean) && gapShrinks ? 'holds' : cnnOverMlp.every((g) => g > 0) ? 'partly holds' : 'does not hold';
    const md = [
      markdownTable(['model', 'parameters', 'training images', 'test accuracy (mean ± std)', 'test min - max', 'train accuracy', 'train - test (points)'], rows),
      '',
      `- CNN minus MLP test accuracy per size (${sizes.map(count).join(' / ')}): ${cnnOverMlp.map((g) => `${(g * 100).toFixed(1)}`).join(' / ')} points; locally connected minus MLP: ${lcOverMlp.map((g) => `${(g * 100).toFixed(1)}`).join(' / ')} points.`,
      `- Ordering CNN > locally connected > MLP holds at ${orderHolds.filter(Boolean).length} of ${sizes.length} sizes${orderHolds.every(Boolean) ? '' : ` (fails at ${sizes.filter((_, i) => !orderHolds[i]).map(count).join(', ')})`}.`,
      `- Every run has the same budget (${describeBudget(p.budget)}), i.e. ${runs[0] ? runs.filter((r) => r.model === 'mlp').map((r) => `${r.epochs.toFixed(2)}`).filter((v, i, a) => a.indexOf(v) === i).join(' / ') : '-'} epochs at the sizes above: on the small sets the models see each image many times (train accuracy shows how far they overfit); on the large sets they see only part of the data once, so the large-size columns measure learning speed per image as much as data efficiency.`,
      '',
      `![test accuracy](${name}/test-accuracy.svg)`,
      '',
      `![train vs test](${name}/train-vs-test.svg)`,
    ].join('\n');
    return {
      verdict,
      summary: sizes.length === 1
        ? `Test accuracy with ${count(sizes[0]!)} training images: vggsmall ${pct(mean('vggsmall', sizes[0]!))}, lcnet ${pct(mean('lcnet', sizes[0]!))}, mlp ${pct(mean('mlp', sizes[0]!))} (${seeds.length} seed${seeds.length > 1 ? 's' : ''}).`
        : `Test accuracy at ${count(sizes[0]!)} / ${count(sizes.at(-1)!)} training images: vggsmall ${pct(mean('vggsmall', sizes[0]!))} / ${pct(mean('vggsmall', sizes.at(-1)!))}, lcnet ${pct(mean('lcnet', sizes[0]!))} / ${pct(mean('lcnet', sizes.at(-1)!))}, mlp ${pct(mean('mlp', sizes[0]!))} / ${pct(mean('mlp', sizes.at(-1)!))} (${seeds.length} seed${seeds.length > 1 ? 's' : ''}).`,
      protocol: `Sizes ${sizes.map(count).join(', ')} (a seeded random draw of the training set per seed), seeds ${seeds.join(', ')}, each run ${describeBudget(p.budget)} (shuffled, cycling over the subset), test accuracy on the first ${count(test.length)} test images, train accuracy on the first ${count(p.trainImages)} images of the run's subset.`,
      markdown: md,
      results: { sizes, seeds, params, budget: p.budget, runs },
    };
  },
};
}
