/**
 * A fuzz child process (started by runFuzz in test/fuzz/harness.ts): builds one target's seed corpus, then for each
 * {type:'run', index} message writes mutant `index` to a fresh folder, runs the parser on it, classifies the outcome
 * and answers {type:'result', ...}. Also usable in-process through runCase (for reproducing one case).
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { Rng, type CaseResult } from './harness.js';
import { targetByName, type Target, type Tree } from './targets.js';

export function writeTree(dir: string, tree: Tree): void {
  mkdirSync(dir, { recursive: true });
  for (const [rel, v] of tree) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (v instanceof Uint8Array) writeFileSync(p, v);
    else if ('dir' in v) mkdirSync(p, { recursive: true });
    else symlinkSync(v.symlink, p);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.slice(0, 300)}`;
  return `non-Error thrown: ${String(err).slice(0, 100)}`;
}

/** Generate, write and run case `index` of a target whose seeds are built; `keep` leaves the case folder. */
export async function runCase(target: Target, seeds: unknown[], seed: number, index: number, work: string, keep = false): Promise<CaseResult & { dir: string }> {
  const notes: string[] = [];
  let tree: Tree;
  try {
    tree = target.mutate(seeds, Rng.forCase(seed, target.name, index), notes);
  } catch (err) {
    // A bug in the harness itself: reported, never counted as a pass.
    return { index, outcome: 'failure', notes, error: `harness: the mutator threw ${describe(err)}`, ms: 0, maxRss: process.memoryUsage.rss(), dir: '' };
  }
  const dir = join(work, `case-${index}`);
  rmSync(dir, { recursive: true, force: true });
  writeTree(dir, tree);
  let outcome: CaseResult['outcome'];
  let error: string | undefined;
  // Garbage of earlier cases must not count against this one: collect when the process has grown.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc && process.memoryUsage.rss() > 300 * 2 ** 20) gc();
  const peakBefore = process.resourceUsage().maxRSS;
  process.send?.({ type: 'started', index });
  const t0 = performance.now();
  try {
    const problem = await target.run(dir);
    if (problem === null) outcome = 'accepted';
    else { outcome = 'failure'; error = `accepted but wrong: ${problem}`; }
  } catch (err) {
    outcome = target.typed(err, dir) ? 'typed' : 'failure';
    error = describe(err);
    if (outcome === 'failure' && err instanceof Error && /Error$/.test(err.name) && !target.typed(err, dir)) {
      error = `${err instanceof Error ? err.constructor.name : typeof err} (not the typed error naming the file): ${error}`;
    }
  }
  const ms = performance.now() - t0;
  if (!keep) rmSync(dir, { recursive: true, force: true });
  // The process's peak resident set if this case raised it, else its resident set now (the parent also polls).
  const peakAfter = process.resourceUsage().maxRSS;
  const maxRss = peakAfter > peakBefore ? peakAfter * 1024 : process.memoryUsage.rss();
  return { index, outcome, notes, error, ms, maxRss, dir };
}

async function main(): Promise<void> {
  const [name, seedText, work] = process.argv.slice(2) as [string, string, string];
  const target = targetByName(name);
  const seed = Number(seedText);
  sharp.cache(false);
  sharp.concurrency(1);
  process.on('disconnect', () => process.exit(0));
  const seeds = await target.seeds(join(work, 'seeds'));
  process.on('message', (msg: { type: string; index?: number }) => {
    if (msg.type === 'exit') { process.disconnect?.(); process.exit(0); }
    if (msg.type === 'run') {
      void runCase(target, seeds, seed, msg.index!, work).then(({ dir: _dir, ...r }) => process.send!({ type: 'result', ...r }));
    }
  });
  process.send!({ type: 'ready' });
}

if (process.send) await main();
