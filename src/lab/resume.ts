/**
 * Resuming a long lab run (browser-safe): every training run of an experiment (one model, one training-set
 * size, one seed) is a unit of work whose result can be kept in a `RunStore` and loaded again instead of
 * retrained, when it was made with exactly the same protocol. A converged `lab all` takes hours; with
 * `convkit lab all --resume` a run that was stopped (a closed laptop, a session that ended) goes on from the
 * last finished training run, and the report says which runs were made when, where and at which commit.
 *
 * The protocol of a run is a JSON value built by the experiment from everything the run depends on (budget,
 * model, images, seed, evaluation sizes) plus `RUN_FORMAT`; a stored run with a different protocol is ignored
 * and made again. Bump `RUN_FORMAT` when a change alters what a run computes without changing that value.
 */
import type { LabContext, ProgressSlot, RunProvenance, RunTally } from './types.js';

/** Part of every run's protocol: bump it when a change alters results without changing the protocol. */
export const RUN_FORMAT = 'convkit-lab-run/1';

/** JSON that keeps NaN and +-Infinity (as the strings "NaN", "Infinity", "-Infinity"). */
export function encodeRunJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1);
}

/** The inverse of `encodeRunJson`. */
export function decodeRunJson(text: string): unknown {
  return JSON.parse(text, (_, v: unknown) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v));
}

/** A short stable digest of a JSON-able value (FNV-1a, 64-bit as two 32-bit halves, hex): names a plan, not a secret. */
export function planDigest(value: unknown): string {
  const text = JSON.stringify(value);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** An empty tally. */
export function emptyTally(): RunTally {
  return { made: 0, loaded: 0, trainingSeconds: 0, sources: [] };
}

function addProvenance(tally: RunTally, p: RunProvenance): void {
  const s = tally.sources.find((q) => q.commit === p.commit && q.machine === p.machine && q.backend === p.backend);
  if (!s) {
    tally.sources.push({ machine: p.machine, backend: p.backend, commit: p.commit, runs: 1, first: p.madeAt, last: p.madeAt, maxLoad: p.load });
    return;
  }
  s.runs++;
  if (p.madeAt < s.first) s.first = p.madeAt;
  if (p.madeAt > s.last) s.last = p.madeAt;
  s.maxLoad = Math.max(s.maxLoad, p.load);
}

/** Options of `storedRun`. */
export interface StoredRunOptions<T> {
  /**
   * The epochs a stored result trained for. Given only by an experiment whose run protocol holds an early-stopping
   * epoch budget as `budget` (see `sameRunUnderOtherCap`): a stored run that stopped early under another epoch cap
   * is then loaded too.
   */
  epochsRun?: (result: T) => number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Whether a run stored with the full run protocol `stored` is exactly the run that `wanted` asks for although
 * the two differ in their epoch cap (`protocol.budget.epochs`) and nothing else. Training is deterministic, and
 * a run with early stopping that stopped at epoch k before its cap stops at epoch k under every cap >= k: the
 * validation checks, the data order and the weights up to epoch k do not depend on the cap. That holds when the
 * learning rate does not depend on the length of the run, so a budget with a cosine decay (whose schedule is
 * stretched over the cap) never matches. Raising a cap therefore re-trains only the runs the old cap cut short.
 */
export function sameRunUnderOtherCap(stored: unknown, wanted: unknown, epochsRun: number): boolean {
  if (!isRecord(stored) || !isRecord(wanted) || !isRecord(stored.protocol) || !isRecord(wanted.protocol)) return false;
  const a = stored.protocol.budget;
  const b = wanted.protocol.budget;
  if (!isRecord(a) || !isRecord(b) || typeof a.epochs !== 'number' || typeof b.epochs !== 'number') return false;
  if (!b.earlyStopping || !isRecord(b.optimizer) || b.optimizer.cosine) return false;
  if (!Number.isInteger(epochsRun) || epochsRun < 1 || epochsRun >= a.epochs || epochsRun > b.epochs) return false;
  const withCap = { ...stored, protocol: { ...stored.protocol, budget: { ...a, epochs: b.epochs } } };
  return JSON.stringify(withCap) === JSON.stringify(wanted);
}

/**
 * The result of training run `key` of `experiment`: loaded from `ctx.runs` when it holds one made with exactly
 * `protocol`, otherwise computed by `make` (which returns the result and its training seconds) and stored.
 * Without a store, `make` runs. Counts go to `ctx.runTally` (which the runner puts in the experiment's record).
 * With `options.epochsRun`, a stored run that stopped early under another epoch cap is loaded as well.
 * `make` gets the run's progress slot where the store keeps progress (give it to trainEpochs as `progress`): a run
 * stopped in the middle then goes on from its last kept epoch instead of starting over.
 */
export function storedRun<T>(ctx: LabContext, experiment: string, key: string, protocol: unknown, make: (progress: ProgressSlot | undefined) => { result: T; seconds: number }, options: StoredRunOptions<T> = {}): T {
  const tally = ctx.runTally ?? emptyTally();
  const full = { format: RUN_FORMAT, experiment, key, protocol };
  const { epochsRun } = options;
  const accept = epochsRun ? (storedProtocol: unknown, result: unknown): boolean => sameRunUnderOtherCap(storedProtocol, full, epochsRun(result as T)) : undefined;
  const stored = ctx.runs?.load(experiment, key, full, accept);
  if (stored) {
    tally.loaded++;
    tally.trainingSeconds += stored.seconds;
    addProvenance(tally, stored.provenance);
    ctx.options.log(`  ${key}: loaded the run made ${stored.provenance.madeAt} (${stored.provenance.machine}, commit ${stored.provenance.commit})`);
    return stored.result as T;
  }
  const runs = ctx.runs;
  const progress: ProgressSlot | undefined = runs?.loadProgress && runs.saveProgress
    ? { load: () => runs.loadProgress!(experiment, key, full), save: (p) => runs.saveProgress!(experiment, key, full, p) }
    : undefined;
  const { result, seconds } = make(progress);
  tally.made++;
  tally.trainingSeconds += seconds;
  const provenance = ctx.runs?.save(experiment, key, full, result, seconds);
  if (provenance) addProvenance(tally, provenance);
  return result;
}
