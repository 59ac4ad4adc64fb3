// A kill between the two renames of a checkpoint save leaves the previous checkpoint complete in `.last.old` and no
// `last/` (issue 17, finding 9: `convkit eval|predict --checkpoint RUN/last` then said "no such folder", although
// --resume recovered it). Every command that loads a checkpoint must recover it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { manualSeed, models } from '../../src/index.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';
import { servedCheckpoint } from '../../src/node/explorerServer.js';
import { FASHION_MNIST_CLASSES } from '../../src/data/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'src/cli/main.ts');
const convkit = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });

test('eval, predict, export and explore load RUN/last (and RUN) from .last.old after an interrupted save', async () => {
  const run = mkdtempSync(join(tmpdir(), 'convkit-last-old-'));
  try {
    manualSeed(4);
    const net = models.create('lenet5');
    await saveCheckpoint(join(run, 'last'), {
      meta: {
        model: { name: 'lenet5', config: {} },
        dataset: { name: 'fashion-mnist-subset', classNames: [...FASHION_MNIST_CLASSES], inputShape: [1, 28, 28], normalization: null },
        optimizer: null, scheduler: null, epoch: 3, globalStep: 0, rng: null, training: {}, metrics: { history: [], best: null },
      },
      modelState: net.stateDict(), optimizerState: null,
    });
    // The state between the two renames of the next save: the old folder moved aside, the new one not yet in place.
    renameSync(join(run, 'last'), join(run, '.last.old'));
    const png = new PNG({ width: 28, height: 28 });
    png.data.fill(200);
    const image = join(run, 'gray.png');
    writeFileSync(image, PNG.sync.write(png));

    for (const target of [join(run, 'last'), run]) {
      const e = convkit('eval', '--checkpoint', target, '--test-limit', '50', '--json');
      assert.equal(e.status, 0, `eval --checkpoint ${target}: ${e.stderr}`);
      assert.equal(JSON.parse(e.stdout.trim().split('\n').pop()!).count, 50);
      const p = convkit('predict', '--checkpoint', target, image, '--json');
      assert.equal(p.status, 0, `predict --checkpoint ${target}: ${p.stderr}`);
      const served = await servedCheckpoint(target, root);
      assert.equal(served.index.epoch, 3);
      assert.match(served.index.origin, /\.last\.old$/);
    }
    const x = convkit('export', '--checkpoint', join(run, 'last'), '--format', 'onnx', '--out', join(run, 'm.onnx'));
    assert.equal(x.status, 0, x.stderr);
    // Nothing there at all is still "no such folder".
    const none = convkit('eval', '--checkpoint', join(run, 'nothing'));
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no such folder/);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
