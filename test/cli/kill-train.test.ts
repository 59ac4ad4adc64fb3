// kill -9 at random points of `convkit train` (issue 17): whatever the moment, every checkpoint left behind loads
// through every command that reads one (eval, predict, export, train --resume), or there is none yet and the
// commands say so in one line. Short epochs (256 images) make most kills land in or near a save.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { Generator } from '../../src/tensor/random.js';
import { findCheckpointDir, readCheckpointMeta } from '../../src/node/checkpoint.js';

const bin = fileURLToPath(new URL('../../bin/convkit.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)));
const KILLS = 6;

function convkit(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CONVKIT_THREADS: '1' } });
}

/** Start a training run and kill -9 it after `ms` milliseconds; resolves when it is gone. */
function trainAndKill(cwd: string, ms: number): Promise<string> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [bin, 'train', '--model', 'lenet5', '--dataset', 'fashion-mnist-subset', '--train-limit', '256', '--test-limit', '64',
      '--epochs', '200', '--batch', '64', '--schedule', 'none', '--out', 'run', '--force'], { cwd, env: { ...process.env, CONVKIT_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => { clearTimeout(timer); resolvePromise(stderr); });
  });
}

test(`kill -9 at ${KILLS} seeded random moments of convkit train: every checkpoint left loads through eval, predict, export and --resume`, { skip: !built && process.env.CI !== 'true' ? 'dist/ is not built (npm run build)' : false, timeout: 300_000 }, async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'convkit-kill-'));
  try {
    const png = new PNG({ width: 28, height: 28 });
    png.data.fill(90);
    writeFileSync(join(cwd, 'x.png'), PNG.sync.write(png));
    const random = new Generator(17);
    let checked = 0;
    for (let k = 0; k < KILLS; k++) {
      // Start-up (library load, data) takes about 0.5-1 s; the kills land between then and a few epochs later.
      const ms = 700 + Math.floor(random.uniform() * 1500);
      await trainAndKill(cwd, ms);
      const left = existsSync(join(cwd, 'run')) ? readdirSync(join(cwd, 'run')).sort() : [];
      for (const kind of ['last', 'best']) {
        const present = left.includes(kind) || left.includes(`.${kind}.old`);
        const target = join('run', kind);
        const e = convkit(cwd, 'eval', '--checkpoint', target, '--test-limit', '20', '--json');
        if (!present) {
          assert.equal(e.status, 2, `kill ${k} at ${ms} ms: eval of a missing ${kind}: ${e.stderr}`);
          continue;
        }
        assert.equal(e.status, 0, `kill ${k} at ${ms} ms (left: ${left.join(', ')}): eval --checkpoint ${target}: ${e.stderr}`);
        const p = convkit(cwd, 'predict', '--checkpoint', target, 'x.png');
        assert.equal(p.status, 0, `kill ${k}: predict --checkpoint ${target}: ${p.stderr}`);
        const x = convkit(cwd, 'export', '--checkpoint', target, '--format', 'onnx', '--out', `k${k}-${kind}.onnx`);
        assert.equal(x.status, 0, `kill ${k}: export --checkpoint ${target}: ${x.stderr}`);
        checked++;
      }
      const lastDir = findCheckpointDir(join(cwd, 'run', 'last'));
      if (lastDir) {
        // --resume continues the killed run for one more epoch from whatever `last` holds.
        const epoch = (await readCheckpointMeta(lastDir.dir)).epoch;
        const r = convkit(cwd, 'train', '--out', 'run', '--resume', '--epochs', String(epoch + 1));
        assert.equal(r.status, 0, `kill ${k}: train --resume from epoch ${epoch}: ${r.stderr}`);
      }
      t.diagnostic(`kill ${k} after ${ms} ms: left ${left.join(', ') || 'nothing'}`);
    }
    assert.ok(checked > 0, 'no kill left a checkpoint: the kills came too early to test anything');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
