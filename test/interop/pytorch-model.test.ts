// The PyTorch export's generator (issue 18, part 4): for every zoo model it supports, the generated model.py
// builds a torch.nn.Module that loads the exported weights with strict=True and gives convkit's logits to 1e-4
// on real Fashion-MNIST test images, with BatchNorm running statistics that are not the initial 0/1. All models
// run in one Python process (Debian's /usr/bin/python3 with python3-torch). The weights PyTorch saves back with
// model.py's own safetensors writer (int64 num_batches_tracked included) load into convkit bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F, manualSeed, models, noGrad, Tensor } from '../../src/index.js';
import type { Module } from '../../src/nn/module.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { saveWeights, loadWeights } from '../../src/models/weights.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';
import { exportPytorchFolder, pytorchModelSource, PytorchExportError } from '../../src/node/pytorchInterop.js';
import { makeOptimizer } from '../../src/train/setup.js';

const PYTHON = '/usr/bin/python3';
const inCI = process.env.CI === 'true';
const haveTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const skip = !haveTorch && !inCI ? `${PYTHON} cannot import torch (apt-get install python3-torch)` : false;

/** [registry name, input shape]: every model family the generator writes, at a small input size. */
const CASES: [string, [number, number, number]][] = [
  ['mlp', [1, 28, 28]], ['lenet5', [1, 28, 28]], ['vggsmall', [1, 28, 28]], ['vggsmall_bn', [1, 28, 28]], ['cnn2_bn', [1, 28, 28]],
  ['resnet20', [1, 28, 28]], ['resnet32', [1, 28, 28]], ['resnet56', [1, 28, 28]], ['resnet20b', [1, 28, 28]], ['plain20', [1, 28, 28]],
  ['densenet_bc40', [3, 32, 32]], ['inception_small', [3, 32, 32]], ['resnet18', [3, 64, 64]], ['resnet50', [3, 32, 32]],
  ['googlenet_aux', [3, 64, 64]],
];
const BATCH = 4;

/** BATCH real test images at the model's input shape (gray replicated, nearest-neighbour resized), roughly normalised. */
function realImages([c, h, w]: [number, number, number], first: number): Float32Array {
  const test = loadEmbeddedFashionMnist('test');
  const out = new Float32Array(BATCH * c * h * w);
  const one = new Float32Array(28 * 28);
  for (let n = 0; n < BATCH; n++) {
    test.copyImageTo(first + n * 131, one);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) out[((n * c + ch) * h + y) * w + x] = (one[Math.floor((y * 28) / h) * 28 + Math.floor((x * 28) / w)]! - 0.29) / 0.35;
      }
    }
  }
  return out;
}

const forward = (net: Module, x: Float32Array, shape: [number, number, number]): Float32Array =>
  noGrad(() => (net as unknown as { forward(t: Tensor): Tensor }).forward(new Tensor(x, [BATCH, ...shape]))).data;

const PY_CHECK = `
import importlib.util, sys, torch
for folder in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("exported_" + folder.replace("/", "_"), folder + "/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model()
    model.load_state_dict(module.load_safetensors(folder + "/model.safetensors"), strict=True)
    model.eval()
    x = module.load_safetensors(folder + "/input.safetensors")["x"]
    with torch.no_grad():
        logits = model(x)
    module.save_safetensors({"logits": logits}, folder + "/torch_logits.safetensors")
    module.save_safetensors(model.state_dict(), folder + "/torch_state.safetensors")
    print("ok", folder, flush=True)
`;

test('model.py of every supported zoo model loads the weights strictly and matches convkit\'s logits to 1e-4', { skip, timeout: 300_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'convkit-pt-model-'));
  try {
    const expected = new Map<string, { logits: Float32Array; state: Record<string, Tensor> }>();
    for (const [name, shape] of CASES) {
      manualSeed(3);
      const net = models.create(name, { numClasses: 10, inChannels: shape[0], inputSize: [shape[1], shape[2]] });
      // One training-mode forward makes the BatchNorm running statistics real (not the initial 0 and 1).
      net.train();
      forward(net, realImages(shape, 7), shape);
      net.eval();
      const x = realImages(shape, 0);
      const dir = join(work, name);
      mkdirSync(dir);
      const { source } = pytorchModelSource(net, { modelName: name });
      writeFileSync(join(dir, 'model.py'), source);
      writeFileSync(join(dir, 'model.safetensors'), saveWeights(net));
      writeFileSync(join(dir, 'input.safetensors'), encodeSafetensors(new Map([['x', { data: x, shape: [BATCH, ...shape] }]])));
      expected.set(name, { logits: forward(net, x, shape), state: net.stateDict() });
    }
    const r = spawnSync(PYTHON, ['-c', PY_CHECK, ...CASES.map(([name]) => join(work, name))], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `python: ${r.stderr}`);
    assert.equal(r.stdout.trim().split('\n').length, CASES.length, r.stdout);
    const report: string[] = [];
    for (const [name, shape] of CASES) {
      const { logits, state } = expected.get(name)!;
      const file = decodeSafetensors(new Uint8Array(readFileSync(join(work, name, 'torch_logits.safetensors'))));
      const theirs = file.tensors.get('logits')!;
      assert.deepEqual([...theirs.shape], [BATCH, 10], name);
      const scale = Math.max(1, ...Array.from(logits, Math.abs));
      let worst = 0;
      for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i]! - theirs.data[i]!) / scale);
      report.push(`${name} ${worst.toExponential(1)}`);
      assert.ok(worst <= 1e-4, `${name}: largest logit difference ${worst.toExponential(2)} (relative to ${scale.toFixed(2)})`);
      // PyTorch's state dict, written by model.py's safetensors writer, loads back into convkit unchanged.
      manualSeed(99);
      const back = models.create(name, { numClasses: 10, inChannels: shape[0], inputSize: [shape[1], shape[2]] });
      loadWeights(back, new Uint8Array(readFileSync(join(work, name, 'torch_state.safetensors'))), { strict: true });
      for (const [key, t] of Object.entries(back.stateDict())) assert.deepEqual(t.data, state[key]!.data, `${name}: ${key} changed on the way back`);
    }
    console.log(`# largest relative logit differences: ${report.join(', ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a layer with no torch.nn twin is refused by name and path (LocallyConnected2d)', () => {
  const net = models.create('lcnet', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  assert.throws(() => pytorchModelSource(net, { modelName: 'lcnet' }),
    (e: unknown) => e instanceof PytorchExportError && /^LocallyConnected2d in features\.0 has no PyTorch form/.test(e.message));
});

test('convkit export --format pytorch: the files, and usage errors as one convkit line with exit code 2', async () => {
  const work = mkdtempSync(join(tmpdir(), 'convkit-pt-cli-'));
  try {
    const meta = (name: string) => ({
      model: { name, config: { numClasses: 10, inChannels: 1, inputSize: [28, 28] } },
      dataset: { name: 'fashion-mnist-subset', source: 'embedded subset', classNames: Array.from({ length: 10 }, (_, i) => `c${i}`), inputShape: [1, 28, 28] as [number, number, number], normalization: { mean: [0.286], std: [0.353] } },
      optimizer: { name: 'adamw', hyperparameters: { lr: 0.002, weightDecay: 0.05 } }, scheduler: null, epoch: 3, globalStep: 96, rng: null,
      training: { seed: 5, settings: { schedule: 'onecycle', augment: 'crop-flip', batch: 32, epochs: 3, seed: 5 } }, metrics: { history: [], best: null },
    });
    manualSeed(1);
    await saveCheckpoint(join(work, 'lenet'), { meta: meta('lenet5'), modelState: models.create('lenet5').stateDict(), optimizerState: null });
    await saveCheckpoint(join(work, 'lc'), { meta: meta('lcnet'), modelState: models.create('lcnet').stateDict(), optimizerState: null });
    // tsx by absolute URL: the CLI runs in the temporary folder, where a bare 'tsx' would not resolve.
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(process.cwd(), 'src/cli/main.ts'), ...args], { encoding: 'utf8', cwd: work });
    const ok = cli('export', '--checkpoint', 'lenet', '--format', 'pytorch', '--out', 'pt');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /wrote pt\/: model\.safetensors, model\.py, train_ddp\.py, convkit\.json \(lenet5 as LeNet5, epoch 3\)/);
    const train = readFileSync(join(work, 'pt', 'train_ddp.py'), 'utf8');
    // The run's settings are the script's defaults.
    for (const expected of ['default="adamw"', 'default=0.002', 'default=0.05)', 'default="onecycle"', 'default="crop-flip"', 'default=32,', '"--seed", type=int, default=5', 'MEAN = [0.286]', 'INPUT_SHAPE = (1, 28, 28)']) {
      assert.ok(train.includes(expected), `train_ddp.py should contain ${expected}`);
    }
    const exported = JSON.parse(readFileSync(join(work, 'pt', 'convkit.json'), 'utf8')) as { format: string; model: { name: string }; convkit: { epoch: number } };
    assert.equal(exported.format, 'convkit-pytorch-export');
    assert.equal(exported.model.name, 'lenet5');
    assert.equal(exported.convkit.epoch, 3);
    const oneLine = (r: ReturnType<typeof cli>, pattern: RegExp): void => {
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    };
    oneLine(cli('export', '--checkpoint', 'lc', '--format', 'pytorch', '--out', 'lc-pt'), /^convkit: lcnet: LocallyConnected2d in features\.0 has no PyTorch form/);
    oneLine(cli('export', '--checkpoint', 'lenet', '--format', 'pytorch'), /^convkit: --out FOLDER is required/);
    oneLine(cli('export', '--checkpoint', 'lenet', '--format', 'pytorch', '--out', 'lenet'), /^convkit: --out lenet: the folder is not empty and holds no earlier PyTorch export/);
    oneLine(cli('export', '--checkpoint', 'lenet', '--format', 'pytorch', '--out', 'lenet/checkpoint.json'), /^convkit: --out lenet\/checkpoint\.json: is a file/);
    // A second export into the same folder replaces the first.
    assert.equal(cli('export', '--checkpoint', 'lenet', '--format', 'pytorch', '--out', 'pt').status, 0);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

/**
 * One more step in PyTorch (train_ddp.py's own optimizer and state loader) after the optimizer state was exported,
 * and one more step in convkit: the weights agree; with a fresh PyTorch optimizer they would not.
 */
const PY_STEP = `
import sys, types, torch
import torch.nn.functional as F
from model import create_model, load_safetensors, save_safetensors
import train_ddp
folder, name, lr, momentum, weight_decay = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
batch = load_safetensors(folder + "/batch.safetensors")
args = types.SimpleNamespace(optimizer=name, lr=lr, momentum=momentum, weight_decay=weight_decay)
for label, continued in (("continued", True), ("fresh", False)):
    model = create_model()
    model.load_state_dict(load_safetensors(folder + "/model.safetensors"))
    optimizer = train_ddp.make_optimizer(args, model.parameters())
    if continued:
        note = train_ddp.load_optimizer_state(args, optimizer, model)
        assert note.startswith("optimizer state continued"), note
    loss = F.cross_entropy(model(batch["x"]), batch["y"].long())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    save_safetensors(model.state_dict(), folder + "/after_" + label + ".safetensors")
`;

for (const [optimizerName, lr, momentum, weightDecay] of [['adamw', 0.002, 0, 0.01], ['sgd', 0.05, 0.9, 0.0005]] as const) {
  test(`${optimizerName}: PyTorch continues convkit's optimizer state (one more step gives convkit's weights to 1e-5)`, { skip, timeout: 120_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), `convkit-pt-${optimizerName}-`));
    try {
      manualSeed(11);
      const net = models.create('lenet5');
      const { optimizer, meta } = makeOptimizer(net, { name: optimizerName, lr, momentum, weightDecay });
      const testSet = loadEmbeddedFashionMnist('test');
      const batch = (first: number): { x: Float32Array; y: Int32Array } => {
        const x = new Float32Array(16 * 784);
        const y = new Int32Array(16);
        for (let i = 0; i < 16; i++) {
          testSet.copyImageTo(first + i * 37, x.subarray(i * 784, (i + 1) * 784));
          y[i] = testSet.labels[first + i * 37]!;
        }
        for (let i = 0; i < x.length; i++) x[i] = (x[i]! - 0.29) / 0.35;
        return { x, y };
      };
      const step = ({ x, y }: { x: Float32Array; y: Int32Array }): void => {
        const loss = F.crossEntropy(net.forward(new Tensor(x, [16, 1, 28, 28])), y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
      };
      for (let k = 0; k < 3; k++) step(batch(k));
      await exportPytorchFolder({
        meta: {
          model: { name: 'lenet5', config: { numClasses: 10, inChannels: 1, inputSize: [28, 28] } },
          dataset: { name: 'fashion-mnist-subset', classNames: [...testSet.classNames], inputShape: [1, 28, 28], normalization: { mean: [0.29], std: [0.35] } },
          optimizer: meta, scheduler: null, epoch: 1, globalStep: 3, rng: null, training: {}, metrics: { history: [], best: null },
        },
        modelState: net.stateDict(), optimizerState: optimizer.stateDict(),
      }, net, work);
      const next = batch(5);
      writeFileSync(join(work, 'batch.safetensors'), encodeSafetensors(new Map([
        ['x', { data: next.x, shape: [16, 1, 28, 28] }], ['y', { data: Float32Array.from(next.y), shape: [16] }],
      ])));
      step(next);
      const r = spawnSync(PYTHON, ['-c', PY_STEP, work, optimizerName, String(lr), String(momentum), String(weightDecay)], { encoding: 'utf8', cwd: work, env: { ...process.env, PYTHONPATH: work } });
      assert.equal(r.status, 0, r.stderr);
      const largest = (file: string): number => {
        const theirs = decodeSafetensors(new Uint8Array(readFileSync(join(work, file)))).tensors;
        let worst = 0;
        for (const [key, t] of Object.entries(net.stateDict())) {
          const other = theirs.get(key)!.data;
          for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i]! - other[i]!));
        }
        return worst;
      };
      const continued = largest('after_continued.safetensors');
      const fresh = largest('after_fresh.safetensors');
      console.log(`# ${optimizerName}: largest weight difference after one more step ${continued.toExponential(1)} (a fresh PyTorch optimizer: ${fresh.toExponential(1)})`);
      assert.ok(continued <= 1e-5, `continued: ${continued}`);
      assert.ok(fresh > 1e-4, `a fresh optimizer should differ (the test would not see a lost state): ${fresh}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}
