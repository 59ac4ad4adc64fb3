// The native batch-norm kernels (native/src/isa/norm.cc) sum in f32 blocks and redo a channel in f64 where those
// sums overflow or meet NaN or infinity: at every ISA level this CPU runs, such channels give the reference backend's
// statistics and gradients (NaN where it has NaN, not a clamped 0 variance), and ordinary ones stay within rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceBackend } from '../../src/backend/reference/index.js';
import type { Backend } from '../../src/backend/backend.js';
import { loadNativeBackend, type NativeBackend } from '../../src/backend/native/index.js';

const native: NativeBackend | null = await loadNativeBackend().catch(() => null);
const skip = native ? false : 'the native addon is not built (npm run build:native)';

// (4, 3, 37): rows with vector parts and scalar tails; channel 1 carries the special values.
const n = 4, c = 3, hw = 37;
function inputs(kind: string): { x: Float32Array; gy: Float32Array } {
  let s = 5;
  const x = Float32Array.from({ length: n * c * hw }, () => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32 - 0.3; });
  const gy = x.map((_, i) => Math.sin(i));
  const at = (b: number, i: number) => (b * c + 1) * hw + i;
  if (kind === 'NaN') x[at(0, 3)] = NaN;
  if (kind === 'infinity') x[at(1, 36)] = Infinity; // in a row's scalar tail
  if (kind === '+-infinity') { x[at(0, 5)] = Infinity; x[at(3, 7)] = -Infinity; }
  if (kind === '3e37 (f32 sums overflow)') for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) x[at(b, i)] = 3e37 * (1 + i / 64);
  if (kind === 'gy infinity') gy[at(2, 10)] = Infinity;
  return { x, gy };
}

function run(be: Backend, x: Float32Array, gy: Float32Array) {
  const mean = new Float32Array(c), variance = new Float32Array(c);
  be.channelMoments(x, n, c, hw, mean, variance);
  const invStd = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
  const weight = new Float32Array([0.5, 2, -1]), bias = new Float32Array([0.1, -0.2, 0.3]);
  const out = new Float32Array(x.length), gx = new Float32Array(x.length), gw = new Float32Array(c), gb = new Float32Array(c);
  be.batchNormApply(x, n, c, hw, mean, invStd, weight, bias, out);
  be.batchNormBackward(x, gy, n, c, hw, mean, invStd, weight, true, gx, gw, gb);
  return { mean, variance, out, gx, gw, gb };
}

if (!native) test('native batch norm: non-finite and overflowing channels match the reference', { skip }, () => {});
for (const level of native?.availableIsas() ?? []) {
  test(`native batch norm at ${level.name}: non-finite and overflowing channels match the reference`, { skip: level.supported ? false : `${level.name} does not run on this CPU` }, () => {
    const nb = native!, isa = nb.isa;
    nb.setIsa(level.name);
    try {
      for (const kind of ['none', 'NaN', 'infinity', '+-infinity', '3e37 (f32 sums overflow)', 'gy infinity']) {
        const { x, gy } = inputs(kind);
        const got = run(nb, x, gy), want = run(referenceBackend, x, gy);
        for (const key of ['mean', 'variance', 'out', 'gx', 'gw', 'gb'] as const) {
          want[key].forEach((v, i) => {
            const g = got[key][i]!;
            const same = Object.is(v, g) || (Number.isNaN(v) && Number.isNaN(g)) || Math.abs(g - v) <= 1e-5 * Math.max(1, Math.abs(v));
            assert.ok(same, `${level.name}, ${kind}: ${key}[${i}] is ${g}, the reference ${v}`);
          });
        }
      }
    } finally {
      nb.setIsa(isa);
    }
  });
}
