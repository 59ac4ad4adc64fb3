/**
 * Running experiments (browser-safe): `runExperiment` times one experiment, records the files it wrote and
 * writes `NAME.json`; `runExperiments` runs several in order (sharing trained models through `ctx.cache`) and
 * writes the report `LAB.md`.
 */
import type { Experiment, ExperimentRecord, LabContext, LabOutput } from './types.js';
import { renderReport } from './report.js';
import { exportProtocol } from './export.js';
import { emptyTally, encodeRunJson, planDigest, RUN_FORMAT } from './resume.js';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Wrap an output so the names it writes are recorded. */
function recording(output: LabOutput, files: string[]): LabOutput {
  return {
    text: (name, content) => { files.push(name); output.text(name, content); },
    image: (name, picture) => { files.push(name); output.image(name, picture); },
  };
}

/**
 * Digest of everything `experiment` runs at the context's scale and seeds (its part of `convkit lab protocol`,
 * with the exact images): two records with the same digest come from the same plan.
 */
export async function experimentPlanDigest(experiment: Experiment, ctx: LabContext): Promise<string> {
  const plan = exportProtocol((await ctx.data()).train, ctx.options.scale, ctx.options.seeds).experiments as Record<string, unknown>;
  return planDigest({ format: RUN_FORMAT, scale: ctx.options.scale, experiment: experiment.name, plan: plan[experiment.name] ?? null });
}

export async function runExperiment(experiment: Experiment, ctx: LabContext): Promise<ExperimentRecord> {
  const digest = await experimentPlanDigest(experiment, ctx);
  const previous = ctx.previous?.(experiment.name);
  if (previous && previous.planDigest === digest && previous.scale === ctx.options.scale) {
    ctx.options.log(`lab ${experiment.name}: kept the finished record of ${previous.startedAt} (same plan ${digest}): ${previous.verdict}`);
    return previous;
  }
  const files: string[] = [];
  const seeds = ctx.options.seeds ?? experiment.defaultSeeds[ctx.options.scale];
  const startedAt = new Date().toISOString();
  ctx.options.log(`lab ${experiment.name}: ${experiment.title} [${ctx.options.scale}]`);
  const t0 = now();
  const tally = emptyTally();
  const outcome = await experiment.run({ ...ctx, output: recording(ctx.output, files), runTally: tally });
  const data = await ctx.data();
  const record: ExperimentRecord = {
    name: experiment.name, index: experiment.index, title: experiment.title, claim: experiment.claim,
    command: ctx.command(experiment.name), scale: ctx.options.scale, seeds, backend: ctx.options.backend, data: data.description,
    seconds: (now() - t0) / 1000, startedAt, files: [...files, `${experiment.name}.json`], ...outcome,
    ...(tally.made + tally.loaded > 0 ? { runs: tally } : {}), planDigest: digest,
  };
  ctx.output.text(`${experiment.name}.json`, encodeRunJson(record) + '\n');
  ctx.options.log(`lab ${experiment.name}: ${record.verdict} (${record.seconds.toFixed(0)} s) - ${record.summary}`);
  return record;
}

export interface LabRunSummary {
  records: ExperimentRecord[];
  failures: { name: string; error: string }[];
  seconds: number;
}

/**
 * Run `experiments` in order and write `LAB.md`. A failing experiment is reported (in the log and in LAB.md)
 * and the others still run.
 */
export async function runExperiments(experiments: readonly Experiment[], ctx: LabContext, reportCommand: string): Promise<LabRunSummary> {
  const t0 = now();
  const records: ExperimentRecord[] = [];
  const failures: { name: string; error: string }[] = [];
  for (const e of experiments) {
    try {
      records.push(await runExperiment(e, ctx));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      failures.push({ name: e.name, error: message });
      ctx.options.log(`lab ${e.name}: FAILED - ${message}`);
    }
  }
  const seconds = (now() - t0) / 1000;
  const data = await ctx.data();
  ctx.output.text('LAB.md', renderReport({ records, failures, seconds, command: reportCommand, scale: ctx.options.scale, backend: ctx.options.backend, data: data.description, ...(ctx.options.pytorch ? { pytorch: ctx.options.pytorch } : {}), ...(ctx.options.pytorchDir !== undefined ? { pytorchDir: ctx.options.pytorchDir } : {}) }));
  return { records, failures, seconds };
}
