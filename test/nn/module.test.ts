import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { randn, zeros } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';

class Block extends nn.Module {
  readonly scale = this.registerParameter('scale', new nn.Parameter(Float32Array.of(1), [1]));
  readonly counter = this.registerBuffer('counter', zeros([2]));
  readonly scratch = this.registerBuffer('scratch', zeros([3]), false);
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  constructor(inChannels: number) {
    super();
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(inChannels, 8, 3, { padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(8));
  }
  forward(x: Tensor): Tensor {
    return this.bn1.forward(this.conv1.forward(x)).mul(this.scale);
  }
}

class Net extends nn.Module {
  readonly stem = this.registerModule('stem', new nn.Sequential(new nn.Conv2d(3, 3, 1), new nn.ReLU()));
  readonly layer1 = this.registerModule('layer1', new nn.Sequential(new Block(3), new Block(8)));
  readonly fc = this.registerModule('fc', new nn.Linear(8, 4));
  forward(x: Tensor): Tensor {
    const y = this.layer1.forward(this.stem.forward(x));
    return this.fc.forward(y.mean([2, 3]));
  }
}

test('namedParameters and stateDict use dotted keys in registration order (PyTorch order)', () => {
  const net = new Net();
  assert.deepEqual([...net.namedParameters()].map(([k]) => k), [
    'stem.0.weight', 'stem.0.bias',
    'layer1.0.scale', 'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias',
    'layer1.1.scale', 'layer1.1.conv1.weight', 'layer1.1.bn1.weight', 'layer1.1.bn1.bias',
    'fc.weight', 'fc.bias',
  ]);
  assert.deepEqual(Object.keys(net.stateDict()), [
    'stem.0.weight', 'stem.0.bias',
    'layer1.0.scale', 'layer1.0.counter', 'layer1.0.conv1.weight',
    'layer1.0.bn1.weight', 'layer1.0.bn1.bias', 'layer1.0.bn1.running_mean', 'layer1.0.bn1.running_var', 'layer1.0.bn1.num_batches_tracked',
    'layer1.1.scale', 'layer1.1.counter', 'layer1.1.conv1.weight',
    'layer1.1.bn1.weight', 'layer1.1.bn1.bias', 'layer1.1.bn1.running_mean', 'layer1.1.bn1.running_var', 'layer1.1.bn1.num_batches_tracked',
    'fc.weight', 'fc.bias',
  ], 'non-persistent buffers stay out of the state dict');
  assert.ok([...net.namedBuffers()].some(([k]) => k === 'layer1.0.scratch'), 'but they are buffers');
  assert.deepEqual([...net.namedModules()].map(([k]) => k), ['', 'stem', 'stem.0', 'stem.1', 'layer1', 'layer1.0', 'layer1.0.conv1', 'layer1.0.bn1', 'layer1.1', 'layer1.1.conv1', 'layer1.1.bn1', 'fc']);
  assert.deepEqual([...net.namedChildren()].map(([k]) => k), ['stem', 'layer1', 'fc']);
  assert.equal(net.parameters().length, 12);
  assert.equal(net.buffers().length, 2 * (2 + 3));
  assert.ok(net.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad));
  assert.equal(net.getSubmodule('layer1.1.bn1'), (net.layer1.at(1) as Block).bn1);
  assert.throws(() => net.getSubmodule('layer1.7'), /has no submodule '7' \(children: 0, 1\)/);
});

test('numParameters counts every element once, shared parameters once', () => {
  const net = new Net();
  // stem 3*3+3, blocks 8*3*9 and 8*8*9 (+ bn 16 + scale 1 each), fc 8*4+4
  assert.equal(net.numParameters(), 12 + 216 + 17 + 576 + 17 + 36);
  const shared = new nn.Linear(4, 4);
  const twice = new nn.Sequential(shared, new nn.ReLU(), shared);
  assert.equal(twice.numParameters(), 20);
  assert.deepEqual(Object.keys(twice.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  net.fc.weight.requiresGrad = false;
  assert.equal(net.numParameters(true), net.numParameters() - 32);
});

test('stateDict -> loadStateDict round trip copies values into another instance', () => {
  manualSeed(1);
  const a = new Net();
  a.layer1.at<Block>(0).bn1.runningMean!.data.set([1, 2, 3, 4, 5, 6, 7, 8]);
  a.layer1.at<Block>(0).bn1.numBatchesTracked!.data[0] = 17;
  manualSeed(2);
  const b = new Net();
  assert.notDeepEqual(b.fc.weight.toFloat32Array(), a.fc.weight.toFloat32Array());
  const result = b.loadStateDict(a.stateDict());
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  const sa = a.stateDict(), sb = b.stateDict();
  for (const k of Object.keys(sa)) {
    assert.deepEqual(sb[k]!.toFloat32Array(), sa[k]!.toFloat32Array(), k);
    assert.notEqual(sb[k]!.data, sa[k]!.data, `${k} is copied, not aliased`);
  }
  const x = randn([2, 3, 5, 5]);
  a.eval(); b.eval();
  assert.deepEqual(b.forward(x).toFloat32Array(), a.forward(x).toFloat32Array());
});

test('loadStateDict lists every missing, unexpected and mis-shaped key with both shapes in one error', () => {
  const net = new Net();
  const sd = { ...net.stateDict() };
  delete sd['fc.bias'];
  delete sd['layer1.1.bn1.running_var'];
  sd['fc.weight'] = zeros([4, 9]);
  sd['stem.0.weight'] = zeros([3, 1, 1, 1]);
  sd['head.weight'] = zeros([1]);
  let message = '';
  assert.throws(() => net.loadStateDict(sd), (e: Error) => { message = e.message; return e instanceof nn.ModuleError; });
  assert.match(message, /2 mis-shaped keys: stem\.0\.weight expected \[3, 3, 1, 1\], got \[3, 1, 1, 1\], fc\.weight expected \[4, 8\], got \[4, 9\]/);
  assert.match(message, /2 missing keys: layer1\.1\.bn1\.running_var, fc\.bias/);
  assert.match(message, /1 unexpected key: head\.weight/);
  // nothing was copied when loading failed
  assert.notDeepEqual(net.fc.weight.toFloat32Array(), new Float32Array(32));

  // non-strict: missing/unexpected are reported, shape mismatches still fail
  const partial = { 'fc.weight': zeros([4, 8]), 'extra': zeros([1]) };
  const r = net.loadStateDict(partial, { strict: false });
  assert.deepEqual(r.unexpectedKeys, ['extra']);
  assert.equal(r.missingKeys.length, Object.keys(net.stateDict()).length - 1);
  assert.deepEqual(net.fc.weight.toFloat32Array(), new Float32Array(32));
  assert.throws(() => net.loadStateDict({ 'fc.weight': zeros([8, 4]) }, { strict: false }), /fc\.weight expected \[4, 8\], got \[8, 4\]/);
});

test('train() / eval() recurse through every descendant', () => {
  const net = new Net();
  assert.ok([...net.modules()].every((m) => m.training));
  assert.equal(net.eval(), net);
  assert.ok([...net.modules()].every((m) => !m.training));
  net.layer1.train();
  assert.equal(net.training, false);
  assert.equal(net.layer1.at<Block>(1).bn1.training, true);
  net.train(false);
  assert.equal(net.layer1.at<Block>(1).bn1.training, false);
});

test('zeroGrad sets every gradient to null (set_to_none)', () => {
  const net = new Net();
  const y = net.forward(randn([2, 3, 4, 4])).sum();
  y.backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
});

test('a wrong input shape names the layer and its path', () => {
  const net = new Net();
  assert.throws(() => net.forward(randn([8, 1, 28, 28])), {
    name: 'ModuleError',
    message: 'Conv2d(3->3) in stem.0: expected input with 3 channels [N,3,H,W], got [8, 1, 28, 28]',
  });
  const seq = new nn.Sequential(new nn.Flatten(), new nn.Linear(10, 2));
  assert.throws(() => seq.forward(randn([2, 3, 4])), /^ModuleError: Linear\(10->2\) in 1: expected input with 10 features \[N,10\], got \[2, 12\]|Linear\(10->2\) in 1: expected input with 10 features \[N,10\], got \[2, 12\]/);
  // a module registered deeper learns the longer path
  const outer = new nn.Sequential(new nn.Sequential(new nn.Conv2d(3, 16, 3)));
  assert.throws(() => outer.forward(randn([1, 1, 8, 8])), { message: 'Conv2d(3->16) in 0.0: expected input with 3 channels [N,3,H,W], got [1, 1, 8, 8]' });
  // an op error raised inside a layer is prefixed with the layer too
  const tooSmall = new nn.Sequential(new nn.MaxPool2d(2), new nn.Conv2d(1, 2, 5));
  assert.throws(() => tooSmall.forward(randn([1, 1, 6, 6])), (e: Error) => e instanceof nn.ModuleError && /^Conv2d\(1->2\) in 1: conv2d: kernel 5x5/.test(e.message));
  // a standalone layer has no path
  assert.throws(() => new nn.Conv2d(3, 4, 3).forward(randn([1, 2, 5, 5])), { message: 'Conv2d(3->4): expected input with 3 channels [N,3,H,W], got [1, 2, 5, 5]' });
});

test('withModuleContext wraps errors from custom child calls once', () => {
  const child = new nn.Identity();
  const parent = new nn.Sequential(child);
  assert.throws(() => nn.withModuleContext(child, () => { throw new Error('boom'); }), { message: 'Identity in 0: boom' });
  const inner = new nn.ModuleError('already named', 'x');
  assert.throws(() => nn.withModuleContext(parent, () => { throw inner; }), (e) => e === inner);
});

test('toString prints like PyTorch', () => {
  const s = new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, [3, 5], { stride: 2, dilation: 2, groups: 2, bias: false }), new nn.BatchNorm2d(16),
    new nn.Flatten(), new nn.Linear(400, 120), new nn.Dropout(0.25), new nn.LeakyReLU(0.2), new nn.AdaptiveAvgPool2d([1, 1]),
  );
  assert.equal(String(s), [
    'Sequential(',
    '  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))',
    '  (1): ReLU()',
    '  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
    '  (3): Conv2d(6, 16, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), groups=2, bias=False)',
    '  (4): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)',
    '  (5): Flatten(start_dim=1, end_dim=-1)',
    '  (6): Linear(in_features=400, out_features=120, bias=True)',
    '  (7): Dropout(p=0.25, inplace=False)',
    '  (8): LeakyReLU(negative_slope=0.2)',
    '  (9): AdaptiveAvgPool2d(output_size=(1, 1))',
    ')',
  ].join('\n'));
  assert.equal(String(new nn.Conv2d(3, 3, 3, { padding: 'same' })), 'Conv2d(3, 3, kernel_size=(3, 3), stride=(1, 1), padding=same)');
  assert.equal(String(new nn.LocalResponseNorm(5, { k: 2 })), 'LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2.0)');
  assert.equal(String(new nn.Sequential(new nn.Sequential(new nn.Identity()))), 'Sequential(\n  (0): Sequential(\n    (0): Identity()\n  )\n)');
});

test('registration rejects bad and duplicate names', () => {
  class Bad extends nn.Module {
    forward(x: Tensor): Tensor { return x; }
    add(name: string): void { this.registerModule(name, new nn.Identity()); }
    addParam(name: string): void { this.registerParameter(name, new nn.Parameter(new Float32Array(1), [1])); }
  }
  const b = new Bad();
  assert.throws(() => b.add('a.b'), /must be non-empty and contain no '\.'/);
  b.add('x');
  assert.throws(() => b.addParam('x'), /already used/);
  b.addParam('p');
  assert.equal(b.numParameters(), 1);
});

test('apply visits children first, then the module', () => {
  const net = new Net();
  const seen: string[] = [];
  net.apply((m) => seen.push(m.path));
  assert.equal(seen.at(-1), '');
  assert.ok(seen.indexOf('layer1.0.conv1') < seen.indexOf('layer1.0'));
  assert.equal(seen.length, [...net.modules()].length);
});

test('Parameter.from shares data with a tensor and requires grad', () => {
  const t = new Tensor(Float32Array.of(1, 2), [2]);
  const p = nn.Parameter.from(t);
  assert.equal(p.data, t.data);
  assert.ok(p.requiresGrad && p.isLeaf);
  assert.equal(String(p), 'Parameter(shape=[2])');
});
