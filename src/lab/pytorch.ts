/**
 * The PyTorch side by side (browser-safe): the results a tools/lab_NAME.py script wrote (lab/pytorch/NAME.json,
 * the same protocol and metric names run in PyTorch), checked on reading, and the report section that sets them
 * beside convkit's: per metric both means with their 95 % intervals and whether the intervals overlap, and the
 * verdict each implementation's numbers imply (the experiment's own `judge`, applied to each).
 */
import { interval95, intervalsOverlap, markdownTable, pct, sci, spread, type Interval95 } from './stats.js';
import type { Experiment, ExperimentRecord, Judgement, LabScale, Metrics } from './types.js';

export interface PytorchResult {
  experiment: string;
  scale: LabScale;
  seeds: number[];
  /** The same metric names as convkit's record, one value per seed. */
  metrics: Metrics;
  /** e.g. "/usr/bin/python3 tools/lab_shuffle.py --scale full". */
  command: string;
  /** PyTorch's version, threads and the CPU, as the script found them. */
  torch: string;
  machine: string;
  seconds: number;
  startedAt: string;
}

const SCALES: readonly LabScale[] = ['full', 'quick', 'smoke'];

/** Check a parsed lab/pytorch/NAME.json; errors name the file and the field. */
export function parsePytorchResult(json: unknown, file: string): PytorchResult {
  const fail = (what: string): never => { throw new Error(`lab: ${file}: ${what} (written by tools/lab_*.py; rerun the script)`); };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('expected a JSON object');
  const o = json as Record<string, unknown>;
  for (const k of ['experiment', 'command', 'torch', 'machine', 'startedAt'] as const) if (typeof o[k] !== 'string') fail(`"${k}" must be a string`);
  if (!SCALES.includes(o['scale'] as LabScale)) fail(`"scale" must be one of ${SCALES.join(', ')}, got ${JSON.stringify(o['scale'])}`);
  if (typeof o['seconds'] !== 'number') fail('"seconds" must be a number');
  if (!Array.isArray(o['seeds']) || !o['seeds'].every((s) => Number.isInteger(s))) fail('"seeds" must be a list of integers');
  const m = o['metrics'];
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('"metrics" must be an object of name -> per-seed values');
  const metrics: Metrics = Object.create(null) as Metrics;
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(`metric "${k}" must be a non-empty list of finite numbers`);
    metrics[k] = v as number[];
  }
  return {
    experiment: o['experiment'] as string, scale: o['scale'] as LabScale, seeds: o['seeds'] as number[], metrics,
    command: o['command'] as string, torch: o['torch'] as string, machine: o['machine'] as string, seconds: o['seconds'] as number, startedAt: o['startedAt'] as string,
  };
}

export type Agreement = 'agree' | 'disagree' | 'no interval';

/** Whether convkit's and PyTorch's values of one metric differ beyond seed noise (non-overlapping 95 % intervals). */
export function agreement(a: readonly number[], b: readonly number[]): { convkit: Interval95; pytorch: Interval95; agreement: Agreement } {
  const convkit = interval95(a);
  const pytorch = interval95(b);
  const overlap = intervalsOverlap(convkit, pytorch);
  return { convkit, pytorch, agreement: overlap === undefined ? 'no interval' : overlap ? 'agree' : 'disagree' };
}

/** Accuracies print as percentages, losses as plain numbers, errors (`... error ...`) in scientific notation. */
function formatMetric(name: string, i: Interval95): string {
  const isLoss = / loss$/.test(name);
  const isError = / error /.test(name);
  const f = (x: number): string => (isError ? sci(x) : isLoss ? x.toFixed(3) : (x * 100).toFixed(1));
  if (!Number.isFinite(i.mean)) return '-';
  const mean = isLoss || isError ? f(i.mean) : pct(i.mean);
  return Number.isFinite(i.halfWidth) ? `${mean} [${f(i.lo)}, ${f(i.hi)}]` : mean;
}

export interface SideBySide {
  markdown: string;
  /** Metrics whose 95 % intervals do not overlap. */
  disagreements: string[];
  convkit?: Judgement;
  pytorch?: Judgement;
}

/**
 * The report section comparing `record` (convkit) with `torch` (PyTorch) for `experiment`. Different scales are
 * not compared: the section says which file holds which scale instead.
 */
export function sideBySide(experiment: Experiment | undefined, record: ExperimentRecord, torch: PytorchResult, file: string): SideBySide {
  const head = `**Side by side with PyTorch** (\`${torch.command}\`; ${torch.torch}; ${torch.machine}; ${Math.round(torch.seconds)} s; results in \`${file}\`).`;
  if (torch.scale !== record.scale) {
    return { markdown: `${head} Not compared: those PyTorch numbers are at the ${torch.scale} scale, these at the ${record.scale} scale.`, disagreements: [] };
  }
  const ours = record.metrics ?? {};
  const order = experiment?.metricOrder?.(ours) ?? Object.keys(ours);
  const names = order.filter((n) => ours[n] && torch.metrics[n]);
  const missing = order.filter((n) => ours[n] && !torch.metrics[n]);
  const disagreements: string[] = [];
  const rows = names.map((n) => {
    const a = agreement(ours[n]!, torch.metrics[n]!);
    if (a.agreement === 'disagree') disagreements.push(n);
    const word = a.agreement === 'disagree' ? '**disagree**' : a.agreement;
    return [n, formatMetric(n, a.convkit), formatMetric(n, a.pytorch), `${(ours[n]!.length)} / ${torch.metrics[n]!.length}`, word];
  });
  const convkit = experiment?.judge?.(ours);
  const pytorch = experiment?.judge?.(torch.metrics);
  const lines = [
    head,
    '',
    markdownTable(['metric', 'convkit: mean [95 % interval]', 'PyTorch: mean [95 % interval]', 'seeds', 'beyond seed noise?'], rows),
    '',
  ];
  if (convkit && pytorch) {
    lines.push(`- Verdict from convkit's numbers: **${convkit.verdict}**; from PyTorch's: **${pytorch.verdict}**${convkit.verdict === pytorch.verdict ? ' (the same).' : '. The two implementations imply different verdicts.'}`);
    lines.push(`- PyTorch: ${pytorch.summary}`);
  }
  const withInterval = names.filter((n) => agreement(ours[n]!, torch.metrics[n]!).agreement !== 'no interval');
  lines.push(disagreements.length
    ? `- The implementations disagree beyond seed noise (95 % intervals that do not overlap) on ${disagreements.length} of ${names.length} metrics: ${disagreements.join('; ')}. Both ran the protocol printed above on the same images; see lab/DISCUSSION.md for what differs between them.`
    : withInterval.length === 0
      ? '- One seed on a side: no 95 % interval, so nothing can be said about seed noise.'
      : `- No metric differs beyond seed noise (the 95 % intervals overlap for all ${withInterval.length} metrics with several seeds on both sides).`);
  if (missing.length) lines.push(`- Not in the PyTorch results: ${missing.join(', ')}.`);
  const spreadNote = names.length ? ` The interval is mean ± t(0.975, n-1) · sd / √n (t = 4.303 for 3 seeds); ${names.filter((n) => spread(ours[n]!).n < 2).length ? 'a metric with one seed has no interval.' : 'every metric has one value per seed.'}` : '';
  lines.push(`-${spreadNote || ' No common metric.'}`);
  return { markdown: lines.join('\n'), disagreements, ...(convkit ? { convkit } : {}), ...(pytorch ? { pytorch } : {}) };
}
