// Invalid arguments are rejected at the op boundary with a message that names the op and the expected and
// received shape or value, never a crash deep inside a kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/ops/index.js';
import { zeros } from '../../src/tensor/creation.js';

/** Assert fn throws an Error whose message starts with `op:` and contains every fragment. */
function rejects(fn: () => unknown, op: string, fragments: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${op}:`), `message should start with the op name '${op}:', got: ${e.message}`);
    for (const f of fragments) {
      const ok = typeof f === 'string' ? e.message.includes(f) : f.test(e.message);
      assert.ok(ok, `message should mention ${String(f)}, got: ${e.message}`);
    }
    return true;
  });
}

const x = zeros([2, 4, 6, 6]), w = zeros([6, 4, 3, 3]);

test('conv2d rejects negative padding, naming the value', () => {
  rejects(() => F.conv2d(x, w, null, { padding: -1 }), 'conv2d', ['padding', '-1']);
  rejects(() => F.conv2d(x, w, null, { padding: [1, -2] }), 'conv2d', ['padding', '-2']);
  rejects(() => F.conv2d(x, w, null, { padding: 1.5 }), 'conv2d', ['padding', '1.5']);
});

test('conv2d rejects groups that do not divide the channels', () => {
  rejects(() => F.conv2d(zeros([1, 3, 5, 5]), zeros([4, 1, 3, 3]), null, { groups: 2 }), 'conv2d', ['groups', '2', '3']);
  rejects(() => F.conv2d(x, zeros([3, 2, 3, 3]), null, { groups: 2 }), 'conv2d', ['groups', '(2)', '(3)']);
  rejects(() => F.conv2d(x, w, null, { groups: 0 }), 'conv2d', ['groups', '0']);
});

test('conv2d rejects a kernel larger than the padded input', () => {
  rejects(() => F.conv2d(zeros([1, 4, 2, 2]), w), 'conv2d', ['3x3', '2x2', '[1, 4, 2, 2]']);
  rejects(() => F.conv2d(zeros([1, 4, 4, 4]), w, null, { dilation: 2 }), 'conv2d', ['dilation 2x2', '4x4']);
  // padding can make a small input large enough: no error
  assert.deepEqual([...F.conv2d(zeros([1, 4, 2, 2]), w, null, { padding: 1 }).shape], [1, 6, 2, 2]);
});

test('conv2d rejects channel mismatches between x and w, and wrong ranks, with both shapes', () => {
  rejects(() => F.conv2d(zeros([1, 3, 6, 6]), w), 'conv2d', ['4 channels', '[1, 3, 6, 6]']);
  rejects(() => F.conv2d(zeros([1, 4, 6, 6]), zeros([6, 2, 3, 3]), null, { groups: 1 }), 'conv2d', ['2 channels', '[1, 4, 6, 6]']);
  rejects(() => F.conv2d(zeros([4, 6, 6]), w), 'conv2d', ['4-D', '[4, 6, 6]']);
  rejects(() => F.conv2d(x, zeros([6, 4, 3])), 'conv2d', ['weight', '4-D', '[6, 4, 3]']);
  rejects(() => F.conv2d(x, w, zeros([5])), 'conv2d', ['bias', '[6]', '[5]']);
});

test('conv2d rejects zero strides and padding \'same\' with a stride', () => {
  rejects(() => F.conv2d(x, w, null, { stride: 0 }), 'conv2d', ['stride', '0']);
  rejects(() => F.conv2d(x, w, null, { dilation: 0 }), 'conv2d', ['dilation', '0']);
  rejects(() => F.conv2d(x, w, null, { padding: 'same', stride: 2 }), 'conv2d', ["'same'", 'stride']);
});

test('locallyConnected2d rejects mismatched weights, biases and padding', () => {
  const lx = zeros([1, 2, 5, 5]);
  rejects(() => F.locallyConnected2d(lx, zeros([10, 3, 2, 3, 3])), 'locallyConnected2d', ['10', '3x3', '9']);
  rejects(() => F.locallyConnected2d(lx, zeros([9, 3, 4, 3, 3])), 'locallyConnected2d', ['4 channels', '[1, 2, 5, 5]']);
  rejects(() => F.locallyConnected2d(lx, zeros([9, 3, 2, 3, 3]), null, { padding: -1 }), 'locallyConnected2d', ['padding', '-1']);
  rejects(() => F.locallyConnected2d(lx, zeros([9, 3, 2, 3, 3]), zeros([3, 3])), 'locallyConnected2d', ['bias', '[3, 3, 3]', '[3, 3]']);
  rejects(() => F.locallyConnected2d(lx, zeros([9, 3, 2, 3])), 'locallyConnected2d', ['5-D', '[9, 3, 2, 3]']);
  rejects(() => F.locallyConnected2d(zeros([1, 2, 2, 2]), zeros([1, 3, 2, 3, 3])), 'locallyConnected2d', ['3x3', '2x2']);
});

test('pools reject negative or oversized padding, oversized kernels and wrong ranks', () => {
  for (const op of ['maxPool2d', 'avgPool2d'] as const) {
    rejects(() => F[op](x, { kernelSize: 2, padding: -1 }), op, ['padding', '-1']);
    rejects(() => F[op](x, { kernelSize: 2, padding: 2 }), op, ['padding', 'half']);
    rejects(() => F[op](zeros([1, 1, 2, 2]), { kernelSize: 3 }), op, ['3x3', '2x2']);
    rejects(() => F[op](zeros([4, 6, 6]), { kernelSize: 2 }), op, ['4-D', '[4, 6, 6]']);
    rejects(() => F[op](x, { kernelSize: 0 }), op, ['kernelSize', '0']);
    rejects(() => F[op](x, { kernelSize: 2, stride: 0 }), op, ['stride', '0']);
  }
  rejects(() => F.avgPool2d(x, { kernelSize: 2, divisorOverride: -1 }), 'avgPool2d', ['divisorOverride', '-1']);
  rejects(() => F.adaptiveAvgPool2d(x, 0), 'adaptiveAvgPool2d', ['outputSize', '0']);
  rejects(() => F.adaptiveMaxPool2d(zeros([6, 6]), 2), 'adaptiveMaxPool2d', ['4-D', '[6, 6]']);
});

test('batchNorm, linear and matmul name the mismatched shapes', () => {
  rejects(() => F.batchNorm(x, zeros([3]), zeros([3]), null, null), 'batchNorm', ['4 channels', '[3]', '[2, 4, 6, 6]']);
  rejects(() => F.batchNorm(x, null, null, zeros([5]), null, { training: true }), 'batchNorm', ['4 channels', '[5]']);
  rejects(() => F.batchNorm(zeros([4]), null, null, null, null), 'batchNorm', ['[4]']);
  rejects(() => F.batchNorm(zeros([1, 3]), null, null, null, null, { training: true }), 'batchNorm', ['more than 1 value', '[1, 3]']);
  rejects(() => F.linear(zeros([2, 5]), zeros([3, 4])), 'linear', ['4', '[2, 5]']);
  rejects(() => F.matmul(zeros([2, 5]), zeros([4, 3])), 'matmul', ['[2, 5]', '[4, 3]']);
});

test('losses name the bad target or option', () => {
  rejects(() => F.crossEntropy(zeros([3, 5]), [1, 2]), 'crossEntropy', ['2 labels', '3 rows']);
  rejects(() => F.crossEntropy(zeros([3, 5]), [1, 2, 5]), 'crossEntropy', ['5', '5 classes']);
  rejects(() => F.crossEntropy(zeros([3, 5]), [1, -1, 2]), 'crossEntropy', ['-1', '5 classes']);
  rejects(() => F.crossEntropy(zeros([5]), [1]), 'crossEntropy', ['[N, C]', '[5]']);
  rejects(() => F.crossEntropy(zeros([3, 5, 2]), [1, 2, 3]), 'crossEntropy', ['[3, 5, 2]', '6 targets', 'got 3']);
  rejects(() => F.crossEntropy(zeros([3, 5]), [1, 2, 3], { labelSmoothing: 1.5 }), 'crossEntropy', ['labelSmoothing', '1.5']);
  rejects(() => F.nllLoss(zeros([3, 5]), [1, 2, 3], { weight: zeros([4]) }), 'nllLoss', ['(5)', '[4]']);
  rejects(() => F.mseLoss(zeros([3, 5]), zeros([3, 4])), 'mseLoss', ['[3, 5]', '[3, 4]']);
  rejects(() => F.bceWithLogits(zeros([3, 5]), zeros([5, 3])), 'bceWithLogits', ['[3, 5]', '[5, 3]']);
});

test('elementwise, shape ops and reductions name the shapes or dimension', () => {
  rejects(() => F.add(zeros([3, 5]), zeros([4])), 'add', ['[3, 5]', '[4]']);
  rejects(() => F.concat([zeros([2, 3]), zeros([3, 4])], 0), 'concat', ['[3, 4]', '[2, 3]']);
  rejects(() => F.concat([], 0), 'concat', ['at least one']);
  rejects(() => F.reshape(x, [5, 7]), 'reshape', ['[2, 4, 6, 6]', '[5, 7]']);
  rejects(() => F.sum(x, 4), 'sum', ['4', 'rank 4']);
  rejects(() => F.dropout(x, { p: 1.5 }), 'dropout', ['1.5']);
  rejects(() => F.localResponseNorm(x, { size: 0 }), 'localResponseNorm', ['size', '0']);
  rejects(() => F.logSoftmax(x, 5), 'logSoftmax', ['5', 'rank 4']);
});
