/**
 * Comparing float32 results with references.
 *
 * The bound: element by element, |actual - expected| <= tol * max(1, |expected|), default tol = 1e-5.
 * That is a relative error of 1e-5 for values above 1 and an absolute error of 1e-5 below. Why this is right
 * for float32: one rounding is 6e-8 relative; a dot product of K terms summed in a different order than
 * PyTorch's differs by about sqrt(K) roundings of the largest partial sum, so for the small fixtures (K up
 * to a few hundred, values of order 1) the honest difference is ~1e-6, ten times below the bound, while any
 * real bug (a wrong index, a missing term, an off-by-one window) changes values at the 1e-2..1 level.
 * Values near zero that come out of cancellation get the absolute floor of 1e-5 instead of an impossible
 * relative bound.
 */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/tensor/tensor.js';

export const DEFAULT_TOLERANCE = 1e-5;

export interface CloseOptions {
  /** Bound on |a - b| / max(1, |b|). */
  tol?: number;
  /** Shape the actual tensor must have (checked when `actual` is a Tensor). */
  shape?: readonly number[];
}

/** Worst violation of the bound, or null when every element is within it. */
export function worstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = DEFAULT_TOLERANCE):
  { index: number; actual: number; expected: number; error: number } | null {
  let worst: { index: number; actual: number; expected: number; error: number } | null = null;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, b = expected[i]!;
    // NaN where the reference has NaN, and the same infinity, are matches (the non-finite fixtures need it).
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const error = Math.abs(a - b) / Math.max(1, Math.abs(b));
    // `!(error <= tol)` also catches NaN.
    if (!(error <= tol) && (worst === null || !(error <= worst.error))) worst = { index: i, actual: a, expected: b, error };
  }
  return worst;
}

/** Assert that `actual` (a Tensor or array) matches `expected` within the bound above; the message names `label`. */
export function assertClose(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, label: string, options: CloseOptions = {}): void {
  const tol = options.tol ?? DEFAULT_TOLERANCE;
  let values: ArrayLike<number>;
  if (isTensor(actual)) {
    if (options.shape) {
      assert.deepEqual([...actual.shape], [...options.shape], `${label}: shape [${actual.shape.join(', ')}], expected [${options.shape.join(', ')}]`);
    }
    values = actual.data;
  } else {
    values = actual;
  }
  assert.equal(values.length, expected.length, `${label}: ${values.length} values, expected ${expected.length}`);
  const worst = worstMismatch(values, expected, tol);
  if (worst) {
    assert.fail(`${label}: element ${worst.index} is ${worst.actual}, expected ${worst.expected} ` +
      `(error ${worst.error.toExponential(2)} > ${tol} relative to max(1,|expected|))`);
  }
}

/** Assert a tensor's gradient exists and matches. */
export function assertGradClose(t: Tensor, expected: ArrayLike<number>, label: string, options: CloseOptions = {}): void {
  assert.ok(t.grad, `${label}: no gradient was computed`);
  assertClose(t.grad, expected, label, { ...options, shape: options.shape ?? t.shape });
}

function isTensor(v: Tensor | ArrayLike<number>): v is Tensor {
  return typeof v === 'object' && v !== null && 'shape' in v && 'data' in v && (v as Tensor).data instanceof Float32Array;
}
