// Each experiment runs end to end at 'smoke' scale (tiny budgets, the embedded real Fashion-MNIST subset) and
// writes its JSON and figures. These tests check mechanics only: no assertion depends on a training outcome.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smokeData, useSmokeBackend } from './support/smoke.js';
import { runLab } from '../../src/node/labRun.js';
import { decodePng } from '../../src/node/vizPng.js';
import { EXPERIMENTS } from '../../src/lab/experiments/index.js';

let backend = 'reference';
const data = smokeData;

before(async () => {
  backend = await useSmokeBackend();
});

test('lab all --smoke: every experiment writes NAME.json and its figures, and LAB.md lists them', async () => {
  const out = mkdtempSync(join(tmpdir(), 'convkit-lab-'));
  try {
    const r = await runLab({ experiments: 'all', scale: 'smoke', outDir: out, backend, data, log: () => {} });
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.records.map((x) => x.name), EXPERIMENTS.map((e) => e.name));
    for (const rec of r.records) {
      const json = JSON.parse(readFileSync(join(out, `${rec.name}.json`), 'utf8')) as { name: string; verdict: string; command: string; results: unknown };
      assert.equal(json.name, rec.name);
      assert.match(json.command, new RegExp(`^convkit lab ${rec.name} --smoke`));
      assert.ok(['holds', 'partly holds', 'does not hold', 'exact'].includes(json.verdict));
      const figures = rec.files.filter((f) => f.endsWith('.svg') || f.endsWith('.png'));
      assert.ok(figures.length > 0, `${rec.name} wrote no figure`);
      for (const f of rec.files) assert.ok(existsSync(join(out, f)), `${rec.name}: ${f} missing`);
      for (const f of figures.filter((x) => x.endsWith('.png'))) {
        const png = decodePng(readFileSync(join(out, f)));
        assert.ok(png.width > 0 && png.height > 0);
      }
      for (const f of figures.filter((x) => x.endsWith('.svg'))) assert.match(readFileSync(join(out, f), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>$/);
    }
    const md = readFileSync(join(out, 'LAB.md'), 'utf8');
    for (const e of EXPERIMENTS) {
      assert.ok(new RegExp(`^## ${e.index}[a-z]?\\. `, "m").test(md) && md.includes(`. ${e.title}\n`), `LAB.md lacks the section of ${e.name}`);
      assert.ok(md.includes(`\`convkit lab ${e.name} --smoke`), `LAB.md lacks the command of ${e.name}`);
    }
    // The ledger is exact arithmetic: check its numbers.
    const ledger = JSON.parse(readFileSync(join(out, 'ledger.json'), 'utf8')) as { verdict: string; results: { layer: { dense: { params: number }; local: { params: number }; conv: { params: number } }; models: { name: string; totalParams: number }[] } };
    assert.equal(ledger.verdict, 'exact');
    assert.equal(ledger.results.layer.dense.params, 120_001_000);
    assert.equal(ledger.results.layer.local.params, 1_201_000);
    assert.equal(ledger.results.layer.conv.params, 12_010);
    assert.equal(ledger.results.models.find((m) => m.name === 'vggsmall')?.totalParams, 870_634);
    // The shuffle experiment's pixel permutation is a permutation of 0..783.
    const shuffle = JSON.parse(readFileSync(join(out, 'shuffle.json'), 'utf8')) as { results: { permutation: number[] } };
    const perm = shuffle.results.permutation;
    assert.equal(perm.length, 784);
    assert.deepEqual([...perm].sort((a, b) => a - b), Array.from({ length: 784 }, (_, i) => i));
    assert.notDeepEqual(perm, Array.from({ length: 784 }, (_, i) => i));
    // Equivariance: the first conv layer of vggsmall commutes with every shift to float error.
    const eq = JSON.parse(readFileSync(join(out, 'equivariance.json'), 'utf8')) as { results: { layers: { model: string; path: string; errors: { relativeError: number }[] }[] } };
    const first = eq.results.layers.find((l) => l.model === 'vggsmall' && l.path === 'features.0')!;
    for (const e of first.errors) assert.ok(e.relativeError < 1e-5, `vggsmall features.0: ${e.relativeError}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
