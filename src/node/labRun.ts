/**
 * Run lab experiments from Node: real Fashion-MNIST from disk (see src/node/datasets.ts for where it is
 * found), files written under an output folder (SVG and JSON as text, pictures as PNG), `LAB.md` for a run of
 * several experiments.
 *
 * @example
 * await runLab({ experiments: ['equivariance'], scale: 'quick', outDir: 'lab-quick', backend: 'wasm (2 threads)' });
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { writeFileAtomicSync } from './atomic.js';
import { decodeRunJson, encodeRunJson } from '../lab/resume.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { loadBuiltinDataset, type DatasetSourceOptions } from './datasets.js';
import { encodePng } from './vizPng.js';
import { EXPERIMENTS, findExperiment } from '../lab/experiments/index.js';
import { runExperiment, runExperiments } from '../lab/runner.js';
import { reportFromRecords } from '../lab/report.js';
import { parsePytorchResult, type PytorchResult } from '../lab/pytorch.js';
import type { ExperimentRecord, LabContext, LabData, LabOutput, LabScale, RunProvenance, RunStore } from '../lab/types.js';

export interface RunLabOptions {
  /** Experiment names, or 'all' (runs every experiment and writes LAB.md). */
  experiments: readonly string[] | 'all';
  scale: LabScale;
  seeds?: number;
  outDir: string;
  /** The output folder as the user wrote it (for the printed commands; default outDir). */
  displayOutDir?: string;
  /** Description of the active backend (for the report). */
  backend: string;
  /** The backend alone, e.g. 'native (avx2, 2 threads)', recorded with every stored run (default `backend`). */
  backendName?: string;
  log?: (message: string) => void;
  /** Where the data comes from (default: Fashion-MNIST found by src/node/datasets.ts). */
  data?: () => Promise<LabData>;
  dataOptions?: DatasetSourceOptions;
  /** Folder of PyTorch's results (NAME.json from tools/lab_NAME.py) for the report (default: outDir/pytorch). */
  pytorchDir?: string;
  /**
   * Go on from an earlier, interrupted run in the same outDir: keep finished experiments (NAME.json with the same
   * plan) and finished training runs (outDir/runs/EXPERIMENT/KEY.json with the same protocol). Without it every
   * run is made again (and still stored, so a later --resume can pick up).
   */
  resume?: boolean;
}

/** The commit of the code that is running (`+changes` when tracked files differ from it), or 'unknown' without git. */
export function sourceCommit(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

/**
 * A RunStore in `dir` (one file per run: dir/EXPERIMENT/KEY.json, written atomically, so a run stopped at any
 * moment leaves either the whole file or none). `read` false: runs are saved but never loaded.
 * An unfinished run's progress goes to dir/EXPERIMENT/KEY.progress.safetensors (its arrays, with the protocol and
 * the JSON state in the metadata), also written atomically, and is removed when the run is saved.
 */
export function fileRunStore(dir: string, backend: string, read: boolean, commit: string = sourceCommit(), log: (message: string) => void = () => {}): RunStore {
  const stem = (experiment: string, key: string): string => join(dir, experiment, key.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const fileOf = (experiment: string, key: string): string => `${stem(experiment, key)}.json`;
  const progressFileOf = (experiment: string, key: string): string => `${stem(experiment, key)}.progress.safetensors`;
  return {
    loadProgress(experiment, key, protocol) {
      const file = progressFileOf(experiment, key);
      if (!read || !existsSync(file)) return undefined;
      try {
        const { tensors, metadata } = decodeSafetensors(readFileSync(file), { fileName: file, allowNonFinite: true });
        if (metadata['protocol'] !== encodeRunJson(protocol)) return undefined;
        const arrays: Record<string, Float32Array> = {};
        for (const [name, t] of tensors) arrays[name] = t.data;
        return { state: decodeRunJson(metadata['state'] ?? 'null'), arrays };
      } catch (e) {
        log(`  ${key}: the kept progress ${file} cannot be read (${(e as Error).message}); the run starts over`);
        return undefined;
      }
    },
    saveProgress(experiment, key, protocol, progress) {
      const file = progressFileOf(experiment, key);
      mkdirSync(dirname(file), { recursive: true });
      const tensors = Object.fromEntries(Object.entries(progress.arrays).map(([name, data]) => [name, { data, shape: [data.length] }]));
      writeFileAtomicSync(file, encodeSafetensors(tensors, { protocol: encodeRunJson(protocol), state: encodeRunJson(progress.state) }, { fileName: file }));
    },
    load(experiment, key, protocol, accept) {
      const file = fileOf(experiment, key);
      if (!read || !existsSync(file)) return undefined;
      let stored: { protocol?: unknown; result?: unknown; seconds?: unknown; provenance?: RunProvenance };
      try {
        stored = decodeRunJson(readFileSync(file, 'utf8')) as typeof stored;
      } catch (e) {
        log(`  ${key}: the stored run ${file} cannot be read (${(e as Error).message}); it is made again and overwritten`);
        return undefined;
      }
      if (typeof stored.seconds !== 'number' || !stored.provenance) return undefined;
      if (JSON.stringify(stored.protocol) !== JSON.stringify(protocol) && !accept?.(stored.protocol, stored.result)) return undefined;
      return { result: stored.result, seconds: stored.seconds, provenance: stored.provenance };
    },
    save(experiment, key, protocol, result, seconds) {
      const provenance: RunProvenance = {
        madeAt: new Date().toISOString(),
        machine: `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`, load: Math.round(loadavg()[0]! * 10) / 10,
        backend, commit,
      };
      const file = fileOf(experiment, key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileAtomicSync(file, encodeRunJson({ protocol, seconds, provenance, result }) + '\n');
      rmSync(progressFileOf(experiment, key), { force: true });
      return provenance;
    },
  };
}

/** The NAME.json records in `dir` by experiment name (unreadable ones left out). */
function readRecords(dir: string): Map<string, ExperimentRecord> {
  const out = new Map<string, ExperimentRecord>();
  for (const e of EXPERIMENTS) {
    const file = join(dir, `${e.name}.json`);
    if (!existsSync(file)) continue;
    try {
      out.set(e.name, decodeRunJson(readFileSync(file, 'utf8')) as ExperimentRecord);
    } catch {
      /* made again */
    }
  }
  return out;
}

/** The PyTorch results in `dir` (NAME.json per experiment), checked; an absent folder gives none. */
export function readPytorchResults(dir: string): Record<string, PytorchResult> {
  const out: Record<string, PytorchResult> = {};
  for (const e of EXPERIMENTS) {
    const file = join(dir, `${e.name}.json`);
    if (existsSync(file)) out[e.name] = parsePytorchResult(JSON.parse(readFileSync(file, 'utf8')), file);
  }
  return out;
}

/** A LabOutput writing files under `dir` (folders created as needed). */
export function fileOutput(dir: string): LabOutput {
  const write = (name: string, bytes: string | Buffer): void => {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  };
  return {
    text: (name, content) => write(name, content),
    image: (name, picture) => write(name, encodePng(picture)),
  };
}

/** Fashion-MNIST train and test splits, loaded once. */
export function fashionMnistLoader(options: DatasetSourceOptions = {}): () => Promise<LabData> {
  let loaded: Promise<LabData> | null = null;
  return () => {
    loaded ??= (async () => {
      const train = await loadBuiltinDataset('fashion-mnist', { ...options, split: 'train' });
      const test = await loadBuiltinDataset('fashion-mnist', { ...options, split: 'test' });
      const where = train.source.location ? ` from ${train.source.location}` : '';
      return { train, test, description: `Fashion-MNIST ${train.length.toLocaleString('en-US')} train / ${test.length.toLocaleString('en-US')} test images (${train.source.kind}${where})` };
    })();
    return loaded;
  };
}

/** The command line that reproduces a run. */
export function labCommand(name: string, scale: LabScale, seeds: number | undefined, outDir: string, resume = false): string {
  return `convkit lab ${name}${scale === 'quick' ? ' --quick' : scale === 'smoke' ? ' --smoke' : ''}${seeds !== undefined ? ` --seeds ${seeds}` : ''} --out ${outDir}${resume ? ' --resume' : ''}`;
}

export interface RunLabResult {
  records: ExperimentRecord[];
  failures: { name: string; error: string }[];
  seconds: number;
  outDir: string;
}

export async function runLab(o: RunLabOptions): Promise<RunLabResult> {
  const outDir = resolve(o.outDir);
  mkdirSync(outDir, { recursive: true });
  const names = o.experiments === 'all' ? EXPERIMENTS.map((e) => e.name) : o.experiments;
  const experiments = names.map((n) => {
    const e = findExperiment(n);
    if (!e) throw new Error(`lab: unknown experiment '${n}' (experiments: ${EXPERIMENTS.map((x) => x.name).join(', ')}, all)`);
    return e;
  });
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const ctx: LabContext = {
    options: {
      scale: o.scale, ...(o.seeds !== undefined ? { seeds: o.seeds } : {}), log, backend: o.backend,
      pytorch: readPytorchResults(o.pytorchDir ?? join(outDir, 'pytorch')), pytorchDir: relative(outDir, o.pytorchDir ?? join(outDir, 'pytorch')),
    },
    data: o.data ?? fashionMnistLoader(o.dataOptions),
    output: fileOutput(outDir),
    command: (name) => labCommand(name, o.scale, o.seeds, o.displayOutDir ?? o.outDir, o.resume),
    cache: new Map(),
    runs: fileRunStore(join(outDir, 'runs'), o.backendName ?? o.backend, o.resume === true, undefined, log),
  };
  if (o.resume) {
    const previous = readRecords(outDir);
    ctx.previous = (name) => previous.get(name);
  }
  if (o.experiments === 'all' || experiments.length > 1) {
    const r = await runExperiments(experiments, ctx, labCommand(o.experiments === 'all' ? 'all' : names.join(' '), o.scale, o.seeds, o.displayOutDir ?? o.outDir, o.resume));
    return { ...r, outDir };
  }
  const t0 = performance.now();
  const record = await runExperiment(experiments[0]!, ctx);
  return { records: [record], failures: [], seconds: (performance.now() - t0) / 1000, outDir };
}

/**
 * Rebuild `LAB.md` in `outDir` from the `NAME.json` files there (for runs split over several processes or
 * commands), with `DISCUSSION.md` from the same folder (if present) after the summary table. Returns the
 * experiments found.
 */
export function rebuildReport(outDir: string, notes: readonly string[] = [], pytorchDir?: string): ExperimentRecord[] {
  const dir = resolve(outDir);
  const records = [...readRecords(dir).values()];
  const discussionFile = join(dir, 'DISCUSSION.md');
  const discussion = existsSync(discussionFile) ? readFileSync(discussionFile, 'utf8') : undefined;
  const torchDir = pytorchDir ?? join(dir, 'pytorch');
  writeFileSync(join(dir, 'LAB.md'), reportFromRecords(records, notes, discussion, readPytorchResults(torchDir), relative(dir, torchDir)));
  return records;
}
