// The native backend's two promises about threads and ISA levels:
// - 1 and 2 threads give identical bits, for every kernel of the Backend contract and for a whole training step of
//   lenet5, vggsmall_bn and resnet20 (kernels cut their work from the geometry alone; the work threshold is 0 here,
//   so every kernel with more than one task really runs on both threads);
// - every ISA level this CPU runs agrees with the reference backend within rounding; a level it lacks is skipped,
//   saying so (never run as another level).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS, type Backend, type Conv2dGeometry, type Pool2dGeometry } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { getBackend, useBackend } from '../../src/backend/registry.js';
import { loadNativeBackend, type NativeBackend, type NativeIsaLevel } from '../../src/backend/native/index.js';
import { F, manualSeed, models, optim, randn } from '../../src/index.js';
import { random } from './support/random.js';

const native: NativeBackend | null = await loadNativeBackend().catch(() => null);
const skipAll = native ? false : 'the native addon is not built (npm run build:native)';

const positive = (n: number, seed: number) => random(n, seed).map((v) => Math.abs(v) + 0.1);

function convGeometry(n: number, cIn: number, h: number, w: number, cOut: number, k: number, stride: number, pad: number, groups = 1, dilation = 1): Conv2dGeometry {
  const outH = Math.floor((h + 2 * pad - dilation * (k - 1) - 1) / stride) + 1, outW = Math.floor((w + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
  return { n, cIn, h, w, cOut, kh: k, kw: k, strideH: stride, strideW: stride, padH: pad, padW: pad, dilationH: dilation, dilationW: dilation, groups, outH, outW };
}
function poolGeometry(n: number, c: number, h: number, w: number, k: number, stride: number, pad: number): Pool2dGeometry {
  const outH = Math.floor((h + 2 * pad - k) / stride) + 1, outW = Math.floor((w + 2 * pad - k) / stride) + 1;
  return { n, c, h, w, kh: k, kw: k, strideH: stride, strideW: stride, padH: pad, padW: pad, dilationH: 1, dilationW: 1, outH, outW };
}
const numel = (g: Conv2dGeometry) => ({ x: g.n * g.cIn * g.h * g.w, w: g.cOut * (g.cIn / g.groups) * g.kh * g.kw, y: g.n * g.cOut * g.outH * g.outW });

/** A kernel call on fresh inputs; returns every array it wrote. `tolerance`: normwise error allowed against reference. */
interface KernelCase { name: string; tolerance?: number; run(b: Backend): (Float32Array | Int32Array)[] }

const cases: KernelCase[] = [];
for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  cases.push({
    name: `gemm transA=${transA} transB=${transB} (offsets, accumulate)`, tolerance: 1e-5,
    run: (b) => {
      const m = 70, n = 90, k = 130, c = random(5 + m * n, 3);
      b.gemm(transA, transB, m, n, k, random(3 + m * k, 1), 3, random(7 + k * n, 2), 7, c, 5, true);
      return [c];
    },
  });
}
const convs: [string, Conv2dGeometry][] = [
  ['3x3 pad 1 (Winograd-sized)', convGeometry(4, 16, 16, 16, 16, 3, 1, 1)],
  ['5x5 stride 2 grouped', convGeometry(3, 8, 15, 13, 12, 5, 2, 2, 4)],
  ['1x1', convGeometry(4, 24, 9, 9, 10, 1, 1, 0)],
  ['3x3 dilation 2 depthwise', convGeometry(2, 12, 14, 14, 12, 3, 1, 2, 12, 2)],
];
for (const [label, g] of convs) {
  const s = numel(g);
  cases.push({ name: `conv2d ${label}`, tolerance: 1e-5, run: (b) => { const out = new Float32Array(s.y); b.conv2d(random(s.x, 1), random(s.w, 2), random(g.cOut, 3), g, out); return [out]; } });
  cases.push({ name: `conv2dBackwardInput ${label}`, tolerance: 1e-5, run: (b) => { const gx = random(s.x, 9); b.conv2dBackwardInput(random(s.y, 4), random(s.w, 2), g, gx); return [gx]; } });
  cases.push({ name: `conv2dBackwardWeight ${label}`, tolerance: 1e-5, run: (b) => { const gw = random(s.w, 9); b.conv2dBackwardWeight(random(s.x, 1), random(s.y, 4), g, gw); return [gw]; } });
}
{
  const g = convGeometry(4, 8, 16, 16, 16, 3, 1, 1), s = numel(g);
  cases.push({
    name: 'conv2dFused relu + 2x2 max pool (or the separate kernels)', tolerance: 1e-5,
    run: (b) => {
      const x = random(s.x, 1), w = random(s.w, 2), bias = random(g.cOut, 3);
      const fused = b.conv2dFused?.(x, w, bias, g, { activation: 'relu', maxPool2x2: true });
      if (fused) return [fused];
      const y = new Float32Array(s.y), p = poolGeometry(g.n, g.cOut, g.outH, g.outW, 2, 2, 0), out = new Float32Array(g.n * g.cOut * p.outH * p.outW);
      b.conv2d(x, w, bias, g, y);
      b.biasActivation(y, null, g.n * g.cOut, g.outH * g.outW, 'relu');
      b.maxPool2d(y, p, out, null);
      return [out];
    },
  });
  const lc = convGeometry(4, 3, 9, 9, 5, 3, 2, 1), lcw = lc.outH * lc.outW * lc.cOut * lc.cIn * lc.kh * lc.kw;
  cases.push({ name: 'locallyConnected2d', tolerance: 1e-5, run: (b) => { const out = new Float32Array(numel(lc).y); b.locallyConnected2d(random(numel(lc).x, 1), random(lcw, 2), random(lc.cOut * lc.outH * lc.outW, 3), lc, out); return [out]; } });
  cases.push({ name: 'locallyConnected2dBackwardInput', tolerance: 1e-5, run: (b) => { const gx = new Float32Array(numel(lc).x); b.locallyConnected2dBackwardInput(random(numel(lc).y, 4), random(lcw, 2), lc, gx); return [gx]; } });
  cases.push({ name: 'locallyConnected2dBackwardWeight', tolerance: 1e-5, run: (b) => { const gw = new Float32Array(lcw); b.locallyConnected2dBackwardWeight(random(numel(lc).x, 1), random(numel(lc).y, 4), lc, gw); return [gw]; } });
}
// rows of 14 and 7 outputs end with a vector overlapping the one before (native/src/isa/pool2d.cc) on AVX2 and SSE2
for (const [label, p] of [['2x2 stride 2', poolGeometry(8, 16, 16, 16, 2, 2, 0)], ['2x2 stride 2, 14 of 29 columns', poolGeometry(4, 6, 28, 29, 2, 2, 0)],
  ['2x2 stride 2, 7 columns', poolGeometry(4, 6, 14, 14, 2, 2, 0)],
  ['2x2 stride 2, odd 15x13 planes', poolGeometry(3, 5, 15, 13, 2, 2, 0)], ['3x3 stride 2 pad 1', poolGeometry(4, 16, 15, 17, 3, 2, 1)]] as const) {
  const inN = p.n * p.c * p.h * p.w, outN = p.n * p.c * p.outH * p.outW;
  cases.push({ name: `maxPool2d ${label}`, run: (b) => { const out = new Float32Array(outN), idx = new Int32Array(outN); b.maxPool2d(random(inN, 1), p, out, idx); return [out, idx]; } });
  cases.push({
    name: `maxPool2dBackward ${label}`,
    run: (b) => {
      const out = new Float32Array(outN), idx = new Int32Array(outN), gx = new Float32Array(inN);
      referenceBackend.maxPool2d(random(inN, 1), p, out, idx);
      b.maxPool2dBackward(random(outN, 2), idx, p, gx);
      return [gx];
    },
  });
  if (label.startsWith('2x2')) {
    // the tiling windows' one-pass gradient (no zero pass): -0, NaN and infinite gradients, gx starting as garbage
    cases.push({
      name: `maxPool2dBackward ${label}, -0, NaN and infinite gradients`,
      run: (b) => {
        const out = new Float32Array(outN), idx = new Int32Array(outN), gx = random(inN, 7), gy = random(outN, 2);
        referenceBackend.maxPool2d(random(inN, 1), p, out, idx);
        gy[0] = -0; gy[1] = NaN; gy[2] = Infinity; gy[outN - 1] = -0;
        b.maxPool2dBackward(gy, idx, p, gx);
        return [gx];
      },
    });
  }
  for (const countIncludePad of [true, false]) {
    cases.push({ name: `avgPool2d ${label} countIncludePad=${countIncludePad}`, run: (b) => { const out = new Float32Array(outN); b.avgPool2d(random(inN, 1), p, countIncludePad, 0, out); return [out]; } });
    cases.push({ name: `avgPool2dBackward ${label} countIncludePad=${countIncludePad}`, run: (b) => { const gx = random(inN, 5); b.avgPool2dBackward(random(outN, 2), p, countIncludePad, 0, gx); return [gx]; } });
  }
}
const LONG = 50_000; // several tasks of the flat kernels (16,384 floats each)
for (const op of UNARY_OPS) {
  cases.push({
    name: `unary ${op}`, tolerance: 1e-6,
    run: (b) => {
      const x = random(LONG, 1);
      x[5] = NaN; x[6] = Infinity; x[7] = -Infinity; x[8] = -0;
      const out = new Float32Array(LONG);
      b.unary(op, x, out);
      return [out];
    },
  });
}
for (const op of BINARY_OPS) {
  const shapes: [number[], number[], number[]][] = [[[LONG], [LONG], [LONG]], [[64, 1, 25], [1, 30, 25], [64, 30, 25]], [[40, 1, 1, 3, 1, 2, 1, 5, 1, 2], [1, 3, 2, 1, 4, 1, 3, 1, 2, 1], [40, 3, 2, 3, 4, 2, 3, 5, 2, 2]], [[3], [], [3]]];
  for (const [aShape, bShape, outShape] of shapes) {
    const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
    cases.push({
      name: `binary ${op} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`, tolerance: 1e-6,
      run: (b) => {
        const a = op === 'pow' ? positive(size(aShape), 1) : random(size(aShape), 1), c = random(size(bShape), 2);
        a[0] = NaN;
        const out = new Float32Array(size(outShape));
        b.binary(op, a, aShape, c, bShape, out, outShape);
        return [out];
      },
    });
  }
}
for (const op of REDUCE_OPS) {
  for (const [shape, axes] of [[[8, 16, 300], [2]], [[8, 16, 300], [0]], [[8, 16, 300], [0, 2]], [[3, 4, 5, 6, 7], [0, 2, 4]], [[100000], [0]]] as [number[], number[]][]) {
    const n = shape.reduce((p, d) => p * d, 1), outN = shape.reduce((p, d, i) => (axes.includes(i) ? p : p * d), 1);
    cases.push({ name: `reduce ${op} ${JSON.stringify(shape)} over ${JSON.stringify(axes)}`, tolerance: 1e-5, run: (b) => { const out = new Float32Array(outN); b.reduce(op, random(n, 1), shape, axes, out); return [out]; } });
  }
}
for (const activation of ['none', 'relu', 'sigmoid', 'tanh'] as const) {
  cases.push({ name: `biasActivation ${activation}`, tolerance: 1e-6, run: (b) => { const out = random(500 * 130, 1); b.biasActivation(out, random(130, 2), 500, 130, activation); return [out]; } });
  cases.push({ name: `biasActivation ${activation} without bias`, tolerance: 1e-6, run: (b) => { const out = random(LONG, 1); b.biasActivation(out, null, 1, LONG, activation); return [out]; } });
  cases.push({ name: `activationBackward ${activation}`, tolerance: 1e-6, run: (b) => { const gx = new Float32Array(LONG); b.activationBackward(random(LONG, 1), random(LONG, 2), gx, activation); return [gx]; } });
}
{
  const rows = 300, cols = 37;
  const target = Int32Array.from({ length: rows }, (_, r) => (r % 11 === 0 ? -1 : (r * 7) % cols));
  cases.push({ name: 'logSoftmax', tolerance: 1e-6, run: (b) => { const out = new Float32Array(rows * cols); b.logSoftmax(random(rows * cols, 1), rows, cols, out); return [out]; } });
  for (const [weighted, eps] of [[false, 0], [true, 0.1]] as const) {
    const weight = weighted ? positive(cols, 3) : null;
    cases.push({
      name: `softmaxCrossEntropy + backward (weights ${weighted}, smoothing ${eps})`, tolerance: 1e-6,
      run: (b) => {
        const x = random(rows * cols, 1), loss = new Float32Array(rows), lse = new Float32Array(2 * rows), gx = new Float32Array(rows * cols);
        b.softmaxCrossEntropy(x, rows, cols, target, weight, eps, loss, lse);
        b.softmaxCrossEntropyBackward(x, lse, rows, cols, target, weight, eps, positive(rows, 4), gx);
        return [loss, lse, gx];
      },
    });
  }
}
cases.push({
  name: 'sgdStep (momentum, nesterov, weight decay)', tolerance: 1e-6,
  run: (b) => {
    const p = random(LONG, 1), buf = random(LONG, 3);
    b.sgdStep(p, random(LONG, 2), buf, false, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true, weightDecay: 1e-3, maximize: false });
    return [p, buf];
  },
});
for (const [decoupled, amsgrad] of [[false, true], [true, false]] as const) {
  cases.push({
    name: `adamStep (decoupled ${decoupled}, amsgrad ${amsgrad})`, tolerance: 1e-6,
    run: (b) => {
      const p = random(LONG, 1), m = random(LONG, 3), v = positive(LONG, 4), vMax = amsgrad ? positive(LONG, 5) : null;
      b.adamStep(p, random(LONG, 2), m, v, vMax, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, decoupled, maximize: false, step: 7 });
      return vMax ? [p, m, v, vMax] : [p, m, v];
    },
  });
}
{
  const n = 16, c = 12, hw = 15 * 15;
  cases.push({ name: 'channelMoments', tolerance: 1e-6, run: (b) => { const mean = new Float32Array(c), variance = new Float32Array(c); b.channelMoments(random(n * c * hw, 1).map((v) => v + 3), n, c, hw, mean, variance); return [mean, variance]; } });
  cases.push({ name: 'batchNormApply', tolerance: 1e-6, run: (b) => { const out = new Float32Array(n * c * hw); b.batchNormApply(random(n * c * hw, 1), n, c, hw, random(c, 2), positive(c, 3), random(c, 4), random(c, 5), out); return [out]; } });
  for (const training of [true, false]) {
    cases.push({
      name: `batchNormBackward training=${training}`, tolerance: 1e-5,
      run: (b) => {
        const gx = new Float32Array(n * c * hw), gw = new Float32Array(c), gb = new Float32Array(c);
        b.batchNormBackward(random(n * c * hw, 1), random(n * c * hw, 2), n, c, hw, random(c, 3), positive(c, 4), random(c, 5), training, gx, gw, gb);
        return [gx, gw, gb];
      },
    });
  }
}

const bits = (a: Float32Array | Int32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
function firstDifference(a: Float32Array | Int32Array, b: Float32Array | Int32Array): number {
  const x = bits(a), y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : x.length;
}
/** max |a - b| / max |b|, with NaN required in the same places. */
function normwiseError(a: Float32Array | Int32Array, b: Float32Array | Int32Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i]!) !== Number.isNaN(a[i]!)) return Infinity;
    if (Number.isNaN(b[i]!) || a[i] === b[i]) { if (Number.isFinite(b[i]!)) scale = Math.max(scale, Math.abs(b[i]!)); continue; }
    if (!Number.isFinite(b[i]!) || !Number.isFinite(a[i]!)) return Infinity;
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

const skipReason = (level: NativeIsaLevel): string =>
  `this CPU has no ${level.name === 'avx512' ? 'AVX-512' : level.name === 'avx2' ? 'AVX2 + FMA' : level.name} (lacks ${level.missingFlags.join(', ')})`;
const levels = native?.availableIsas() ?? [];

test('every kernel: 1 and 2 threads give identical bits, at every ISA level this CPU runs', { skip: skipAll }, async (t) => {
  const nb = native!, isa = nb.isa;
  nb.setParallelThreshold(0);
  try {
    for (const level of levels) {
      if (!level.supported) { t.diagnostic(`${level.name} skipped: ${skipReason(level)}`); continue; }
      nb.setIsa(level.name);
      for (const c of cases) {
        await nb.setThreads(1);
        const one = c.run(nb);
        await nb.setThreads(2);
        const two = c.run(nb);
        one.forEach((o, i) => {
          const at = firstDifference(o, two[i]!);
          assert.equal(at, -1, `${level.name} ${c.name}: output ${i} differs between 1 and 2 threads at element ${at} (${o[at]} vs ${two[i]![at]})`);
        });
      }
    }
  } finally {
    nb.setIsa(isa);
    nb.setParallelThreshold(20_000);
  }
});

for (const level of levels) {
  test(`ISA level ${level.name}: every kernel agrees with the reference backend`, { skip: skipAll || (level.supported ? false : skipReason(level)) }, async () => {
    const nb = native!, isa = nb.isa;
    nb.setIsa(level.name);
    assert.equal(nb.isa, level.name);
    await nb.setThreads(2);
    try {
      for (const c of cases) {
        const ours = c.run(nb), expected = c.run(referenceBackend);
        ours.forEach((o, i) => {
          if (o instanceof Int32Array || c.tolerance === undefined) {
            const at = firstDifference(o, expected[i]!);
            assert.equal(at, -1, `${level.name} ${c.name}: output ${i} differs from reference at element ${at} (${o[at]} vs ${expected[i]![at]})`);
          } else {
            const err = normwiseError(o, expected[i]!);
            assert.ok(err <= c.tolerance, `${level.name} ${c.name}: output ${i} is ${err.toExponential(2)} from reference (allowed ${c.tolerance})`);
          }
        });
      }
    } finally {
      nb.setIsa(isa);
    }
  });
}

test('the check of the check: a wrong kernel fails both comparisons', { skip: skipAll }, () => {
  const nb = native!;
  const wrong = { ...nb, unary: (op: Parameters<Backend['unary']>[0], x: Float32Array, out: Float32Array) => { nb.unary(op, x, out); out[LONG - 1] = out[LONG - 1]! * 1.0001; } } as Backend;
  const c = cases.find((k) => k.name === 'unary exp')!;
  assert.ok(normwiseError(c.run(wrong)[0]!, c.run(referenceBackend)[0]!) > c.tolerance!);
  assert.notEqual(firstDifference(c.run(wrong)[0]!, c.run(nb)[0]!), -1);
});

/** One SGD training step of a zoo model from a fixed seed: the loss, then every parameter after the update. */
function trainingStep(model: string, inChannels: number, size: number, batch: number): Float32Array[] {
  manualSeed(7);
  const net = models.create(model, { numClasses: 10, inChannels, inputSize: [size, size] });
  net.train();
  const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const x = randn([batch, inChannels, size, size]);
  const y = Int32Array.from({ length: batch }, (_, i) => (i * 3) % 10);
  const loss = F.crossEntropy(net.forward(x), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  return [Float32Array.from(loss.data), ...net.parameters().map((p) => Float32Array.from(p.data))];
}

for (const [model, inChannels, size, batch] of [['lenet5', 1, 28, 8], ['vggsmall_bn', 3, 32, 4], ['resnet20', 3, 32, 4]] as const) {
  test(`a training step of ${model} (batch ${batch}): 1 and 2 threads give identical loss and weights`, { skip: skipAll }, async () => {
    const nb = native!, previous = getBackend();
    useBackend(nb);
    nb.setParallelThreshold(0);
    try {
      await nb.setThreads(1);
      const one = trainingStep(model, inChannels, size, batch);
      await nb.setThreads(2);
      const two = trainingStep(model, inChannels, size, batch);
      assert.equal(one.length, two.length);
      one.forEach((o, i) => {
        const at = firstDifference(o, two[i]!);
        assert.equal(at, -1, `${model}: ${i === 0 ? 'the loss' : `parameter ${i - 1}`} differs between 1 and 2 threads at element ${at}`);
      });
      assert.ok(Number.isFinite(one[0]![0]!), `${model}: the loss is ${one[0]![0]}`);
    } finally {
      nb.setParallelThreshold(20_000);
      useBackend(previous);
    }
  });
}

test('kernels read and write the callers\' arrays in place, at their byteOffset (subarrays, no copies)', { skip: skipAll }, () => {
  const nb = native!;
  const backing = random(1000, 11), parent = new Float32Array(1000).fill(7);
  const x = backing.subarray(3, 803), out = parent.subarray(5, 805);
  nb.unary('exp', x, out);
  const expected = new Float32Array(800);
  referenceBackend.unary('exp', x, expected);
  assert.equal(firstDifference(out, expected), -1, 'the subarray result');
  assert.equal(parent[4], 7, 'the element before the subarray is untouched');
  assert.equal(parent[805], 7, 'the element after the subarray is untouched');
  assert.equal(parent[5], expected[0], 'the parent array sees the result (written in place)');
});
