/** `convkit lab`: run the experiments that measure the design claims about CNNs (see src/lab). */
import { defineCommand } from '../command.js';
import { intOption, stringOption } from '../options.js';
import { UsageError } from '../errors.js';
import { BACKEND_OPTIONS, backendOption, threadsOption, selectBackend } from '../runtime.js';
import { EXPERIMENTS } from '../../lab/experiments/index.js';
import { fashionMnistLoader, rebuildReport, runLab } from '../../node/labRun.js';
import { exportProtocol } from '../../lab/export.js';
import { estimate, measureSpeed, planRuns, renderEstimate } from '../../lab/estimate.js';
import { labSplit } from '../../lab/split.js';
import type { LabScale } from '../../lab/types.js';
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export default defineCommand({
  name: 'lab',
  order: 60,
  summary: 'measure why CNNs work: equivariance, locality, weight sharing, pooling, depth (writes LAB.md)',
  usage: 'convkit lab NAME... | all | report | protocol | estimate [--quick] [--seeds N] [--out DIR]',
  description: [
    'Experiments: ' + EXPERIMENTS.map((e) => `${e.name} (${e.index})`).join(', ') + '; `all` runs them in order and writes LAB.md.',
    'Each writes NAME.json and its figures (SVG, PNG) under --out. --quick runs a few-minute version on small subsets.',
    '`convkit lab report --out DIR` rebuilds DIR/LAB.md from the NAME.json files there (e.g. after runs in separate processes).',
    'PyTorch results of the same protocol (tools/lab_NAME.py, in --pytorch DIR, default OUT/pytorch) are set beside convkit\'s in LAB.md.',
    '`convkit lab protocol [--quick] [--json FILE]` writes the protocol with the exact image indices for tools/lab_*.py.',
    '`convkit lab estimate [--quick]` measures each model\'s images/s here and estimates how long `lab all` takes.',
    'Every finished training run is kept in OUT/runs/EXPERIMENT/KEY.json; after an interruption, the same command with --resume goes on from there.',
  ].join('\n'),
  positionals: true,
  options: {
    quick: { type: 'boolean', description: 'small subsets and budgets (a few minutes for all experiments)' },
    smoke: { type: 'boolean', description: 'tiny budgets (seconds; for tests: checks the machinery, numbers mean nothing)' },
    seeds: { type: 'string', valueName: 'N', description: 'seeds 0..N-1 for experiments that repeat runs', defaultText: 'per experiment (3 for ablation, ablation-long, shuffle and depth)' },
    out: { type: 'string', valueName: 'DIR', description: 'output folder', defaultText: 'lab' },
    data: { type: 'string', valueName: 'DIR', description: 'folder with the Fashion-MNIST IDX files' },
    ...BACKEND_OPTIONS,
    note: { type: 'string', valueName: 'TEXT', description: 'lab report: a line to add to the report header' },
    pytorch: { type: 'string', valueName: 'DIR', description: 'folder of PyTorch results (NAME.json) for the report', defaultText: 'OUT/pytorch' },
    json: { type: 'string', valueName: 'FILE', description: 'lab protocol: write the JSON here instead of standard output' },
    steps: { type: 'string', valueName: 'N', description: 'lab estimate: training steps timed per model', defaultText: '4' },
    resume: { type: 'boolean', description: 'go on from an interrupted run in --out: keep its finished experiments and training runs (OUT/runs) made with the same protocol' },
  },
  examples: ['convkit lab equivariance --quick', 'convkit lab ablation --seeds 3 --out lab', 'convkit lab all --out lab', 'convkit lab all --out lab --resume', 'convkit lab estimate', 'convkit lab protocol --json /tmp/protocol.json'],
  async run({ args, err, out, cwd, env }) {
    const v = args.values;
    const names = args.positionals;
    if (names.length === 0) throw new UsageError(`lab: name an experiment (${EXPERIMENTS.map((e) => e.name).join(', ')}) or all`);
    const pytorchDir = stringOption(v, 'pytorch');
    if (names[0] === 'report') {
      if (names.length > 1) throw new UsageError('lab report: takes no experiment names (it reads every NAME.json in --out)');
      const dir = resolve(cwd, stringOption(v, 'out') ?? 'lab');
      const notes = typeof v['note'] === 'string' ? [v['note']] : [];
      const found = rebuildReport(dir, notes, pytorchDir !== undefined ? resolve(cwd, pytorchDir) : undefined);
      out.write(`wrote ${dir}/LAB.md from ${found.map((r) => r.name + '.json').join(', ')}\n`);
      return 0;
    }
    if (v['quick'] && v['smoke']) throw new UsageError('lab: --quick and --smoke exclude each other');
    const scaleOf = (): LabScale => (v['smoke'] ? 'smoke' : v['quick'] ? 'quick' : 'full');
    const dataDirOf = stringOption(v, 'data');
    const loadData = fashionMnistLoader(dataDirOf !== undefined ? { dataDir: resolve(cwd, dataDirOf) } : {});
    if (names[0] === 'protocol' || names[0] === 'estimate') {
      if (names.length > 1) throw new UsageError(`lab ${names[0]}: takes no experiment names (it covers every experiment)`);
      const seedCount = v['seeds'] === undefined ? undefined : intOption(v, 'seeds', 1, { min: 1, max: 100 });
      const data = await loadData();
      if (names[0] === 'protocol') {
        const json = JSON.stringify(exportProtocol(data.train, scaleOf(), seedCount)) + '\n';
        const file = stringOption(v, 'json');
        if (file === undefined) out.write(json);
        else {
          writeFileSync(resolve(cwd, file), json);
          err.write(`wrote the ${scaleOf()} protocol to ${file}\n`);
        }
        return 0;
      }
      const threadCount = v['threads'] === undefined ? undefined : intOption(v, 'threads', 1, { min: 1, max: 256 });
      const backendName = await selectBackend(backendOption(v, env), threadCount, (m) => err.write(m + '\n'));
      const split = labSplit(data.train);
      const plan = planRuns(scaleOf(), split.train.length, split.validation.length, seedCount);
      const steps = v['steps'] === undefined ? 4 : intOption(v, 'steps', 4, { min: 1, max: 1000 });
      const speeds = [];
      for (const key of [...new Set(plan.map((r) => `${r.model}@${r.batchSize}`))]) {
        const [model, batch] = key.split('@') as [string, string];
        const speed = measureSpeed(model, Number(batch), split.train, steps, 500);
        err.write(`${model} batch ${batch}: ${speed.trainImagesPerSecond.toFixed(0)} img/s training, ${speed.evalImagesPerSecond.toFixed(0)} img/s evaluation\n`);
        speeds.push(speed);
      }
      const machine = `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), ${backendName}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
      out.write(renderEstimate(estimate(plan, speeds), scaleOf(), machine) + '\n');
      return 0;
    }
    const all = names.includes('all');
    if (all && names.length > 1) throw new UsageError('lab: `all` runs every experiment; give it alone');
    for (const n of names) {
      if (n !== 'all' && !EXPERIMENTS.some((e) => e.name === n)) {
        throw new UsageError(`lab: unknown experiment '${n}' (experiments: ${EXPERIMENTS.map((e) => e.name).join(', ')}, all)`);
      }
    }
    const scale = scaleOf();
    const seeds = v['seeds'] === undefined ? undefined : intOption(v, 'seeds', 1, { min: 1, max: 100 });
    const outDir = stringOption(v, 'out') ?? 'lab';
    const dataDir = stringOption(v, 'data');
    const note = (m: string): void => { err.write(m + '\n'); };
    const threads = threadsOption(v);
    // The report prints the CPU and the load at the start beside every time (a shared machine's times are not an idle one's).
    const backendName = await selectBackend(backendOption(v, env), threads, note);
    const backend = `${backendName} on ${cpus()[0]?.model ?? 'an unknown CPU'} (${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the start)`;
    const result = await runLab({
      experiments: all ? 'all' : names, scale, ...(seeds !== undefined ? { seeds } : {}), outDir: resolve(cwd, outDir), displayOutDir: outDir, backend, backendName, log: note, resume: v['resume'] === true,
      ...(pytorchDir !== undefined ? { pytorchDir: resolve(cwd, pytorchDir) } : {}),
      ...(dataDir !== undefined ? { dataOptions: { dataDir: resolve(cwd, dataDir) } } : {}),
    });
    for (const r of result.records) out.write(`${r.index}. ${r.name}: ${r.verdict} - ${r.summary}\n`);
    for (const f of result.failures) out.write(`${f.name}: FAILED - ${f.error}\n`);
    out.write(`wrote ${result.outDir}${all || names.length > 1 ? '/LAB.md' : ''} (${result.seconds.toFixed(0)} s)\n`);
    return result.failures.length > 0 ? 1 : 0;
  },
});
