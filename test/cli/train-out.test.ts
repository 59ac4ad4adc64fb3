// convkit train fails before training, with one convkit: line and exit 2, when it could never save or never fit
// (issue 17, finding 7: --out naming a file or a read-only place trained the whole run and then failed with
// "internal error: EEXIST/EROFS"; --batch 65536 ran out of memory as an internal error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'src/cli/main.ts');
function train(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, 'train', '--model', 'lenet5', '--dataset', 'fashion-mnist-subset', '--epochs', '1', ...args],
    { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CONVKIT_THREADS: '1' } });
}
/** One convkit: line, exit 2, and no training started (no epoch line, no data loaded). */
function refused(r: ReturnType<typeof train>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('convkit:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /epoch 1|internal error/);
}

test('--out naming a file, or a folder under a file, is refused before any training', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-out-'));
  try {
    writeFileSync(join(dir, 'notes.txt'), 'a file');
    refused(train('--out', join(dir, 'notes.txt')), /--out .*notes\.txt: .* is a file, not a folder/);
    refused(train('--out', join(dir, 'notes.txt', 'run')), /--out .*notes\.txt\/run: .* is a file, not a folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--out in a place that cannot be made or written is refused before any training (and does not hang)', { skip: !existsSync('/proc/self') ? 'needs /proc' : false }, () => {
  // Node's recursive mkdirSync never returns for this path; the check must not use it.
  refused(train('--out', '/proc/convkit-cannot-exist/run'), /--out \/proc\/convkit-cannot-exist\/run: cannot create .* \(ENOENT\)/);
});

test('a batch whose activations cannot fit is refused before training, with the largest that fits', { skip: !existsSync('/usr/share/datasets/fashion-mnist') && process.env.CI !== 'true' ? 'needs the full Fashion-MNIST (apt-get install dataset-fashion-mnist)' : false }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'train', '--model', 'vggsmall', '--dataset', 'fashion-mnist', '--epochs', '1', '--batch', '65536', '--out', join(tmpdir(), 'convkit-never-written')],
    { cwd: root, encoding: 'utf8', timeout: 120_000 });
  refused(r, /--batch 65536: vggsmall on 1x28x28 images needs about \d+\.\d GiB for one step's activations \(batches of 60000, the whole training set\).*use --batch \d+ or less/);
  assert.equal(existsSync(join(tmpdir(), 'convkit-never-written', 'last')), false);
});
