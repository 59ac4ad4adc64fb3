// Seeded fuzzing of every parser (issue 17, "What must be shown"): a small count of mutants per target inside
// `npm test`, each in a child process with a 5 s and 1 GiB limit (test/fuzz/harness.ts). Every mutant must be
// accepted soundly or refused with the project's own error naming the file; the long run is test/fuzz/long.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, type TargetStats } from './harness.js';
import { FUZZ_TARGETS } from './targets.js';

const SEED = 17;
const COUNT = 100;

/** Cases the long run found failing once (target, index under SEED); each must stay fixed. */
const REGRESSIONS: { target: string; index: number }[] = [
  // A dangling symlink among the class folders was a bare ENOENT Error from loadImageFolder's statSync.
  { target: 'image-folder', index: 147 },
  { target: 'image-folder', index: 199 },
  // A 51 MB checkpoint.json (the dataset object repeated 100,000 times) took 14 s in JSON.parse: now refused by size.
  { target: 'checkpoint', index: 258 },
  // A "__proto__" key in optimizerState became the prototype of the loaded object (a TypedArray getter then threw).
  { target: 'checkpoint', index: 8421 },
  // files.optimizer.safetensors.bytes nested 100,000 deep overflowed the stack while wording the size mismatch.
  { target: 'checkpoint', index: 8836 },
];

function summary(s: TargetStats): string {
  return `${s.target}: ${s.count} mutants, ${s.accepted} accepted, ${s.typed} typed errors, ${s.failures.length} failures; slowest ${s.slowest?.ms.toFixed(0)} ms, peak resident ${(s.peakRss.bytes / 2 ** 20).toFixed(0)} MiB`;
}

test(`${COUNT} seeded mutants of each parser: no failures (seed ${SEED})`, { timeout: 120_000 }, async (t) => {
  const stats = await runFuzz({ targets: FUZZ_TARGETS, count: COUNT, seed: SEED, concurrency: 2, jobSize: COUNT, extra: REGRESSIONS });
  for (const s of stats) t.diagnostic(summary(s));
  for (const s of stats) {
    const extra = REGRESSIONS.filter((r) => r.target === s.target && r.index >= COUNT).length;
    assert.equal(s.count, COUNT + extra, `${s.target}: every case ran`);
    assert.equal(s.accepted + s.typed + s.failures.length, s.count);
    // The mutants must reach the parser's checks, and some must survive them (else the mutator is too blunt).
    assert.ok(s.typed > COUNT / 4, `${s.target}: only ${s.typed} typed errors`);
    assert.ok(s.accepted > 0, `${s.target}: no mutant was accepted`);
    assert.deepEqual(
      s.failures.map((f) => `#${f.index} ${f.error} [${f.notes.join('; ')}]`),
      [],
      `${s.target}: failures (reproduce with node --import tsx test/fuzz/long.ts --target ${s.target} --seed ${SEED} --case N)`,
    );
  }
});

test('the runner reports a broken parser, a hang, a memory hog and a crash as failures', { timeout: 60_000 }, async (t) => {
  // (b) => JSON.parse(...) throws SyntaxError, not the SafetensorsError it is held to.
  const [json] = await runFuzz({ targets: ['selfcheck-json-parse'], count: 12, seed: SEED });
  t.diagnostic(summary(json!));
  assert.ok(json!.failures.length >= 6, summary(json!));
  assert.ok(json!.failures.every((f) => /SyntaxError/.test(f.error ?? '')), json!.failures.map((f) => f.error).join('\n'));
  assert.equal(json!.failures.length + json!.accepted, 12, 'a SyntaxError is never counted as a typed error');

  const [hang] = await runFuzz({ targets: ['selfcheck-hang'], count: 1, seed: SEED, timeoutMs: 300 });
  assert.equal(hang!.failures.length, 1);
  assert.match(hang!.failures[0]!.error!, /^timeout/);

  const [hog] = await runFuzz({ targets: ['selfcheck-memory'], count: 1, seed: SEED, rssLimit: 600 * 2 ** 20 });
  assert.equal(hog!.failures.length, 1);
  assert.match(hog!.failures[0]!.error!, /^memory/);

  const [crash] = await runFuzz({ targets: ['selfcheck-crash'], count: 1, seed: SEED });
  assert.equal(crash!.failures.length, 1);
  assert.match(crash!.failures[0]!.error!, /^crash/);
  for (const s of [hang!, hog!, crash!]) t.diagnostic(`${s.target}: ${s.failures[0]!.error}`);
});
