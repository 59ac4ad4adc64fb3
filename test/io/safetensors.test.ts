import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';

function sample(): Record<string, { data: Float32Array; shape: number[] }> {
  const w = new Float32Array(24);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 1.7) * 1e3;
  w[3] = -0; w[5] = NaN; w[7] = Infinity; w[8] = 1.401298464324817e-45; // sign of zero, NaN, inf, denormal
  return {
    'features.0.weight': { data: w, shape: [2, 3, 2, 2] },
    'features.0.bias': { data: Float32Array.of(0.5, -0.25), shape: [2] },
    scalar: { data: Float32Array.of(3), shape: [] },
    empty: { data: new Float32Array(0), shape: [0, 4] },
  };
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

/** Build a file from a raw header object and data bytes (for corruption tests and foreign dtypes). */
function rawFile(header: unknown, data: Uint8Array, headerLenOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('round trip is bit-exact, with metadata, scalar and empty tensors', () => {
  const input = sample();
  const bytes = encodeSafetensors(input, { format: 'pt', note: 'héllo' });
  // 8-byte aligned data section, as the reference writer does.
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0);
  const { tensors, metadata } = decodeSafetensors(bytes, { allowNonFinite: true });
  assert.deepEqual(metadata, { format: 'pt', note: 'héllo' });
  assert.deepEqual([...tensors.keys()], Object.keys(input));
  for (const [name, t] of Object.entries(input)) {
    const got = tensors.get(name)!;
    assert.equal(got.dtype, 'F32');
    assert.deepEqual(got.shape, t.shape);
    assert.ok(bitsEqual(got.data, t.data), name);
  }
  // Decoding from an unaligned view of a larger buffer works too.
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const again = decodeSafetensors(shifted.subarray(3), { allowNonFinite: true });
  assert.ok(bitsEqual(again.tensors.get('features.0.weight')!.data, input['features.0.weight']!.data));
});

test('reads F16, BF16, F64, I64, I32 as float32', () => {
  const data = new Uint8Array(2 * 2 + 2 * 2 + 8 * 2 + 8 * 2 + 4);
  const v = new DataView(data.buffer);
  v.setUint16(0, 0x3c00, true); v.setUint16(2, 0xc100, true); // F16 1, -2.5
  v.setUint16(4, 0x3f80, true); v.setUint16(6, 0x4049, true); // BF16 1, 3.140625
  v.setFloat64(8, 0.1, true); v.setFloat64(16, -1e300, true);
  v.setBigInt64(24, 123456789n, true); v.setBigInt64(32, -7n, true);
  v.setInt32(40, -42, true);
  const file = rawFile({
    h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
    b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
    d: { dtype: 'F64', shape: [2], data_offsets: [8, 24] },
    l: { dtype: 'I64', shape: [2], data_offsets: [24, 40] },
    i: { dtype: 'I32', shape: [], data_offsets: [40, 44] },
  }, data);
  const { tensors } = decodeSafetensors(file, { allowNonFinite: true });
  assert.deepEqual([...tensors.get('h')!.data], [1, -2.5]);
  assert.deepEqual([...tensors.get('b')!.data], [1, 3.140625]);
  assert.deepEqual([...tensors.get('d')!.data], [Math.fround(0.1), -Infinity]);
  assert.deepEqual([...tensors.get('l')!.data], [123456792, -7]);
  assert.deepEqual([...tensors.get('i')!.data], [-42]);
  assert.equal(tensors.get('l')!.dtype, 'I64');
});

test('each corruption gets its own clear error naming the file', () => {
  const good = encodeSafetensors(sample());
  const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
  const data8 = new Uint8Array(8);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['too short', good.subarray(0, 5), /too short for the 8-byte header length/],
    ['header past end', rawFile({}, new Uint8Array(0), 1000), /header length 1000 runs past the end of the file/],
    ['huge header', rawFile({}, new Uint8Array(0), 2 ** 40), /exceeds the 100000000-byte limit/],
    ['truncated data', good.subarray(0, good.length - 4), /run past the data section .*file truncated\?/],
    ['not json', rawFile('{"a": [1, 2', new Uint8Array(0)), /header is not valid JSON/],
    ['not an object', rawFile('[1, 2, 3]', new Uint8Array(0)), /header does not start with '\{'/],
    ['bad utf8', rawFile('{}', new Uint8Array(0)).map((b, i) => (i === 9 ? 0xff : b)), /not valid UTF-8/],
    ['unknown dtype', rawFile({ a: { dtype: 'F8', shape: [8], data_offsets: [0, 8] } }, data8), /unsupported dtype "F8"/],
    ['missing dtype', rawFile({ a: { shape: [2], data_offsets: [0, 8] } }, data8), /tensor 'a': missing dtype/],
    ['bad shape', rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data8), /tensor 'a': bad shape \[-2\]/],
    ['shape vs bytes', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data8), /needs 12 bytes but data_offsets \[0, 8\] hold 8/],
    ['reversed offsets', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, data8), /end before they begin/],
    ['bad offsets', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, data8), /data_offsets must be two non-negative integers/],
    ['overlap', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data8), /overlap the previous tensor/],
    ['gap', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data8), /leaving a gap after byte 0/],
    ['trailing bytes', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, data8), /data section is 8 bytes but the tensors cover 4/],
    ['bad metadata', rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__ value for 'a' must be a string/],
    ['entry not object', rawFile({ a: 5 }, new Uint8Array(0)), /tensor 'a': entry must be an object/],
  ];
  assert.ok(headerLen > 0);
  const seen = new Set<string>();
  for (const [label, bytes, pattern] of cases) {
    assert.throws(() => decodeSafetensors(bytes, { fileName: 'model.safetensors' }), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, label);
      assert.match(e.message, /^safetensors model\.safetensors: /, label);
      assert.match(e.message, pattern, label);
      seen.add(e.message);
      return true;
    }, label);
  }
  assert.equal(seen.size, cases.length, 'every corruption has a distinct message');
});

test('writer rejects data that does not match its shape', () => {
  assert.throws(() => encodeSafetensors({ a: { data: new Float32Array(5), shape: [2, 3] } }), /tensor 'a': shape \[2, 3\] needs 6 values but data has 5/);
  assert.throws(() => encodeSafetensors({ __metadata__: { data: new Float32Array(1), shape: [1] } }), /reserved/);
});
