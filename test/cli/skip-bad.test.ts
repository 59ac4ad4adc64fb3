// Image folders and predict (issue 17, finding 8): an empty class folder is refused (it silently became a class
// the model could never learn); one bad file among predict's arguments no longer has to abort them all
// (--skip-bad reports it in order and classifies the others); skipBad has a CLI flag for image folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { loadImageFolder } from '../../src/node/dataImages.js';
import { manualSeed, models } from '../../src/index.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });

function png(path: string, gray: number): void {
  const p = new PNG({ width: 8, height: 8 });
  p.data.fill(gray);
  writeFileSync(path, PNG.sync.write(p));
}

test('an empty class folder is refused, naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-folder-'));
  try {
    for (const c of ['cat', 'dog', 'empty']) mkdirSync(join(dir, c));
    png(join(dir, 'cat', 'a.png'), 10);
    png(join(dir, 'dog', 'b.png'), 200);
    writeFileSync(join(dir, 'empty', 'notes.txt'), 'not an image');
    await assert.rejects(loadImageFolder(dir, { size: 8, channels: 1 }), /class folder 'empty' holds no PNG or JPEG files; remove it or add images/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('convkit train --skip-bad skips an unreadable image in an image folder; without it the run stops naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-folder-cli-'));
  try {
    for (const c of ['cat', 'dog']) {
      mkdirSync(join(dir, 'data', c), { recursive: true });
      for (let i = 0; i < 6; i++) png(join(dir, 'data', c, `${i}.png`), c === 'cat' ? 20 + i : 220 - i);
    }
    writeFileSync(join(dir, 'data', 'dog', 'broken.png'), 'not a png');
    const args = ['train', '--model', 'mlp', '--dataset', join(dir, 'data'), '--image-size', '8', '--epochs', '1', '--batch', '4'];
    const strict = cli(...args, '--out', join(dir, 'run1'));
    assert.equal(strict.status, 2, strict.stderr);
    assert.match(strict.stderr, /broken\.png: not a readable image/);
    const skipping = cli(...args, '--skip-bad', '--out', join(dir, 'run2'));
    assert.equal(skipping.status, 0, skipping.stderr);
    assert.match(skipping.stderr, /skipping .*broken\.png/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('convkit predict --skip-bad reports a bad file in argument order and classifies the others', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-predict-skip-'));
  try {
    manualSeed(5);
    const net = models.create('lenet5');
    await saveCheckpoint(join(dir, 'ck'), {
      meta: {
        model: { name: 'lenet5', config: {} },
        dataset: { name: 'x', classNames: Array.from({ length: 10 }, (_, i) => `c${i}`), inputShape: [1, 28, 28], normalization: null },
        optimizer: null, scheduler: null, epoch: 0, globalStep: 0, rng: null, training: {}, metrics: { history: [], best: null },
      },
      modelState: net.stateDict(), optimizerState: null,
    });
    png(join(dir, 'a.png'), 30);
    writeFileSync(join(dir, 'bad.png'), 'truncated');
    png(join(dir, 'c.png'), 220);
    const files = ['a.png', 'bad.png', 'c.png'].map((f) => join(dir, f));
    const stop = cli('predict', '--checkpoint', join(dir, 'ck'), ...files);
    assert.equal(stop.status, 2);
    assert.equal(stop.stdout, '', 'nothing printed before the bad file stops it');
    const r = cli('predict', '--checkpoint', join(dir, 'ck'), '--skip-bad', '--json', ...files);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { image: string; error?: string; predictions?: unknown[] });
    assert.deepEqual(lines.map((l) => [l.image.endsWith('a.png'), 'error' in l]), [[true, false], [false, true], [false, false]]);
    assert.match(lines[1]!.error!, /not a readable image/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
