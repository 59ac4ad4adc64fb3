// nn.Sequential's layer+ReLU fusion must not change what observers of module calls see: inspect's summary
// (which wraps every module's forward, so nothing fuses during its pass) and the lab's layer probe
// (src/lab/probe.ts: each leaf's forward in turn, checked against model.forward, which does fuse). The fixture
// test/fixtures/inspect/observers-before-fusion.json was written by the same code below on the commit before
// fusion (dcf17ac, /work/main then): the formatted summaries, and per probed layer its path, type, shape and a
// SHA-256 prefix of its output bytes (so the values, not only the rows, must be unchanged), computed on the
// reference backend (the default then), which this test therefore selects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { manualSeed, Generator, models } from '../../src/index.js';
import { summary, formatSummary } from '../../src/inspect/index.js';
import { traceLayers } from '../../src/lab/probe.js';
import { getBackend, useBackend } from '../../src/backend/registry.js';
import { referenceBackend } from '../../src/backend/reference/index.js';

const before = JSON.parse(readFileSync(new URL('../fixtures/inspect/observers-before-fusion.json', import.meta.url), 'utf8')) as Record<string, unknown>;

for (const name of ['lenet5', 'mlp', 'vggsmall']) {
  test(`${name}: summary rows and lab probe outputs are the same as before fusion`, (t) => {
    const previous = getBackend();
    useBackend(referenceBackend);
    t.after(() => useBackend(previous));
    manualSeed(7);
    const model = models.create(name);
    assert.equal(formatSummary(summary(model, [1, 28, 28])), before[`summary ${name}`]);
    const g = new Generator(11);
    const x = Float32Array.from({ length: 2 * 784 }, () => g.uniform());
    const rows = traceLayers(model, x, [2, 1, 28, 28], name).map((r) =>
      `${r.path} ${r.type} [${r.shape}] ${createHash('sha256').update(new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)).digest('hex').slice(0, 16)}`);
    assert.deepEqual(rows, before[`probe ${name}`]);
    assert.ok(rows.some((r) => r.includes(' ReLU ')), 'the probe still lists the ReLU layers');
  });
}
