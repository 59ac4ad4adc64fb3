/**
 * The common shape of a fixture test: make leaf tensors from a case's inputs, run the convkit op, compare the
 * output with `out`, backpropagate the case's cotangent `gy`, and compare every `grad_<input>`.
 *
 *   const t = fixtureLeaves(c, ['x', 'w', 'b']);
 *   const y = F.conv2d(t.x!, t.w!, t.b ?? null, options);
 *   checkOutputAndGradients(c, y, t);
 */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { FixtureCase } from './fixtures.js';
import { assertClose, assertGradClose, type CloseOptions } from './compare.js';

/**
 * Leaf tensors for the named inputs the case has (absent optional inputs, e.g. a bias, are left out). An
 * input requires a gradient exactly when the case has a reference gradient `grad_<name>` for it.
 */
export function fixtureLeaves(c: FixtureCase, names: readonly string[]): Record<string, Tensor | undefined> {
  const out: Record<string, Tensor | undefined> = {};
  for (const name of names) {
    if (c.has(name)) out[name] = c.tensor(name, { requiresGrad: c.has(`grad_${name}`) });
  }
  return out;
}

/** Compare `y` with the case's `out`, then backpropagate `gy` and compare each leaf's gradient. */
export function checkOutputAndGradients(c: FixtureCase, y: Tensor, leaves: Record<string, Tensor | undefined>, options: CloseOptions = {}): void {
  assertClose(y, c.f32('out'), `${c.label} (${c.op}) output`, { ...options, shape: c.shape('out') });
  const withGrad = Object.entries(leaves).filter(([name, t]) => t && c.has(`grad_${name}`));
  if (withGrad.length === 0) return;
  assert.ok(y.requiresGrad, `${c.label}: output does not require a gradient`);
  y.backward(c.tensor('gy'));
  for (const [name, t] of withGrad) assertGradClose(t!, c.f32(`grad_${name}`), `${c.label} (${c.op}) gradient of ${name}`, options);
}
