/**
 * The lab's contracts (browser-safe): what an experiment receives (`LabContext`: options, the data, where to
 * write files) and what it returns (`ExperimentOutcome`: a verdict, Markdown and JSON). The Node runner
 * (src/node/labRun.ts) provides a context that loads Fashion-MNIST from disk and writes PNG/SVG/JSON files; a
 * browser page can provide one that draws into canvases instead.
 */
import type { ImageDataset } from '../data/dataset.js';
import type { RgbaImage } from '../viz/image.js';
import type { PytorchResult } from './pytorch.js';

/**
 * How much compute an experiment spends: 'full' is the committed report's protocol, 'quick' a few-minute
 * smoke run of every experiment on a small subset, 'smoke' a seconds-long run for the test suite (mechanics
 * only, its numbers mean nothing).
 */
export type LabScale = 'full' | 'quick' | 'smoke';

export interface LabOptions {
  scale: LabScale;
  /** Number of seeds (0..seeds-1) for experiments that repeat runs; undefined: each experiment's default. */
  seeds?: number;
  /** Progress notes (stderr in the CLI). */
  log: (message: string) => void;
  /** The backend the numbers were measured on (shown in the report). */
  backend: string;
  /** PyTorch's results of the same protocol by experiment name (lab/pytorch/NAME.json), for the report. */
  pytorch?: Readonly<Record<string, PytorchResult>>;
  /** Where those were read from, relative to the report (default `pytorch`). */
  pytorchDir?: string;
}

/** Real Fashion-MNIST: training and test images (uint8 or float in [0, 1]) and where they came from. */
export interface LabData {
  train: ImageDataset;
  test: ImageDataset;
  /** e.g. "Fashion-MNIST 60,000/10,000 from /usr/share/datasets/fashion-mnist (debian)". */
  description: string;
}

/** Where an experiment writes its files (names are relative, e.g. `ablation/accuracy.svg`). */
export interface LabOutput {
  text(name: string, content: string): void;
  image(name: string, picture: RgbaImage): void;
}

export interface LabContext {
  options: LabOptions;
  data(): Promise<LabData>;
  output: LabOutput;
  /** The command line that reproduces this experiment's numbers (printed beside them). */
  command(experiment: string): string;
  /** Shared between the experiments of one `lab all` run (e.g. a trained model reused by two experiments). */
  cache: Map<string, unknown>;
  /** Finished training runs kept for resuming (src/lab/resume.ts); absent: every run is made. */
  runs?: RunStore;
  /** The current experiment's count of runs made and loaded (the runner sets it). */
  runTally?: RunTally;
  /**
   * Resuming: the record an earlier run of experiment `name` left (its NAME.json), if any. The runner keeps it
   * instead of running the experiment again when its plan digest equals the current plan's.
   */
  previous?(name: string): ExperimentRecord | undefined;
}

/** Where and when a stored training run was made. */
export interface RunProvenance {
  madeAt: string;
  /** CPU model and core count. */
  machine: string;
  /** The 1-minute load average when the run ended (a busy machine's times are not an idle one's). */
  load: number;
  backend: string;
  /** The source commit (`git rev-parse --short HEAD`, with `+changes` when the work tree differed), or 'unknown'. */
  commit: string;
}

/** Runs made with one machine, backend and commit: how many, when, and the highest load seen. */
export interface RunSource {
  machine: string;
  backend: string;
  commit: string;
  runs: number;
  first: string;
  last: string;
  maxLoad: number;
}

/** Finished training runs, by experiment and key, each with the exact protocol it was made with. */
export interface RunStore {
  /**
   * The run stored under `key`, if its protocol equals `protocol` (compared as JSON) or, when `accept` is given,
   * `accept(storedProtocol, storedResult)` says the stored run is the same run.
   */
  load(experiment: string, key: string, protocol: unknown, accept?: (storedProtocol: unknown, storedResult: unknown) => boolean): { result: unknown; seconds: number; provenance: RunProvenance } | undefined;
  /** Keep a finished run; returns the provenance it recorded. Drops the run's progress, if any was kept. */
  save(experiment: string, key: string, protocol: unknown, result: unknown, seconds: number): RunProvenance;
  /**
   * The progress an unfinished run made with exactly `protocol` kept (see RunProgress), if any. Optional: a store
   * without it (the browser's) makes every run from its start.
   */
  loadProgress?(experiment: string, key: string, protocol: unknown): RunProgress | undefined;
  /** Keep an unfinished run's progress, replacing what it kept before (a file write that a kill leaves whole or absent). */
  saveProgress?(experiment: string, key: string, protocol: unknown, progress: RunProgress): void;
}

/**
 * Where an unfinished training run stands at the end of an epoch: everything it needs to go on with the same bits
 * as if it had never stopped (weights, optimizer state, data order, random state, curves so far). `state` is JSON;
 * the float arrays go beside it by name.
 */
export interface RunProgress {
  state: unknown;
  arrays: Record<string, Float32Array>;
}

/** One run's progress in its store (storedRun hands it to the run's training loop). */
export interface ProgressSlot {
  load(): RunProgress | undefined;
  save(progress: RunProgress): void;
}

/** How many of an experiment's training runs were made now and how many loaded from a store. */
export interface RunTally {
  made: number;
  loaded: number;
  /** Training time of every run, made now or earlier (each on its own machine: see provenance). */
  trainingSeconds: number;
  /** The distinct machines, backends and commits the runs were made with. */
  sources: RunSource[];
}

export type Verdict = 'holds' | 'partly holds' | 'does not hold' | 'exact';

/**
 * The numbers a verdict is computed from, per seed, by name (e.g. `"vggsmall 1000 test"`: one test accuracy
 * per seed). An implementation-independent record: the PyTorch side (tools/lab_*.py) writes the same names, so
 * the same `judge` gives each implementation's verdict and the report can set them side by side.
 */
export type Metrics = Record<string, number[]>;

/** A verdict and the sentence behind it, computed from metrics alone. */
export interface Judgement {
  verdict: Verdict;
  summary: string;
}

/** What `run` returns; the runner adds timing, the command and the file list. */
export interface ExperimentOutcome {
  verdict: Verdict;
  /** One or two sentences: the measured answer to the claim. */
  summary: string;
  /** The protocol actually used (sizes, steps, seeds, batch, optimizer). */
  protocol: string;
  /** The body of the report section: tables, notes, figure links (relative to the output folder). */
  markdown: string;
  /** Everything measured, for `NAME.json`. */
  results: unknown;
  /** The per-seed numbers behind the verdict (experiments that train; see `Metrics`). */
  metrics?: Metrics;
}

export interface Experiment {
  /** CLI name: `convkit lab NAME`. */
  name: string;
  /** Number in the issue (1-7), for ordering. */
  index: number;
  title: string;
  /** The design claim being measured, as the textbooks state it. */
  claim: string;
  /** Default number of seeds at each scale. */
  defaultSeeds: Record<LabScale, number>;
  run(ctx: LabContext): Promise<ExperimentOutcome>;
  /** The verdict from metrics alone (experiments that train): applied to convkit's and to PyTorch's numbers. */
  judge?(metrics: Metrics): Judgement;
  /** Metric names in the order the side-by-side table lists them (default: the order in the metrics). */
  metricOrder?(metrics: Metrics): string[];
}

/** What the runner records for one experiment (and writes as `NAME.json`). */
export interface ExperimentRecord extends ExperimentOutcome {
  name: string;
  index: number;
  title: string;
  claim: string;
  command: string;
  scale: LabScale;
  seeds: number;
  backend: string;
  data: string;
  seconds: number;
  startedAt: string;
  files: string[];
  /** Training runs made in this process and loaded from a resumed run's store (experiments that train). */
  runs?: RunTally;
  /** Digest of the experiment's plan (protocol, seeds, images): `--resume` reuses a record with the same one. */
  planDigest?: string;
}
