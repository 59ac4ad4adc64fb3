// The native backend's pre-packed GEMM (packGemmB + gemmPacked, the inference path of frozen linear weights) gives
// the same bits as gemm followed by biasActivation: at every ISA level this CPU runs, with 1 and 2 threads, for
// shapes with edge tiles in every direction, both layouts of B and every activation. After setIsa the packed
// matrix is repacked for the new level's panel width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVATIONS } from '../../src/backend/backend.js';
import { loadNativeBackend, type NativeBackend } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { random } from './support/random.js';

const native: NativeBackend | null = await loadNativeBackend().catch(() => null);
const skip = native ? false : 'the native addon is not built (npm run build:native)';


/** [m, n, k]: the MLP's layers, edge tiles (m, n not multiples of any panel), k past the K block, tiny and empty k. */
const SHAPES: [number, number, number][] = [
  [256, 256, 784], [64, 10, 256], [7, 33, 5], [1, 1, 1], [13, 300, 1100], [50, 17, 2049], [3, 40, 0],
];

function bitsEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what}: element ${i} is ${actual[i]}, gemm + biasActivation gave ${expected[i]}`);
  }
}

test('gemmPacked equals gemm + biasActivation bit for bit (every ISA level, 1 and 2 threads, both B layouts, every activation)', { skip }, async () => {
  const be = native!;
  const levels = be.availableIsas().filter((l) => l.supported).map((l) => l.name);
  const before = be.isa, threadsBefore = be.threads ?? 1;
  try {
    for (const level of levels) {
      be.setIsa(level);
      for (const threads of [1, 2]) {
        await be.setThreads!(threads);
        for (const [m, n, k] of SHAPES) {
          for (const transB of [true, false]) {
            const a = random(3 + m * k, m + n), b = random(5 + k * n, k + 7), bias = random(n, n);
            const packed = be.packGemmB!(transB, n, k, b, 5);
            for (const activation of ACTIVATIONS) {
              for (const withBias of [true, false]) {
                const expected = random(2 + m * n, 99), actual = random(2 + m * n, 98);
                be.gemm(false, transB, m, n, k, a, 3, b, 5, expected, 2, false);
                if (withBias || activation !== 'none') be.biasActivation(expected.subarray(2), withBias ? bias : null, m, n, activation);
                be.gemmPacked!(m, a, 3, packed, actual, 2, withBias ? bias : null, activation);
                assert.equal(actual[1], random(2, 98)[1], 'the offset prefix of C is untouched');
                bitsEqual(actual.subarray(2), expected.subarray(2), `${level}, ${threads} threads, ${m}x${n}x${k}, transB ${transB}, ${activation}${withBias ? ' + bias' : ''}`);
              }
            }
          }
        }
      }
    }
  } finally {
    be.setIsa(before);
    await be.setThreads!(threadsBefore);
  }
});

test('gemmPacked agrees with the reference backend, and a packed matrix does not follow later writes to B', { skip }, () => {
  const be = native!;
  const m = 9, n = 21, k = 37;
  const a = random(m * k, 1), b = random(n * k, 2), bias = random(n, 3);
  const packed = be.packGemmB!(true, n, k, b, 0);
  const expected = new Float32Array(m * n);
  referenceBackend.gemm(false, true, m, n, k, a, 0, b, 0, expected, 0, false);
  referenceBackend.biasActivation(expected, bias, m, n, 'relu');
  b.fill(0); // written after packing: not seen
  const actual = new Float32Array(m * n);
  be.gemmPacked!(m, a, 0, packed, actual, 0, bias, 'relu');
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst < 1e-5, `largest difference from the reference ${worst}`);
  assert.ok(actual.some((v) => v !== 0), 'the product used the packed values, not the zeroed B');
});

test('after setIsa a packed matrix is repacked for the new level', { skip }, () => {
  const be = native!;
  const levels = be.availableIsas().filter((l) => l.supported).map((l) => l.name);
  if (levels.length < 2) return;
  const before = be.isa;
  try {
    const m = 5, n = 70, k = 19;
    const a = random(m * k, 1), b = random(k * n, 2);
    be.setIsa(levels[0]!);
    const packed = be.packGemmB!(false, n, k, b, 0);
    be.setIsa(levels[levels.length - 1]!);
    const expected = new Float32Array(m * n), actual = new Float32Array(m * n);
    be.gemm(false, false, m, n, k, a, 0, b, 0, expected, 0, false);
    be.gemmPacked!(m, a, 0, packed, actual, 0, null, 'none');
    bitsEqual(actual, expected, `packed at ${levels[0]}, run at ${levels[levels.length - 1]}`);
  } finally {
    be.setIsa(before);
  }
});

test('gemmPacked refuses a matrix packed elsewhere and arrays shorter than the geometry, naming the argument', { skip }, () => {
  const be = native!;
  const packed = be.packGemmB!(true, 4, 3, random(12, 1), 0);
  assert.throws(() => be.gemmPacked!(2, random(6, 2), 0, { backend: 'wasm', n: 4, k: 3 }, new Float32Array(8), 0, null, 'none'), /packed by the native backend, got one packed by 'wasm'/);
  assert.throws(() => be.gemmPacked!(2, random(5, 2), 0, packed, new Float32Array(8), 0, null, 'none'), /\ba\b/);
  assert.throws(() => be.gemmPacked!(2, random(6, 2), 0, packed, new Float32Array(7), 0, null, 'none'), /\bc\b/);
  assert.throws(() => be.gemmPacked!(2, random(6, 2), 0, packed, new Float32Array(8), 0, new Float32Array(3), 'none'), /bias/);
});

test('optimizeForInference packs every Linear on native: the same logits bit for bit, and the pack is dropped when the weights may change', { skip }, async () => {
  const { models, nn, noGrad, tensor } = await import('../../src/index.js');
  const { getBackend, useBackend } = await import('../../src/backend/registry.js');
  const previous = getBackend();
  useBackend(native!);
  try {
    const net = models.create('mlp');
    net.eval();
    const x = tensor(random(5 * 784, 11), [5, 1, 28, 28]);
    const copy = nn.optimizeForInference(net, x);
    const linears = [...copy.modules()].filter((m): m is InstanceType<typeof nn.Linear> => m instanceof nn.Linear);
    assert.equal(linears.length, 3);
    assert.ok(linears.every((l) => l.packedWeight !== null), 'every Linear of the copy is packed');
    assert.ok([...net.modules()].every((m) => !(m instanceof nn.Linear) || m.packedWeight === null), 'the model itself is untouched');
    const expected = noGrad(() => net.forward(x)).toFloat32Array();
    bitsEqual(noGrad(() => copy.forward(x)).toFloat32Array(), expected, 'packed copy vs model');
    // another backend ignores the pack
    useBackend(referenceBackend);
    const onReference = noGrad(() => copy.forward(x)).toFloat32Array();
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(onReference[i]! - expected[i]!) < 1e-5, `reference logit ${i}`);
    useBackend(native!);
    // loadStateDict drops the pack, so new weights are seen
    const zeroed = Object.fromEntries(Object.entries(copy.stateDict()).map(([k, t]) => [k, tensor(new Float32Array(t.numel), [...t.shape])]));
    copy.loadStateDict(zeroed);
    assert.ok(linears.every((l) => l.packedWeight === null), 'loadStateDict drops the packs');
    assert.ok(noGrad(() => copy.forward(x)).toFloat32Array().every((v) => v === 0), 'zero weights give zero logits');
    // a forward that records the weights' gradients drops the pack
    assert.ok(linears[0]!.packForInference());
    copy.forward(x);
    assert.equal(linears[0]!.packedWeight, null, 'a forward with the tape on drops the pack');
  } finally {
    useBackend(previous);
  }
});
