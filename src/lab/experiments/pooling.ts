/**
 * Experiment 5, pooling is robustness, not invariance: four small CNNs that differ only in how they downsample
 * (max pooling, average pooling, stride-2 convolution, max pooling + a global-average-pooling head) are trained
 * alike; then every test image is shifted by 0 to `maxShift` pixels in each of 8 directions (black fill) and we
 * measure test accuracy and prediction consistency (same class as for the unshifted image).
 */
import { Conv2d } from '../../nn/layers/conv.js';
import { ReLU } from '../../nn/layers/activation.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../nn/layers/pooling.js';
import { Flatten, Linear } from '../../nn/layers/linear.js';
import { Sequential } from '../../nn/layers/container.js';
import type { Module } from '../../nn/module.js';
import { translate } from '../../data/transforms.js';
import { lineChart } from '../../viz/svg.js';
import { accuracyOf, predict, seededModel, trainEpochs } from '../train.js';
import { labSplit } from '../split.js';
import { storedRun } from '../resume.js';
import { describeBudget, protocolOf, validationSet } from '../protocol.js';
import { count, markdownTable, pct, seedList, spread } from '../stats.js';
import type { Experiment, Judgement, Metrics } from '../types.js';

export type PoolingVariant = 'maxpool' | 'avgpool' | 'strided' | 'gap';

/** conv3x3(32) ReLU, downsample, conv3x3(64) ReLU, downsample, classifier; see the file comment. */
export function poolingModel(variant: PoolingVariant, numClasses = 10): Module {
  const down = (c: number): Module[] =>
    variant === 'avgpool' ? [new AvgPool2d(2)] : variant === 'strided' ? [new Conv2d(c, c, 3, { stride: 2, padding: 1 }), new ReLU()] : [new MaxPool2d(2)];
  const body = [new Conv2d(1, 32, 3, { padding: 1 }), new ReLU(), ...down(32), new Conv2d(32, 64, 3, { padding: 1 }), new ReLU(), ...down(64)];
  const head = variant === 'gap'
    ? [new Conv2d(64, 128, 3, { padding: 1 }), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(128, numClasses)]
    : [new Flatten(), new Linear(64 * 7 * 7, numClasses)];
  return new Sequential(...body, ...head);
}

export const POOLING_VARIANTS: { name: PoolingVariant; what: string }[] = [
  { name: 'maxpool', what: 'max pooling 2x2' },
  { name: 'avgpool', what: 'average pooling 2x2' },
  { name: 'strided', what: 'stride-2 3x3 convolution' },
  { name: 'gap', what: 'max pooling + global average pooling head' },
];

/** The 8 compass directions as (dy, dx) unit steps. */
export const DIRECTIONS: readonly { name: string; dy: number; dx: number }[] = [
  { name: 'right', dy: 0, dx: 1 }, { name: 'left', dy: 0, dx: -1 }, { name: 'down', dy: 1, dx: 0 }, { name: 'up', dy: -1, dx: 0 },
  { name: 'down-right', dy: 1, dx: 1 }, { name: 'down-left', dy: 1, dx: -1 }, { name: 'up-right', dy: -1, dx: 1 }, { name: 'up-left', dy: -1, dx: -1 },
];

/** The shift sizes (pixels) present in `metrics` (from the `maxpool consistency Kpx` names), ascending. */
function poolingShifts(metrics: Metrics): number[] {
  return Object.keys(metrics).map((k) => /^maxpool consistency (\d+)px$/.exec(k)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b);
}

/**
 * The verdict from per-seed numbers (`V accuracy Kpx` and `V consistency Kpx`, means over the 8 directions;
 * `V worst consistency Kpx`, the worst direction): "holds" when every variant changes some prediction under
 * some shift (robust, not invariant), otherwise "partly holds".
 */
export function judgePooling(metrics: Metrics): Judgement {
  const shifts = poolingShifts(metrics);
  const max = shifts.at(-1) ?? 0;
  const mean = (k: string): number => spread(metrics[k] ?? []).mean;
  const worst = (v: string, k: number): number => Math.min(...(metrics[`${v} worst consistency ${k}px`] ?? [NaN]));
  const below = POOLING_VARIANTS.filter((v) => shifts.some((k) => worst(v.name, k) < 1));
  const oneMin = Math.min(...POOLING_VARIANTS.map((v) => worst(v.name, 1)));
  return {
    verdict: below.length === POOLING_VARIANTS.length ? 'holds' : 'partly holds',
    summary: `Under a ${max}-pixel shift the predictions stay the same for ${POOLING_VARIANTS.map((v) => `${pct(mean(`${v.name} consistency ${max}px`))} (${v.name})`).join(', ')} of test images; ${oneMin < 1 ? `even a 1-pixel shift changes some predictions (lowest consistency ${pct(oneMin)})` : 'a 1-pixel shift changed no prediction'}.`,
  };
}

export const poolingExperiment: Experiment = {
  name: 'pooling',
  index: 5,
  title: 'Pooling gives robustness to small shifts, not invariance',
  claim: 'Pooling makes a CNN robust to small translations, but not invariant: predictions still change under shifts of a few pixels.',
  defaultSeeds: { full: 3, quick: 1, smoke: 1 },
  judge: judgePooling,
  metricOrder: (metrics) => POOLING_VARIANTS.flatMap((v) => [`${v.name} accuracy 0px`, `${v.name} consistency ${poolingShifts(metrics).at(-1) ?? 0}px`]),
  async run(ctx) {
    const p = protocolOf(ctx).pooling;
    const data = await ctx.data();
    const split = labSplit(data.train);
    const validation = validationSet(ctx, split);
    const train = split.train.take(Math.min(p.trainImages, split.train.length));
    const seeds = seedList(ctx.options.seeds ?? this.defaultSeeds[ctx.options.scale]);
    const test = data.test.take(p.testImages);
    const magnitudes = Array.from({ length: p.maxShift + 1 }, (_, i) => i);
    const results: { variant: PoolingVariant; seed: number; params: number; validationAccuracy: number; epochs: number; bestEpoch: number; seconds: number; shifts: { direction: string; magnitude: number; accuracy: number; consistency: number }[] }[] = [];
    for (const seed of seeds) {
      for (const v of POOLING_VARIANTS) {
        const protocol = { variant: v.name, seed, budget: p.budget, trainImages: train.length, validationImages: validation.length, testImages: test.length, maxShift: p.maxShift, directions: DIRECTIONS };
        const result = storedRun(ctx, 'pooling', `${v.name}-seed${seed}`, protocol, (progress) => {
          const model = seededModel(seed, () => poolingModel(v.name));
          const o = trainEpochs({ model, train, validation, ...p.budget, seed, label: `${v.name} seed=${seed}`, log: ctx.options.log, progress });
          const base = predict(model, test);
          const shifts = [{ direction: 'none', magnitude: 0, accuracy: accuracyOf(base, test.labels), consistency: 1 }];
          for (const d of DIRECTIONS) {
            for (const k of magnitudes.slice(1)) {
              const pred = predict(model, test, { transform: translate(d.dy * k, d.dx * k) });
              shifts.push({ direction: d.name, magnitude: k, accuracy: accuracyOf(pred, test.labels), consistency: accuracyOf(pred, base) });
            }
          }
          return { result: { variant: v.name, seed, params: model.numParameters(), validationAccuracy: o.bestValidationAccuracy, epochs: o.epochsRun, bestEpoch: o.bestEpoch, seconds: o.seconds, shifts }, seconds: o.seconds };
        }, { epochsRun: (r) => r.epochs });
        const shifts = result.shifts;
        results.push(result);
        ctx.options.log(`  ${v.name} seed=${seed}: accuracy ${pct(shifts[0]!.accuracy)}, consistency at ${p.maxShift}px ${pct(shifts.filter((s) => s.magnitude === p.maxShift).reduce((a, s) => a + s.consistency, 0) / DIRECTIONS.length)}`);
      }
    }
    const avg = (variant: PoolingVariant, k: number, key: 'accuracy' | 'consistency'): number => {
      const vals = results.filter((r) => r.variant === variant).flatMap((r) => r.shifts.filter((s) => s.magnitude === k).map((s) => s[key]));
      return vals.reduce((a, b) => a + b, 0) / vals.length;
    };
    const minOver = (variant: PoolingVariant, k: number, key: 'accuracy' | 'consistency'): number =>
      Math.min(...results.filter((r) => r.variant === variant).flatMap((r) => r.shifts.filter((s) => s.magnitude === k).map((s) => s[key])));
    for (const key of ['consistency', 'accuracy'] as const) {
      ctx.output.text(`pooling/${key}.svg`, lineChart({
        title: key === 'consistency' ? 'Prediction consistency under shifts (mean over 8 directions)' : 'Test accuracy under shifts (mean over 8 directions)',
        xLabel: 'shift (pixels; diagonal shifts move k pixels on both axes)', yLabel: key === 'consistency' ? 'same prediction as unshifted' : 'test accuracy',
        series: POOLING_VARIANTS.map((v) => ({ name: v.name, points: magnitudes.map((k) => ({ x: k, y: avg(v.name, k, key), lo: minOver(v.name, k, key), hi: avg(v.name, k, key) })) })),
      }));
    }
    const rows = POOLING_VARIANTS.map((v) => [
      v.name, v.what, count(results.find((r) => r.variant === v.name)!.params),
      ...magnitudes.map((k) => `${pct(avg(v.name, k, 'accuracy'))} / ${pct(avg(v.name, k, 'consistency'))}`),
      pct(minOver(v.name, 1, 'consistency')),
    ]);
    const metrics: Metrics = {};
    for (const r of results) {
      for (const k of magnitudes) {
        const at = r.shifts.filter((x) => x.magnitude === k);
        (metrics[`${r.variant} accuracy ${k}px`] ??= []).push(at.reduce((a, x) => a + x.accuracy, 0) / at.length);
        (metrics[`${r.variant} consistency ${k}px`] ??= []).push(at.reduce((a, x) => a + x.consistency, 0) / at.length);
        (metrics[`${r.variant} worst consistency ${k}px`] ??= []).push(Math.min(...at.map((x) => x.consistency)));
      }
    }
    const judgement = judgePooling(metrics);
    const below = POOLING_VARIANTS.filter((v) => magnitudes.slice(1).some((k) => minOver(v.name, k, 'consistency') < 1));
    const allBelow = below.length === POOLING_VARIANTS.length;
    const oneMin = Math.min(...POOLING_VARIANTS.map((v) => minOver(v.name, 1, 'consistency')));
    const md = [
      `Accuracy / consistency (mean over the 8 directions) per shift, on ${count(test.length)} test images; last column: the worst direction at 1 pixel.`,
      '',
      markdownTable(['model', 'downsampling', 'parameters', ...magnitudes.map((k) => `${k} px`), 'worst 1-px consistency'], rows),
      '',
      `- Consistency falls below 100% at some shift for ${below.length} of ${POOLING_VARIANTS.length} models${below.length ? ` (${below.map((v) => v.name).join(', ')})` : ''}; the lowest consistency at a 1-pixel shift, over models and directions, is ${pct(oneMin)}.${allBelow ? ' No variant is shift-invariant.' : ''}`,
      '- Accuracy falls off gradually with the shift size: robustness, measured. The models were trained without shift augmentation, so this is what the architecture alone gives.',
      '',
      '![consistency](pooling/consistency.svg)',
      '',
      '![accuracy](pooling/accuracy.svg)',
    ].join('\n');
    return {
      verdict: judgement.verdict,
      summary: judgement.summary,
      protocol: `Four models trained on ${count(train.length)} images of the training part of the validation split, validation on ${count(validation.length)} of the ${count(split.validation.length)} held-out training images, ${describeBudget(p.budget)}, seeds ${seeds.join(', ')}, no augmentation; ${count(test.length)} test images shifted by 0-${p.maxShift} px in 8 directions with black fill, read once after training.`,
      markdown: md,
      results: { magnitudes, directions: DIRECTIONS, runs: results },
      metrics,
    };
  },
};
