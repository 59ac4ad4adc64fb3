// What the plain-loop memory tests share: a reading of the child (support/plain-loop-child.ts), running it, and the
// median growth between readings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Reading { step: number; rssMiB: number; heapMiB: number; arrayBuffersMiB: number; externalMiB: number; wasmMiB: number }

const child = fileURLToPath(new URL('./plain-loop-child.ts', import.meta.url));

/** Run the plain training loop in a child with --expose-gc: `backend` is 'default' (what the library chooses) or a name. */
export function runPlainLoop(backend: string, extra: string[], env: NodeJS.ProcessEnv = process.env): { backend: string; leaked: number; readings: Reading[] } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, backend, ...extra], { encoding: 'utf8', timeout: 300_000, env });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** The median of the increments between consecutive readings, in KiB per step. */
export function growthKiBPerStep(readings: readonly Reading[], field: (r: Reading) => number): number {
  const increments: number[] = [];
  for (let i = 1; i < readings.length; i++) {
    increments.push(((field(readings[i]!) - field(readings[i - 1]!)) * 1024) / (readings[i]!.step - readings[i - 1]!.step));
  }
  increments.sort((a, b) => a - b);
  const mid = increments.length >> 1;
  return increments.length % 2 ? increments[mid]! : (increments[mid - 1]! + increments[mid]!) / 2;
}
