// ONNX export (issue 18): every zoo model ONNX can express is exported from its traced forward, passes
// onnx.checker and strict shape inference (Debian's python3-onnx), and onnxruntime-node's outputs match convkit's
// to 1e-4 on real Fashion-MNIST test images. A layer without an ONNX form is an error naming the layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, models, noGrad, Tensor } from '../../src/index.js';
import { exportOnnx, OnnxExportError } from '../../src/io/onnx/export.js';
import { decodeModel } from '../../src/io/onnx/proto.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';

const PYTHON = '/usr/bin/python3';
const inCI = process.env.CI === 'true';
const haveOnnxPython = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
let ort: typeof import('onnxruntime-node') | null = null;
try { ort = await import('onnxruntime-node'); } catch { ort = null; }

/** [name, input shape]: the small models at their dataset's size, and ImageNet-scale ones at 224 (a few, for time). */
const CASES: [string, [number, number, number]][] = [
  ['mlp', [1, 28, 28]], ['lenet5', [1, 28, 28]], ['vggsmall', [1, 28, 28]], ['vggsmall_bn', [1, 28, 28]],
  ['resnet20', [3, 32, 32]], ['plain20', [3, 32, 32]], ['densenet_bc40', [3, 32, 32]], ['inception_small', [3, 32, 32]],
  ['resnet20b', [3, 32, 32]], ['resnet56', [3, 32, 32]], ['plain56', [3, 32, 32]], ['densenet_bc100', [3, 32, 32]],
  ['alexnet', [3, 224, 224]], ['resnet18', [3, 224, 224]], ['googlenet', [3, 224, 224]],
  // Deeper ImageNet nets at 64 px (the same graph; 224 px and the VGGs, whose 100M-weight classifiers make 0.5 GB
  // files, were checked in a one-off run: see the ONNX note in README.md).
  ['resnet50', [3, 64, 64]], ['densenet121', [3, 64, 64]],
];
const BATCH = 4;

/** BATCH real test images at the model's input shape (gray replicated to 3 channels, nearest-neighbour resized). */
function realImages([c, h, w]: [number, number, number]): Float32Array {
  const test = loadEmbeddedFashionMnist('test');
  const out = new Float32Array(BATCH * c * h * w);
  const one = new Float32Array(28 * 28);
  for (let n = 0; n < BATCH; n++) {
    test.copyImageTo(n * 97, one);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) out[((n * c + ch) * h + y) * w + x] = one[Math.floor((y * 28) / h) * 28 + Math.floor((x * 28) / w)]!;
      }
    }
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'convkit-onnx-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

for (const [name, shape] of CASES) {
  test(`${name} exports to ONNX; onnxruntime's logits equal convkit's to 1e-4 on real images`, { skip: !ort && !inCI ? 'onnxruntime-node is not installed (an optional dependency)' : false }, async () => {
    manualSeed(0);
    const net = models.create(name, { numClasses: 10, inChannels: shape[0], inputSize: [shape[1], shape[2]] });
    const bytes = exportOnnx(net, { inputShape: shape, classNames: Array.from({ length: 10 }, (_, i) => `class${i}`), normalization: { mean: [0.5], std: [0.25] } });
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, bytes);
    // Metadata travels.
    const decoded = decodeModel(bytes) as { metadata_props: { key: string; value: string }[]; opset_import: { version: number }[] };
    assert.deepEqual(JSON.parse(decoded.metadata_props.find((m) => m.key === 'convkit.normalization')!.value), { mean: [0.5], std: [0.25] });
    assert.ok(decoded.opset_import[0]!.version >= 13);
    // Every initializer is used by a node (onnxruntime warns about and drops the others).
    const graph = (decodeModel(bytes) as { graph: { node: { input: string[] }[]; initializer: { name: string }[] } }).graph;
    const used = new Set(graph.node.flatMap((n) => n.input));
    assert.deepEqual(graph.initializer.filter((i) => !used.has(i.name)).map((i) => i.name), [], 'unused initializers');
    const x = realImages(shape);
    net.eval();
    const ours = noGrad(() => (net as unknown as { forward(t: Tensor): Tensor }).forward(new Tensor(x, [BATCH, ...shape]))).data;
    assert.ok(ort, 'onnxruntime-node must be installed under CI');
    const session = await ort!.InferenceSession.create(file);
    const result = await session.run({ input: new ort!.Tensor('float32', x, [BATCH, ...shape]) });
    const theirs = result['output']!.data as Float32Array;
    assert.equal(theirs.length, ours.length);
    let worst = 0;
    const scale = Math.max(1, ...Array.from(ours, Math.abs));
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!) / scale);
    assert.ok(worst <= 1e-4, `${name}: largest difference ${worst.toExponential(2)} (relative to the largest logit ${scale.toFixed(3)})`);
  });
}

test('the exported files pass onnx.checker (full check) and strict shape inference with every intermediate shape known', { skip: !haveOnnxPython && !inCI ? 'Debian python3-onnx is not installed' : false }, () => {
  const files = CASES.map(([name]) => join(dir, `${name}.onnx`)).filter((f) => existsSync(f));
  assert.ok(files.length === CASES.length, `expected ${CASES.length} exported files (the export tests run first), found ${files.length}`);
  const script = [
    'import onnx, sys',
    'for path in sys.argv[1:]:',
    '    m = onnx.load(path)',
    '    onnx.checker.check_model(m, full_check=True)',
    '    inferred = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)',
    '    known = {v.name for v in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input)}',
    '    for node in m.graph.node:',
    '        for out in node.output:',
    '            assert out in known, f"{path}: no shape for {out}"',
    '    print("ok", path)',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, files.length);
});

test('a locally connected layer has no ONNX form: the error names the layer', () => {
  const net = models.create('lcnet', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  assert.throws(() => exportOnnx(net, { inputShape: [1, 28, 28] }), (e: unknown) => e instanceof OnnxExportError && /layer 'features\.0' \(LocallyConnected2d\) has no ONNX form/.test(e.message));
});

test('bad input shapes are refused', () => {
  const net = models.create('mlp');
  assert.throws(() => exportOnnx(net, { inputShape: [28, 28] }), /inputShape must be \[C, H, W\]/);
  assert.throws(() => exportOnnx(net, { inputShape: [1, 28, 28], opset: 11 }), /opset 11 is not supported/);
});

test('convkit export --checkpoint DIR --format onnx --out FILE writes a file onnxruntime runs like the checkpoint', { skip: !ort && !inCI ? 'onnxruntime-node is not installed' : false }, async () => {
  const { saveCheckpoint } = await import('../../src/node/checkpoint.js');
  manualSeed(1);
  const net = models.create('lenet5', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  const ckDir = join(dir, 'ck');
  await saveCheckpoint(ckDir, {
    meta: {
      model: { name: 'lenet5', config: { numClasses: 10, inChannels: 1, inputSize: [28, 28] } },
      dataset: { name: 'fashion-mnist-subset', classNames: Array.from({ length: 10 }, (_, i) => `c${i}`), inputShape: [1, 28, 28], normalization: { mean: [0.286], std: [0.353] } },
      optimizer: null, scheduler: null, epoch: 0, globalStep: 0, rng: null, training: {}, metrics: { history: [], best: null },
    },
    modelState: net.stateDict(), optimizerState: null,
  });
  const file = join(dir, 'cli.onnx');
  const cli = join(process.cwd(), 'src/cli/main.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'export', '--checkpoint', ckDir, '--format', 'onnx', '--out', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*cli\.onnx: lenet5, input \[N, 1, 28, 28\], opset 13/);
  const decoded = decodeModel(new Uint8Array((await import('node:fs')).readFileSync(file))) as { metadata_props: { key: string; value: string }[] };
  assert.deepEqual(JSON.parse(decoded.metadata_props.find((m) => m.key === 'convkit.class_names')!.value), Array.from({ length: 10 }, (_, i) => `c${i}`));
  const x = realImages([1, 28, 28]);
  net.eval();
  const ours = noGrad(() => (net as unknown as { forward(t: Tensor): Tensor }).forward(new Tensor(x, [BATCH, 1, 28, 28]))).data;
  const session = await ort!.InferenceSession.create(file);
  const theirs = (await session.run({ input: new ort!.Tensor('float32', x, [BATCH, 1, 28, 28]) }))['output']!.data as Float32Array;
  for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i]! - theirs[i]!) <= 1e-4 * Math.max(1, Math.abs(ours[i]!)), `logit ${i}: ${ours[i]} vs ${theirs[i]}`);
  // Usage errors: one convkit line, exit 2.
  const bad = spawnSync(process.execPath, ['--import', 'tsx', cli, 'export', '--checkpoint', ckDir, '--format', 'tflite', '--out', file], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^convkit: --format tflite: expected onnx or pytorch/m);
});
