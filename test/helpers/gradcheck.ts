/**
 * Numerical gradient check by central differences, with a random cotangent.
 *
 * For an op y = f(x1, ..., xk) and a fixed random cotangent gy (seeded normal, the shape of y), the scalar
 * L(x) = sum(f(x) * gy) has dL/dxi = VJP_i(gy), which is exactly what `y.backward(gy)` puts in `xi.grad`.
 * We estimate it per coordinate as
 *
 *     (L(x + h e_j) - L(x - h e_j)) / (fl(x_j + h) - fl(x_j - h))
 *
 * Why this is accurate enough in float32 (the ops only compute in float32):
 * - L is accumulated in float64, and the op is deterministic, so the rounding of every output the
 *   perturbation does not touch is identical in both evaluations and cancels exactly. What remains is the
 *   rounding of the k affected outputs: about sqrt(k) * 6e-8 * |y| * |gy| in the difference of L, i.e.
 *   ~3e-6 * sqrt(k) * |y| after dividing by 2h = 2e-2. For the small test tensors (k <= ~100, |y| <= ~5) that is
 *   below 2e-4.
 * - The denominator uses the perturbation actually applied after rounding x_j +- h to float32.
 * - Truncation error of the central difference is h^2/6 * |f'''| ~ 2e-5 * |f'''| for h = 1e-2.
 * So the default acceptance |analytic - numeric| <= atol + rtol * |numeric| with atol = 2e-3, rtol = 1e-2
 * leaves a 10x margin over the noise, while a wrong gradient (a sign, a missing term, a transposed index,
 * a wrong divisor) is off by O(|gradient|), typically 0.1..1: the self-test in test/gradcheck/gradcheck.test.ts
 * shows the check failing on exactly such mistakes.
 *
 * Non-smooth ops (relu, max, pools, abs, clamp) are only differentiable away from their kinks: their callers
 * pick inputs whose kinks are further than 2h from every coordinate (see `awayFromKinks` and `distinct`).
 */
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { noGrad } from '../../src/autograd/tape.js';
import { Generator } from '../../src/tensor/random.js';

export interface GradcheckOptions {
  /** Central-difference step h. */
  step?: number;
  rtol?: number;
  atol?: number;
  /** Check at most this many coordinates per input (a seeded random sample); all when the input is smaller. */
  maxCoordinates?: number;
  /** Seed of the cotangent and of the coordinate sample. */
  seed?: number;
}

export interface GradientComparison {
  input: number;
  coordinate: number;
  analytic: number;
  numeric: number;
}

/** sum(f(inputs) * gy) in float64, without recording a tape. */
function objective(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], gy: Float32Array): number {
  const y = noGrad(() => fn(...inputs));
  let s = 0;
  for (let i = 0; i < gy.length; i++) s += y.data[i]! * gy[i]!;
  return s;
}

/** Fresh leaf copies of the inputs, keeping requiresGrad. */
function leafCopies(inputs: Tensor[]): Tensor[] {
  return inputs.map((t) => {
    const c = new Tensor(t.data.slice(), t.shape);
    c.requiresGrad = t.requiresGrad;
    return c;
  });
}

/**
 * Analytic (autograd) and numerical gradients of sum(fn(...inputs) * gy) at sampled coordinates of every
 * input with requiresGrad. Inputs without requiresGrad are held constant.
 *
 * `analyticFn` (default `fn`) is the function autograd differentiates; only the self-test of the checker
 * sets it, to feed in a deliberately wrong gradient and see the check fail.
 */
export function compareGradients(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[],
  options: GradcheckOptions & { analyticFn?: (...inputs: Tensor[]) => Tensor } = {}): GradientComparison[] {
  const h = options.step ?? 1e-2;
  const rng = new Generator(options.seed ?? 1234);
  const leaves = leafCopies(inputs);
  const y = (options.analyticFn ?? fn)(...leaves);
  const gy = new Float32Array(y.numel);
  for (let i = 0; i < gy.length; i++) gy[i] = rng.normal();
  assert.ok(y.requiresGrad, 'gradcheck: the output does not require a gradient (no input requires one?)');
  y.backward(new Tensor(gy.slice(), y.shape));

  const results: GradientComparison[] = [];
  const probes = leafCopies(inputs).map((t) => new Tensor(t.data, t.shape)); // no requiresGrad: forward only
  leaves.forEach((leaf, i) => {
    if (!leaf.requiresGrad) return;
    assert.ok(leaf.grad, `gradcheck: input ${i} requires a gradient but backward() left none`);
    const analytic = leaf.grad.data;
    const data = probes[i]!.data;
    const max = options.maxCoordinates ?? 48;
    const coords = data.length <= max ? [...Array(data.length).keys()] : [...rng.permutation(data.length).subarray(0, max)];
    for (const j of coords) {
      const v = data[j]!;
      data[j] = v + h;
      const plus = data[j]!;
      const lPlus = objective(fn, probes, gy);
      data[j] = v - h;
      const minus = data[j]!;
      const lMinus = objective(fn, probes, gy);
      data[j] = v;
      results.push({ input: i, coordinate: j, analytic: analytic[j]!, numeric: (lPlus - lMinus) / (plus - minus) });
    }
  });
  return results;
}

/** The comparisons that violate |analytic - numeric| <= atol + rtol * |numeric|. */
export function gradientViolations(results: GradientComparison[], options: GradcheckOptions = {}): GradientComparison[] {
  const rtol = options.rtol ?? 1e-2, atol = options.atol ?? 2e-3;
  return results.filter((r) => !(Math.abs(r.analytic - r.numeric) <= atol + rtol * Math.abs(r.numeric)));
}

/** Assert autograd's gradients of `fn` match central differences (see the header for the bound). */
export function gradcheck(label: string, fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): void {
  const results = compareGradients(fn, inputs, options);
  assert.ok(results.length > 0, `${label}: no coordinates were checked`);
  // A check that only ever sees zero gradients proves nothing.
  assert.ok(results.some((r) => Math.abs(r.numeric) > 1e-3), `${label}: every numerical gradient is ~0; the check is vacuous`);
  const bad = gradientViolations(results, options);
  if (bad.length > 0) {
    const shown = bad.slice(0, 5).map((r) => `input ${r.input}[${r.coordinate}]: autograd ${r.analytic.toPrecision(6)}, numeric ${r.numeric.toPrecision(6)}`);
    assert.fail(`${label}: ${bad.length}/${results.length} gradient entries differ from central differences\n  ${shown.join('\n  ')}`);
  }
}

/** Standard normal float32 values from a seeded generator; `scale` multiplies. */
export function normalData(n: number, seed: number, scale = 1): Float32Array {
  const g = new Generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.normal() * scale;
  return out;
}

/** A leaf tensor of seeded normal values that requires a gradient. */
export function randomLeaf(shape: number[], seed: number, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = new Tensor(normalData(n, seed, scale), shape);
  t.requiresGrad = true;
  return t;
}

/** Move every value at least `margin` away from each kink (e.g. 0 for relu/abs): keeps the sign, pushes outward. */
export function awayFromKinks(t: Tensor, kinks: number[], margin: number): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    for (const k of kinks) {
      const off = d[i]! - k;
      if (Math.abs(off) < margin) d[i] = k + (off >= 0 ? margin : -margin) + off;
    }
  }
  return t;
}

/**
 * Replace the values by a random permutation of distinct levels spaced `gap` apart (centred on 0), so
 * max/min/pool windows never have near-ties within a perturbation of h < gap/2.
 */
export function distinct(t: Tensor, seed: number, gap = 0.05): Tensor {
  const n = t.data.length;
  const perm = new Generator(seed).permutation(n);
  for (let i = 0; i < n; i++) t.data[i] = (perm[i]! - (n - 1) / 2) * gap;
  return t;
}
