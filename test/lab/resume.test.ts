// Resuming a lab run (src/lab/resume.ts, fileRunStore in src/node/labRun.ts): finished training runs and
// finished experiments are kept and loaded again only when their protocol (plan) is the same.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smokeData, useSmokeBackend } from './support/smoke.js';
import { fileRunStore, runLab } from '../../src/node/labRun.js';
import { decodeRunJson, emptyTally, encodeRunJson, planDigest, sameRunUnderOtherCap, storedRun } from '../../src/lab/resume.js';
import type { LabContext } from '../../src/lab/types.js';

let backend = 'reference';
const data = smokeData;

before(async () => {
  backend = await useSmokeBackend();
});

test('run JSON keeps NaN and infinities; the plan digest is stable and tells plans apart', () => {
  const v = { a: NaN, b: [1, Infinity, -Infinity], c: 'x' };
  const back = decodeRunJson(encodeRunJson(v)) as typeof v;
  assert.ok(Number.isNaN(back.a));
  assert.deepEqual(back.b, [1, Infinity, -Infinity]);
  assert.equal(back.c, 'x');
  assert.equal(planDigest({ epochs: 3, seeds: [0, 1] }), planDigest({ epochs: 3, seeds: [0, 1] }));
  assert.notEqual(planDigest({ epochs: 3, seeds: [0, 1] }), planDigest({ epochs: 4, seeds: [0, 1] }));
  assert.match(planDigest('x'), /^[0-9a-f]{16}$/);
});

test('storedRun: a stored run is loaded only with the same protocol, and only when the store reads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-runs-'));
  try {
    const ctxWith = (read: boolean): LabContext => ({
      options: { scale: 'smoke', log: () => {}, backend: 'test' }, data, output: { text: () => {}, image: () => {} },
      command: () => '', cache: new Map(), runs: fileRunStore(dir, 'test backend', read, 'abc1234'), runTally: emptyTally(),
    });
    let made = 0;
    const make = (value: number) => () => { made++; return { result: { value, loss: NaN }, seconds: 2 }; };
    const writer = ctxWith(false);
    assert.equal(storedRun(writer, 'exp', 'm-seed0', { epochs: 3 }, make(1)).value, 1);
    assert.equal(made, 1);
    // Without --resume the store is written but not read: the run is made again.
    assert.equal(storedRun(writer, 'exp', 'm-seed0', { epochs: 3 }, make(2)).value, 2);
    assert.equal(made, 2);
    const reader = ctxWith(true);
    const loaded = storedRun(reader, 'exp', 'm-seed0', { epochs: 3 }, make(3));
    assert.equal(loaded.value, 2, 'the stored result');
    assert.ok(Number.isNaN(loaded.loss));
    assert.equal(made, 2);
    assert.deepEqual([reader.runTally!.made, reader.runTally!.loaded, reader.runTally!.trainingSeconds], [0, 1, 2]);
    assert.equal(reader.runTally!.sources[0]!.commit, 'abc1234');
    assert.equal(reader.runTally!.sources[0]!.backend, 'test backend');
    // Another protocol: made again.
    assert.equal(storedRun(reader, 'exp', 'm-seed0', { epochs: 4 }, make(4)).value, 4);
    assert.equal(made, 3);
    // A damaged file: made again with a note that says so, not a crash.
    writeFileSync(join(dir, 'exp', 'm-seed0.json'), '{"protocol": ');
    const notes: string[] = [];
    const noting: LabContext = { ...reader, runs: fileRunStore(dir, 'test backend', true, 'abc1234', (m) => notes.push(m)) };
    assert.equal(storedRun(noting, 'exp', 'm-seed0', { epochs: 4 }, make(5)).value, 5);
    assert.equal(made, 4);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /m-seed0: the stored run .*m-seed0\.json cannot be read \(.*\); it is made again and overwritten/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('storedRun: a run that stopped early is loaded under a higher epoch cap; one its cap cut short, or a cosine schedule, is made again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-runs-cap-'));
  try {
    const ctx = (): LabContext => ({
      options: { scale: 'smoke', log: () => {}, backend: 'test' }, data, output: { text: () => {}, image: () => {} },
      command: () => '', cache: new Map(), runs: fileRunStore(dir, 'test backend', true, 'abc1234'), runTally: emptyTally(),
    });
    const budget = (epochs: number, extra: Record<string, unknown> = {}) => ({ budget: { epochs, batchSize: 64, optimizer: { name: 'adam', lr: 1e-3, ...extra }, earlyStopping: { patience: 3, minDelta: 0.001 } }, seed: 0 });
    let made = 0;
    const make = (epochs: number) => () => { made++; return { result: { epochs }, seconds: 1 }; };
    const options = { epochsRun: (r: { epochs: number }) => r.epochs };
    storedRun(ctx(), 'exp', 'stopped', budget(15), make(9), options); // stopped early at 9 of 15
    storedRun(ctx(), 'exp', 'capped', budget(15), make(15), options); // ran into its cap
    assert.equal(made, 2);
    assert.equal(storedRun(ctx(), 'exp', 'stopped', budget(30), make(99), options).epochs, 9, 'loaded under cap 30');
    assert.equal(storedRun(ctx(), 'exp', 'stopped', budget(9), make(99), options).epochs, 9, 'loaded under cap 9');
    assert.equal(made, 2);
    assert.equal(storedRun(ctx(), 'exp', 'stopped', budget(8), make(8), options).epochs, 8, 'cap 8 would have cut it: made again');
    assert.equal(storedRun(ctx(), 'exp', 'capped', budget(30), make(21), options).epochs, 21, 'the old cap cut it short: made again');
    assert.equal(made, 4);
    // Without epochsRun an experiment never says its runs may be reused under another cap.
    storedRun(ctx(), 'exp', 'plain', budget(15), make(9));
    assert.equal(storedRun(ctx(), 'exp', 'plain', budget(30), make(12)).epochs, 12);
    assert.equal(made, 6);
    const full = (p: unknown) => ({ format: 'f', experiment: 'e', key: 'k', protocol: p });
    assert.equal(sameRunUnderOtherCap(full(budget(15)), full(budget(30)), 9), true);
    assert.equal(sameRunUnderOtherCap(full(budget(15, { cosine: true })), full(budget(30, { cosine: true })), 9), false, 'a cosine schedule stretches with the cap');
    assert.equal(sameRunUnderOtherCap(full({ ...budget(15), seed: 1 }), full(budget(30)), 9), false, 'anything else differs');
    assert.equal(sameRunUnderOtherCap(full(budget(15)), full(budget(30)), 15), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lab --resume: an interrupted run goes on from its stored training runs, and a finished experiment is kept', async () => {
  const out = mkdtempSync(join(tmpdir(), 'convkit-lab-resume-'));
  try {
    const first = await runLab({ experiments: ['shuffle', 'pooling'], scale: 'smoke', outDir: out, backend, data, log: () => {} });
    assert.deepEqual(first.failures, []);
    const shuffleRuns = readdirSync(join(out, 'runs', 'shuffle')).sort();
    assert.deepEqual(shuffleRuns, ['lenet5-original-seed0.json', 'lenet5-shuffled-seed0.json', 'mlp-original-seed0.json', 'mlp-shuffled-seed0.json']);
    const firstShuffle = first.records.find((r) => r.name === 'shuffle')!;
    assert.deepEqual([firstShuffle.runs!.made, firstShuffle.runs!.loaded], [4, 0]);
    // "Interrupt" shuffle: its record is gone and one of its runs never finished; pooling finished.
    rmSync(join(out, 'shuffle.json'));
    rmSync(join(out, 'runs', 'shuffle', 'mlp-shuffled-seed0.json'));
    const log: string[] = [];
    const second = await runLab({ experiments: ['shuffle', 'pooling'], scale: 'smoke', outDir: out, backend, data, log: (m) => log.push(m), resume: true });
    const shuffle = second.records.find((r) => r.name === 'shuffle')!;
    assert.deepEqual([shuffle.runs!.made, shuffle.runs!.loaded], [1, 3]);
    assert.deepEqual(shuffle.metrics, firstShuffle.metrics, 'the same numbers: three loaded, one made again with the same seed');
    assert.ok(log.some((m) => /^lab pooling: kept the finished record/.test(m)), log.join('\n'));
    const pooling = second.records.find((r) => r.name === 'pooling')!;
    assert.equal(pooling.startedAt, first.records.find((r) => r.name === 'pooling')!.startedAt);
    const md = readFileSync(join(out, 'LAB.md'), 'utf8');
    assert.match(md, /\*\*Runs\.\*\* 4 training runs: 1 made by the command's last invocation, 3 loaded/);
    assert.match(second.records[0]!.command, /--resume$/);
    // Another seed count is another plan: nothing is kept at the experiment level.
    const log3: string[] = [];
    const third = await runLab({ experiments: ['pooling'], scale: 'smoke', seeds: 2, outDir: out, backend, data, log: (m) => log3.push(m), resume: true });
    assert.ok(!log3.some((m) => m.includes('kept the finished record')));
    assert.deepEqual([third.records[0]!.runs!.made, third.records[0]!.runs!.loaded], [4, 4], 'seed 0 loaded, seed 1 made');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
