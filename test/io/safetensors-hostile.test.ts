// Hostile safetensors files (issue 17, finding 6): a deeply nested shape overflowed the stack (a RangeError from
// JSON.stringify inside the error path), a dtype of "__proto__" got "needs NaN bytes", NaN/Inf weights loaded
// without a word. Each case must now be a SafetensorsError naming the file, the tensor and the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, describeJsonValue, encodeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';

/** A safetensors file whose header is exactly `json` and whose data section is `dataBytes` zero bytes. */
function rawFile(json: string, dataBytes = 0): Uint8Array {
  const header = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + header.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeSafetensors(bytes, { fileName: 'model.safetensors' }), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected a SafetensorsError, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.match(e.message, /^safetensors model\.safetensors: /);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a deeply nested shape is a typed error, not a stack overflow', () => {
  const depth = 100_000;
  rejects(rawFile(`{"w":{"dtype":"F32","shape":${'['.repeat(depth)}${']'.repeat(depth)},"data_offsets":[0,0]}}`), /tensor 'w': bad shape \[\[\[\[\[\.\.\.\]\]\]\]\]: every dimension must be a non-negative integer/);
  rejects(rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":${'['.repeat(depth)}${']'.repeat(depth)}}}`), /tensor 'w': data_offsets must be two non-negative integers/);
});

test('a dtype naming an Object.prototype property is an unknown dtype', () => {
  for (const dtype of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    rejects(rawFile(`{"w":{"dtype":"${dtype}","shape":[1],"data_offsets":[0,4]}}`, 4), new RegExp(`tensor 'w': unsupported dtype "${dtype}" \\(known: F64, F32`));
  }
});

test('more dimensions than any tensor has are refused', () => {
  rejects(rawFile(`{"w":{"dtype":"F32","shape":[${Array(65).fill(1).join(',')}],"data_offsets":[0,4]}}`, 4), /tensor 'w': shape has 65 dimensions \(at most 64\)/);
});

test('NaN or infinite weights are refused, naming the tensor and the first bad value, unless allowed', () => {
  const bytes = encodeSafetensors({ 'fc.weight': { data: new Float32Array([0.5, -Infinity, NaN, 2]), shape: [2, 2] }, 'fc.bias': { data: new Float32Array([1, 2]), shape: [2] } });
  rejects(bytes, /tensor 'fc\.weight' holds 2 non-finite value\(s\) \(the first, -Infinity, at flat index 1\)/);
  const read = decodeSafetensors(bytes, { allowNonFinite: true }).tensors.get('fc.weight')!.data;
  assert.ok(Number.isNaN(read[2]!) && read[1] === -Infinity);
  // Finite values near float32's limits are fine.
  const edge = encodeSafetensors({ w: { data: new Float32Array([3.4028234663852886e38, -3.4028234663852886e38, 1e-45]), shape: [3] } });
  assert.equal(decodeSafetensors(edge).tensors.get('w')!.data.length, 3);
});

test('describeJsonValue is short and stack-safe', () => {
  let nested: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) nested = [nested];
  assert.equal(describeJsonValue(nested), '[[[[[...]]]]]');
  assert.equal(describeJsonValue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), '[1,2,3,4,5,6,7,8,...]');
  assert.equal(describeJsonValue([2, 'x', null, [3, 4]]), '[2,"x",null,[3,4]]');
  assert.ok(describeJsonValue('y'.repeat(1000)).length <= 63);
});
