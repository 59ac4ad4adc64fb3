// ONNX import (issue 18, part 3): files exported by PyTorch 1.13 (test/fixtures/onnx, tools/gen_onnx_fixtures.py) run
// in convkit and give PyTorch's outputs; convkit's own exports come back with the same outputs, state-dict keys and
// training behaviour; the imported module trains; unsupported operators and malformed (fuzzed) files are typed
// errors naming the problem; `convkit import --onnx` makes a checkpoint that eval and predict use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { F, manualSeed, models, noGrad, optim, Tensor, train, type nn } from '../../src/index.js';
import { DataLoader } from '../../src/data/loader.js';
import type { Checkpoint } from '../../src/io/checkpoint.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';
import { exportOnnx } from '../../src/io/onnx/export.js';
import { importOnnx, OnnxImportError, OnnxModule } from '../../src/io/onnx/import.js';
import { encodeModel, ONNX_FLOAT, ONNX_INT64, ATTR } from '../../src/io/onnx/proto.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/onnx');
interface FixtureCase { name: string; file: string; opset: number; input_shape: number[]; output_shape: number[]; input: number[]; output: number[]; ops: string[]; note: string }
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { torch: string; models: FixtureCase[] };
const fixtureBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, file)));

/** Largest |a - b| / max(1, |b|). */
function worstDifference(a: Float32Array | readonly number[], b: Float32Array | readonly number[]): number {
  assert.equal(a.length, b.length, 'output sizes differ');
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

const forward = (net: nn.Module, x: Tensor): Tensor => noGrad(() => net.forward(x));

test('the fixtures cover the operator set (and the opset 9 and 11 attribute forms)', () => {
  const ops = new Set(manifest.models.flatMap((m) => m.ops));
  for (const op of ['Conv', 'Gemm', 'Add', 'Relu', 'Sigmoid', 'Tanh', 'Clip', 'LeakyRelu', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization', 'Concat', 'Flatten', 'Reshape', 'LRN', 'Pad', 'Softmax', 'Shape', 'Gather', 'Unsqueeze', 'Constant']) {
    assert.ok(ops.has(op), `no fixture has ${op}`);
  }
  assert.deepEqual([...new Set(manifest.models.map((m) => m.opset))].sort(), [11, 13, 9]);
});

for (const fixture of manifest.models) {
  test(`PyTorch fixture ${fixture.name} (opset ${fixture.opset}: ${fixture.note}) imports and matches PyTorch to 1e-4`, (t) => {
    const net = importOnnx(fixtureBytes(fixture.file), { source: fixture.file });
    assert.ok(net instanceof OnnxModule);
    assert.deepEqual(net.info.sampleShape, fixture.input_shape.slice(1));
    assert.deepEqual(net.info.outputSampleShape, fixture.output_shape.slice(1));
    net.eval();
    const y = forward(net, new Tensor(Float32Array.from(fixture.input), fixture.input_shape));
    assert.deepEqual([...y.shape], fixture.output_shape);
    const worst = worstDifference(y.data, fixture.output);
    t.diagnostic(`${fixture.name}: largest difference ${worst.toExponential(2)}, ${net.numParameters()} parameters, ${net.info.foldedNodes} nodes folded`);
    assert.ok(worst <= 1e-4, `${fixture.name}: largest difference ${worst.toExponential(2)}`);
  });
}

test('parameters and buffers keep the ONNX names (PyTorch state-dict keys); BatchNorm statistics are buffers', () => {
  const net = importOnnx(fixtureBytes('vgg_bn.onnx'));
  const params = net.namedParameters();
  const paramNames = [...params].map(([k]) => k);
  assert.ok(paramNames.includes('features.0.weight') && paramNames.includes('features.1.weight') && paramNames.includes('classifier.2.bias'), paramNames.join(' '));
  assert.ok(!paramNames.some((k) => k.includes('running')), 'running statistics are not trained');
  const bufferNames = [...net.namedBuffers()].map(([k]) => k);
  assert.deepEqual(bufferNames.filter((k) => k.startsWith('features.1.')), ['features.1.running_mean', 'features.1.running_var']);
  // A name that is no dotted path still gets a key, and stateKeys says which.
  const residual = importOnnx(fixtureBytes('residual.onnx'));
  for (const [onnxName, key] of Object.entries(residual.info.stateKeys)) assert.ok(key in residual.stateDict(), `${onnxName} -> ${key}`);
});

// ---------------------------------------------------------------- round trips through convkit's export

const ROUND_TRIPS: [string, [number, number, number]][] = [
  ['mlp', [1, 28, 28]], ['lenet5', [1, 28, 28]], ['vggsmall_bn', [1, 28, 28]], ['resnet20', [3, 32, 32]], ['densenet_bc40', [3, 32, 32]],
];

for (const [name, shape] of ROUND_TRIPS) {
  test(`round trip: ${name} -> exportOnnx -> importOnnx gives the same outputs and state-dict keys`, () => {
    manualSeed(3);
    const net = models.create(name, { numClasses: 10, inChannels: shape[0], inputSize: [shape[1], shape[2]] });
    // Non-trivial BatchNorm statistics, so eval-mode outputs depend on them.
    for (const [key, t] of Object.entries(net.stateDict())) {
      if (key.endsWith('running_mean')) t.data.forEach((_, i) => { t.data[i] = 0.1 * Math.sin(i + 1); });
      if (key.endsWith('running_var')) t.data.forEach((_, i) => { t.data[i] = 1 + 0.5 * Math.cos(i); });
    }
    const imported = importOnnx(exportOnnx(net, { inputShape: shape, normalization: { mean: [0.5], std: [0.25] }, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] }), { source: name });
    assert.deepEqual(imported.info.normalization, { mean: [0.5], std: [0.25] });
    assert.equal(imported.info.classNames?.[9], 'j');
    net.eval(); imported.eval();
    manualSeed(4);
    const x = new Tensor(Float32Array.from({ length: 3 * shape[0] * shape[1] * shape[2] }, (_, i) => Math.sin(i * 0.37)), [3, ...shape]);
    const worst = worstDifference(forward(imported, x).data, forward(net, x).data);
    assert.ok(worst <= 1e-5, `${name}: largest difference ${worst.toExponential(2)}`);
    const ours = net.stateDict(), theirs = imported.stateDict();
    const expectedKeys = Object.keys(ours).filter((k) => !k.endsWith('num_batches_tracked')).sort();
    assert.deepEqual(Object.keys(theirs).sort(), expectedKeys);
    for (const k of expectedKeys) assert.deepEqual(theirs[k]!.toFloat32Array(), ours[k]!.toFloat32Array(), k);
  });
}

test('training mode matches the zoo model: resnet20 (BatchNorm on batch statistics) has the same loss, gradients and running statistics after one SGD step', () => {
  manualSeed(5);
  const net = models.create('resnet20', { numClasses: 10, inChannels: 3, inputSize: [32, 32] });
  const imported = importOnnx(exportOnnx(net, { inputShape: [3, 32, 32] }));
  const x = new Tensor(Float32Array.from({ length: 4 * 3 * 32 * 32 }, (_, i) => Math.cos(i * 0.11)), [4, 3, 32, 32]);
  const labels = Int32Array.from([1, 3, 5, 7]);
  const step = (m: nn.Module): number => {
    m.train();
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    opt.zeroGrad();
    const loss = F.crossEntropy(m.forward(x), labels);
    loss.backward();
    opt.step();
    return loss.data[0]!;
  };
  const lossNative = step(net), lossImported = step(imported);
  assert.ok(Math.abs(lossNative - lossImported) <= 1e-5, `loss ${lossNative} vs ${lossImported}`);
  const ours = net.stateDict(), theirs = imported.stateDict();
  for (const k of Object.keys(theirs)) {
    const worst = worstDifference(theirs[k]!.data, ours[k]!.data);
    assert.ok(worst <= 1e-4, `${k} after one step: largest difference ${worst.toExponential(2)}`);
  }
});

test('the imported module trains: a few SGD steps lower the loss on a real batch, and every parameter gets a gradient', () => {
  const net = importOnnx(fixtureBytes('vgg_bn.onnx'), { source: 'vgg_bn.onnx' });
  const data = loadEmbeddedFashionMnist('train');
  const n = 32;
  const x = new Float32Array(n * 784);
  const one = new Float32Array(784);
  for (let i = 0; i < n; i++) { data.copyImageTo(i, one); x.set(one, i * 784); }
  const batch = new Tensor(x, [n, 1, 28, 28]);
  const labels = data.labels.slice(0, n);
  const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
  const runningBefore = net.stateDict()['features.1.running_mean']!.toFloat32Array();
  manualSeed(6);
  net.train();
  const losses: number[] = [];
  for (let step = 0; step < 8; step++) {
    opt.zeroGrad();
    const loss = F.crossEntropy(net.forward(batch), labels);
    loss.backward();
    if (step === 0) {
      for (const [name, p] of net.namedParameters()) {
        assert.ok(p.grad, `${name} has no gradient`);
        assert.ok(p.grad!.data.some((g) => g !== 0), `${name}'s gradient is all zero`);
      }
    }
    opt.step();
    losses.push(loss.data[0]!);
  }
  assert.ok(losses[7]! < losses[0]! * 0.8, `loss did not fall: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  assert.notDeepEqual(net.stateDict()['features.1.running_mean']!.toFloat32Array(), runningBefore, 'train mode updates the BatchNorm running statistics');
  net.eval();
  const a = forward(net, batch).data, b = forward(net, batch).data;
  assert.deepEqual(a, b, 'eval mode is deterministic (dropout off, running statistics)');
});

// ---------------------------------------------------------------- hand-written graphs: attribute forms, errors

interface NodeSpec { op: string; inputs: string[]; output: string; name?: string; attributes?: Record<string, unknown>[] }
function floatInit(name: string, dims: number[], values: number[]): Record<string, unknown> {
  return { name, dims, data_type: ONNX_FLOAT, raw_data: new Uint8Array(Float32Array.from(values).buffer) };
}
function int64Init(name: string, values: number[]): Record<string, unknown> {
  return { name, dims: [values.length], data_type: ONNX_INT64, raw_data: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) };
}
function graphModel(nodes: NodeSpec[], initializers: Record<string, unknown>[], inputDims: (number | string)[], opset = 13): Uint8Array {
  const shape = { dim: inputDims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) };
  return encodeModel({
    ir_version: 7, opset_import: [{ domain: '', version: opset }], producer_name: 'test',
    graph: {
      name: 'g',
      node: nodes.map((n, i) => ({ op_type: n.op, input: n.inputs, output: [n.output], name: n.name ?? `${n.op}_${i}`, attribute: n.attributes ?? [] })),
      initializer: initializers,
      input: [{ name: 'input', type: { tensor_type: { elem_type: ONNX_FLOAT, shape } } }],
      output: [{ name: 'output', type: { tensor_type: { elem_type: ONNX_FLOAT } } }],
    },
  });
}

test('an unsupported operator is an OnnxImportError naming the node (index and name) and the operator', () => {
  const bytes = graphModel([
    { op: 'Relu', inputs: ['input'], output: 'r' },
    { op: 'Erf', inputs: ['r'], output: 'output', name: 'my_erf' },
  ], [], ['N', 4]);
  assert.throws(() => importOnnx(bytes, { source: 'erf.onnx' }), (e: unknown) => e instanceof OnnxImportError && /importOnnx\(erf\.onnx\): node 1 'my_erf' \(Erf\): operator Erf is not supported/.test(e.message));
});

test('initializer names that are no dotted path (or are __proto__) get safe state-dict keys, listed in info.stateKeys', () => {
  const bytes = graphModel([
    { op: 'Add', inputs: ['input', '__proto__'], output: 'a' },
    { op: 'Add', inputs: ['a', 'x..y'], output: 'b' },
    { op: 'Mul', inputs: ['b', 'onnx::Mul_7'], output: 'output', name: '__proto__' },
  ], [floatInit('__proto__', [2], [1, 2]), floatInit('x..y', [2], [3, 4]), floatInit('onnx::Mul_7', [2], [2, 2])], ['N', 2]);
  const net = importOnnx(bytes);
  assert.deepEqual({ ...net.info.stateKeys }, { ['__proto__']: 'initializer_proto', 'x..y': 'x__y', 'onnx::Mul_7': 'onnx::Mul_7' });
  assert.deepEqual(Object.keys(net.stateDict()).sort(), ['initializer_proto', 'onnx::Mul_7', 'x__y']);
  assert.equal(net.info.operatorCounts['Add'], 2);
  assert.deepEqual(Array.from(forward(net, new Tensor(Float32Array.of(1, 1), [1, 2])).data), [10, 14]);
});

test('Gemm alpha/beta/transA, Conv auto_pad SAME_UPPER, asymmetric pads and Dropout in train/eval follow the ONNX definitions', () => {
  // Gemm: Y = 2 * Aᵀ B + 0.5 * C, with A = Transpose(input) [4, N] (transA) and B [4, 3] not transposed, C [3].
  const b = Array.from({ length: 12 }, (_, i) => i - 5), c = [1, -1, 2];
  const gemm = importOnnx(graphModel([
    { op: 'Transpose', inputs: ['input'], output: 'a', attributes: [{ name: 'perm', type: ATTR.INTS, ints: [1, 0] }] },
    { op: 'Gemm', inputs: ['a', 'B', 'C'], output: 'output', attributes: [
      { name: 'alpha', type: ATTR.FLOAT, f: 2 }, { name: 'beta', type: ATTR.FLOAT, f: 0.5 }, { name: 'transA', type: ATTR.INT, i: 1 },
    ] },
  ], [floatInit('B', [4, 3], b), floatInit('C', [3], c)], ['N', 4]));
  const a = [1, 2, 3, 4, 5, 6, 7, 8];
  const y = forward(gemm, new Tensor(Float32Array.from(a), [2, 4])).data;
  assert.equal(y.length, 6);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[i * 4 + k]! * b[k * 3 + j]!;
      assert.ok(Math.abs(y[i * 3 + j]! - (2 * s + 0.5 * c[j]!)) < 1e-4, `Gemm [${i}, ${j}]: ${y[i * 3 + j]} vs ${2 * s + 0.5 * c[j]!}`);
    }
  }
  // SAME_UPPER with stride 2 on 7x7 and a 3x3 kernel pads 1 before and 1 after; 6x6 pads 0 before and 1 after.
  const w = Array.from({ length: 9 }, (_, i) => (i % 3) - 1 + i * 0.1);
  const x = new Tensor(Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)), [1, 1, 6, 6]);
  const same = importOnnx(graphModel([{ op: 'Conv', inputs: ['input', 'w'], output: 'output', attributes: [
    { name: 'auto_pad', type: ATTR.STRING, s: new TextEncoder().encode('SAME_UPPER') }, { name: 'strides', type: ATTR.INTS, ints: [2, 2] },
  ] }], [floatInit('w', [1, 1, 3, 3], w)], ['N', 1, 6, 6]));
  const explicit = F.conv2d(F.pad(x, [0, 1, 0, 1]), new Tensor(Float32Array.from(w), [1, 1, 3, 3]), null, { stride: 2 });
  assert.deepEqual([...forward(same, x).shape], [1, 1, 3, 3]);
  assert.deepEqual(forward(same, x).data, explicit.data);
  // MaxPool with pads [0, 0, 1, 1] (end only): padding never wins.
  const pool = importOnnx(graphModel([{ op: 'MaxPool', inputs: ['input'], output: 'output', attributes: [
    { name: 'kernel_shape', type: ATTR.INTS, ints: [2, 2] }, { name: 'strides', type: ATTR.INTS, ints: [2, 2] }, { name: 'pads', type: ATTR.INTS, ints: [0, 0, 1, 1] },
  ] }], [], ['N', 1, 3, 3]));
  const neg = new Tensor(Float32Array.from({ length: 9 }, (_, i) => -1 - i), [1, 1, 3, 3]);
  assert.deepEqual(Array.from(forward(pool, neg).data), [-1, -3, -7, -9]);
  // Dropout (ratio as an input, opset 13): identity in eval; zeros and 1/(1-p) scaling in train.
  const drop = importOnnx(graphModel([{ op: 'Dropout', inputs: ['input', 'ratio'], output: 'output' }], [floatInit('ratio', [], [0.5])], ['N', 1000]));
  const ones = new Tensor(new Float32Array(1000).fill(1), [1, 1000]);
  drop.eval();
  assert.deepEqual(Array.from(forward(drop, ones).data), Array.from(ones.data));
  drop.train();
  manualSeed(7);
  const dropped = forward(drop, ones).data;
  assert.ok(dropped.every((v) => v === 0 || v === 2));
  const zeros = dropped.filter((v) => v === 0).length;
  assert.ok(zeros > 400 && zeros < 600, `${zeros} of 1000 dropped at p = 0.5`);
});

test('malformed graphs are typed errors naming the problem', () => {
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['empty', () => new Uint8Array(0), /the file is empty/],
    ['not protobuf', () => new TextEncoder().encode('hello, this is not an onnx file at all'), /not a valid ONNX|no graph/],
    ['raw_data length', () => graphModel([{ op: 'Relu', inputs: ['input'], output: 'output' }], [{ ...floatInit('w', [4, 4], [1, 2, 3]) }], ['N', 4]), /initializer 'w': raw_data has 12 bytes but dims \[4, 4\] of FLOAT need 64/],
    ['huge dims', () => graphModel([{ op: 'Relu', inputs: ['input'], output: 'output' }], [{ name: 'w', dims: [100000, 100000], data_type: ONNX_FLOAT, raw_data: new Uint8Array(4) }], ['N', 4]), /initializer 'w': 10000000000 elements .* above the limit/],
    ['undefined input', () => graphModel([{ op: 'Relu', inputs: ['nothing'], output: 'output', name: 'r' }], [], ['N', 4]), /node 0 'r' \(Relu\): input 'nothing' is not produced/],
    ['shape mismatch', () => graphModel([{ op: 'Conv', inputs: ['input', 'w'], output: 'output', name: 'c' }], [floatInit('w', [2, 3, 1, 1], [1, 2, 3, 4, 5, 6])], ['N', 1, 4, 4]), /node 0 'c' \(Conv\): input has 1 channels but the weight \[2, 3, 1, 1\]/],
    ['huge pads', () => graphModel([{ op: 'Pad', inputs: ['input', 'pads'], output: 'output', name: 'p' }], [int64Init('pads', [0, 0, 9000, 9000, 0, 0, 9000, 9000])], ['N', 1, 4, 4]), /node 0 'p' \(Pad\): output \[1, 1, 18004, 18004\] would exceed/],
    ['symbolic sample dims', () => graphModel([{ op: 'Relu', inputs: ['input'], output: 'output' }], [], ['N', 'C']), /symbolic sample dimensions .* pass inputShape/],
    ['external data', () => graphModel([{ op: 'Add', inputs: ['input', 'w'], output: 'output' }], [{ name: 'w', dims: [4], data_type: ONNX_FLOAT, data_location: 1 }], ['N', 4]), /initializer 'w': its data is in an external file/],
  ];
  for (const [what, make, pattern] of cases) {
    assert.throws(() => importOnnx(make(), { source: 'bad.onnx' }), (e: unknown) => {
      assert.ok(e instanceof OnnxImportError, `${what}: ${String(e)}`);
      assert.match(e.message, pattern, what);
      return true;
    }, what);
  }
});

// ---------------------------------------------------------------- fuzzing

/** xorshift32: reproducible mutants (the failing seed is in the message). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

function mutate(bytes: Uint8Array, random: () => number): { bytes: Uint8Array; kind: string } {
  const pick = (n: number): number => Math.floor(random() * n);
  const out = new Uint8Array(bytes);
  switch (pick(5)) {
    case 0: { // bit flips
      const flips = 1 + pick(8);
      for (let i = 0; i < flips; i++) out[pick(out.length)]! ^= 1 << pick(8);
      return { bytes: out, kind: `${flips} bit flips` };
    }
    case 1: { // truncation
      const at = pick(bytes.length);
      return { bytes: bytes.slice(0, at), kind: `truncated at ${at}` };
    }
    case 2: { // a length or varint edited: a byte set to a boundary value
      const at = pick(out.length);
      const values = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x3f];
      out[at] = values[pick(values.length)]!;
      return { bytes: out, kind: `byte ${at} set to ${out[at]}` };
    }
    case 3: { // a block duplicated in place (lengths now disagree with contents)
      const start = pick(bytes.length), length = 1 + pick(64);
      const merged = new Uint8Array(bytes.length + length);
      merged.set(bytes.subarray(0, start), 0);
      merged.set(bytes.subarray(start, start + length), start);
      merged.set(bytes.subarray(start), start + Math.min(length, bytes.length - start));
      return { bytes: merged.subarray(0, bytes.length + Math.min(length, bytes.length - start)), kind: `${length} bytes duplicated at ${start}` };
    }
    default: { // small integers rewritten (attribute values, dims, indices)
      const edits = 1 + pick(4);
      for (let i = 0; i < edits; i++) out[pick(out.length)] = pick(16);
      return { bytes: out, kind: `${edits} small-integer edits` };
    }
  }
}

test('fuzz: 360 mutants of six fixtures give a clean import or an OnnxImportError, each within 3 s', (t) => {
  const files = ['lenet.onnx', 'mixed.onnx', 'vgg_bn.onnx', 'residual.onnx', 'inception.onnx', 'lrn.onnx'];
  let clean = 0, typed = 0, slowest = 0;
  for (const [f, file] of files.entries()) {
    const original = fixtureBytes(file);
    for (let k = 0; k < 60; k++) {
      const seed = 1000 * (f + 1) + k;
      const { bytes, kind } = mutate(original, rng(seed));
      const t0 = performance.now();
      try {
        const net = importOnnx(bytes, { source: file });
        // A clean import must also run at another batch size, or fail with the same typed error.
        net.eval();
        try { forward(net, new Tensor(new Float32Array(2 * net.info.sampleShape.reduce((a, b) => a * b, 1)).fill(0.25), [2, ...net.info.sampleShape])); } catch (e) {
          if (!(e instanceof OnnxImportError)) throw e;
        }
        clean++;
      } catch (e) {
        if (!(e instanceof OnnxImportError)) assert.fail(`${file}, seed ${seed} (${kind}): ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
        typed++;
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < 3000, `${file}, seed ${seed} (${kind}) took ${ms.toFixed(0)} ms`);
    }
  }
  t.diagnostic(`${clean} clean imports, ${typed} OnnxImportErrors, slowest ${slowest.toFixed(0)} ms`);
  assert.ok(typed > 100, `only ${typed} mutants were refused: the mutations are too weak to test anything`);
});

// ---------------------------------------------------------------- the CLI

const main = join(process.cwd(), 'src/cli/main.ts');
const work = mkdtempSync(join(tmpdir(), 'convkit-onnx-import-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
// tsx by absolute URL: the CLI runs in a temporary working directory, where a bare `tsx` would not resolve.
const tsx = import.meta.resolve('tsx');
function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', tsx, main, ...args], {
    cwd: work, encoding: 'utf8', timeout: 180_000,
    env: { ...process.env, CONVKIT_OFFLINE: '1', XDG_CACHE_HOME: join(work, 'cache'), FORCE_COLOR: '0' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('convkit import --onnx: a convkit-trained model comes back as a checkpoint that eval and predict run exactly like the original', () => {
  const small = ['--dataset', 'fashion-mnist-subset', '--train-limit', '512', '--test-limit', '200', '--batch', '32'];
  const trained = cli('train', '--model', 'lenet5', ...small, '--epochs', '1', '--out', 'run');
  assert.equal(trained.code, 0, trained.stderr);
  const exported = cli('export', '--checkpoint', 'run', '--format', 'onnx', '--out', 'lenet5.onnx');
  assert.equal(exported.code, 0, exported.stderr);
  const imported = cli('import', '--onnx', 'lenet5.onnx', '--out', 'imported');
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /imported lenet5\.onnx \(opset 13, convkit 0\.1\.0\): \d+ nodes \(.*Conv 2.*\), 61,706 parameters/);
  assert.match(imported.stdout, /assumed: normalisation mean \[0\.\d+\], std \[0\.\d+\] \(from the file's convkit\.normalization\)/);
  assert.match(imported.stdout, /assumed: class names from the file's convkit\.class_names/);
  for (const f of ['checkpoint.json', 'model.safetensors', 'model.onnx']) assert.ok(existsSync(join(work, 'imported', f)), f);
  const meta = JSON.parse(readFileSync(join(work, 'imported/checkpoint.json'), 'utf8')) as { model: { name: string; config: { file: string } } };
  assert.deepEqual([meta.model.name, meta.model.config.file], ['onnx', 'model.onnx']);

  const evalOf = (dir: string): { accuracy: number; loss: number; count: number } => {
    const r = cli('eval', '--checkpoint', dir, '--dataset', 'fashion-mnist-subset', '--test-limit', '200', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { accuracy: number; loss: number; count: number };
  };
  const original = evalOf('run'), again = evalOf('imported');
  assert.equal(again.count, 200);
  assert.ok(original.accuracy > 0.2, `the trained model should be better than chance (0.1), got ${original.accuracy}`);
  assert.equal(again.accuracy, original.accuracy);
  assert.ok(Math.abs(again.loss - original.loss) < 1e-5, `loss ${again.loss} vs ${original.loss}`);

  const ds = loadEmbeddedFashionMnist('test');
  const png = new PNG({ width: 28, height: 28 });
  const img = ds.getImage(3);
  for (let k = 0; k < 784; k++) { const v = Math.round(img[k]! * 255); png.data.set([v, v, v, 255], 4 * k); }
  writeFileSync(join(work, 'img.png'), PNG.sync.write(png));
  const predictOf = (dir: string): { label: string; probability: number }[] => {
    const r = cli('predict', '--checkpoint', dir, 'img.png', '--json', '--topk', '10');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { predictions: { label: string; probability: number }[] }).predictions;
  };
  const p1 = predictOf('run/best'), p2 = predictOf('imported');
  assert.deepEqual(p2.map((p) => p.label), p1.map((p) => p.label));
  for (let i = 0; i < p1.length; i++) assert.ok(Math.abs(p1[i]!.probability - p2[i]!.probability) < 1e-5);

  // The imported checkpoint exports again (its graph traced like any model) and that file gives the same logits.
  const reexported = cli('export', '--checkpoint', 'imported', '--format', 'onnx', '--out', 'again.onnx');
  assert.equal(reexported.code, 0, reexported.stderr);
  const first = importOnnx(new Uint8Array(readFileSync(join(work, 'lenet5.onnx')))).eval();
  const second = importOnnx(new Uint8Array(readFileSync(join(work, 'again.onnx')))).eval();
  const probe = new Tensor(Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 29) / 29), [2, 1, 28, 28]);
  assert.ok(worstDifference(forward(second, probe).data, forward(first, probe).data) <= 1e-6);

  // A foreign (PyTorch) file: defaults stated, eval runs.
  const foreign = cli('import', '--onnx', join(FIXTURES, 'lenet.onnx'), '--out', 'torch-lenet', '--dataset', 'fashion-mnist-subset', '--normalize', '0.2860,0.3530');
  assert.equal(foreign.code, 0, foreign.stderr);
  assert.match(foreign.stdout, /assumed: input \[N, 1, 28, 28\] \(from --dataset fashion-mnist-subset\)/);
  assert.match(foreign.stdout, /assumed: class names of fashion-mnist-subset/);
  assert.match(foreign.stdout, /assumed: normalisation mean \[0\.286\], std \[0\.353\] \(from --normalize\)/);
  const e = cli('eval', '--checkpoint', 'torch-lenet', '--test-limit', '200', '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.equal((JSON.parse(e.stdout) as { count: number }).count, 200);
  const noDefaults = cli('import', '--onnx', join(FIXTURES, 'mlp.onnx'), '--out', 'torch-mlp');
  assert.equal(noDefaults.code, 0, noDefaults.stderr);
  assert.match(noDefaults.stdout, /assumed: classes numbered 0\.\.9/);
  assert.match(noDefaults.stdout, /assumed: no normalisation/);
});

test('fine-tuning: train.fit continues an imported model; its checkpoint (model.onnx beside) evaluates in convkit eval to fit\'s own test accuracy', async () => {
  const bytes = fixtureBytes('vgg_bn.onnx');
  const net = importOnnx(bytes, { source: 'vgg_bn.onnx' });
  const trainSet = loadEmbeddedFashionMnist('train').take(256), testSet = loadEmbeddedFashionMnist('test').take(200);
  manualSeed(8);
  let last: Checkpoint | null = null;
  const result = await train.fit({
    model: net, optimizer: new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 }), epochs: 2,
    train: new DataLoader(trainSet, { batchSize: 32, shuffle: true }), test: new DataLoader(testSet, { batchSize: 100 }),
    info: {
      model: { name: 'onnx', config: { file: 'model.onnx' } },
      dataset: { name: 'fashion-mnist-subset', classNames: [...trainSet.classNames], inputShape: [1, 28, 28], normalization: null },
    },
    saveCheckpoint: (kind, ck) => { if (kind === 'last') last = ck; },
  });
  assert.ok(result.history[1]!.trainLoss < result.history[0]!.trainLoss, `train loss ${result.history.map((h) => h.trainLoss.toFixed(3)).join(' -> ')}`);
  assert.ok(last, 'fit saved a last checkpoint');
  await saveCheckpoint(join(work, 'tuned'), last!);
  writeFileSync(join(work, 'tuned', 'model.onnx'), bytes);
  const r = cli('eval', '--checkpoint', 'tuned', '--test-limit', '200', '--json');
  assert.equal(r.code, 0, r.stderr);
  const ev = JSON.parse(r.stdout) as { accuracy: number };
  assert.equal(ev.accuracy, result.history[1]!.testAccuracy, 'eval of the saved fine-tuned weights');
});

test('convkit import: usage errors are one convkit line with exit code 2', () => {
  const bad = (args: string[], pattern: RegExp): void => {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  writeFileSync(join(work, 'junk.onnx'), new TextEncoder().encode('not onnx at all, just text'));
  bad(['import', '--out', 'x'], /^convkit: give --onnx FILE/);
  bad(['import', '--onnx', 'missing.onnx', '--out', 'x'], /^convkit: --onnx missing\.onnx: no such file/);
  bad(['import', '--onnx', 'junk.onnx', '--out', 'x'], /^convkit: --onnx junk\.onnx: /);
  bad(['import', '--onnx', join(FIXTURES, 'mlp.onnx'), '--out', 'y', '--classes', 'a,b'], /^convkit: the model has 10 outputs but 2 class names were given/);
  bad(['import', '--onnx', join(FIXTURES, 'mlp.onnx'), '--out', 'y', '--input', '3x32x32'], /^convkit: --onnx .*disagrees with the file's input \[N, 1, 28, 28\]/);
  bad(['import', '--onnx', join(FIXTURES, 'mlp.onnx'), '--out', 'y', '--normalize', 'a,b'], /^convkit: --normalize a,b: expected none/);
  bad(['import', '--pytorch', 'no-such-folder', '--out', 'z'], /^convkit: --pytorch no-such-folder: /);
});
