import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/node/checkpoint.js';

const child = new URL('./save-loop-child.ts', import.meta.url).pathname;

/** Start the saving child, wait for its first completed save, kill it `delayMs` later; resolve with its last report. */
function runAndKill(dir: string, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed && out.includes('saved 1\n')) {
        armed = true;
        setTimeout(() => proc.kill('SIGKILL'), delayMs);
      }
    });
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    proc.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code} before it was killed: ${err}`));
      const saves = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      resolve(saves.at(-1) ?? 0);
    });
  });
}

test('killing a process in the middle of saving leaves a loadable, consistent checkpoint', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-kill-'));
  try {
    const dir = join(root, 'last');
    // Several kills at different moments, so some land inside a save (each save takes tens of ms).
    for (const delay of [5, 23, 41, 67, 90]) {
      const lastReported = await runAndKill(dir, delay);
      const ck = await loadCheckpoint(dir);
      const epoch = ck.meta.epoch;
      // The checkpoint is the last completed save, or the one in flight if it completed its swap before the kill.
      assert.ok(epoch === lastReported || epoch === lastReported + 1, `loaded epoch ${epoch}, last reported save ${lastReported}`);
      for (const [k, t] of Object.entries(ck.modelState)) {
        assert.ok(t.data.every((v) => v === epoch), `${k} holds the weights of another save than epoch ${epoch}`);
      }
      const opt = ck.optimizerState as { state: Record<string, { step: number; buf: Float32Array }> };
      assert.equal(opt.state['0']!.step, epoch);
      assert.ok(opt.state['0']!.buf.every((v) => v === epoch));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
