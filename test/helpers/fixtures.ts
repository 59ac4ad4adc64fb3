/**
 * Reader for the PyTorch reference fixtures in test/fixtures/ops/*.ckfx, written by tools/gen_fixtures.py
 * (which documents the format and what each case holds).
 *
 *   bytes 0..3   'CKFX'
 *   bytes 4..7   uint32 LE format version (1)
 *   bytes 8..11  uint32 LE header length H
 *   bytes 12..   H bytes of JSON: { family, torch, cases: [{ name, op, params, arrays: { key: { dtype, shape, offset } } }] }
 *   then         the data section: raw little-endian f32 / i32 arrays at the given byte offsets
 *
 * Usage:
 *   for (const c of loadFixtures('conv2d')) { const x = c.tensor('x'); const expected = c.f32('out'); ... }
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

interface ArrayEntry { dtype: 'f32' | 'i32'; shape: number[]; offset: number }
interface CaseHeader { name: string; op: string; params: Record<string, JsonValue>; arrays: Record<string, ArrayEntry> }
interface FileHeader { family: string; torch: string; cases: CaseHeader[] }

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/ops/', import.meta.url));
const FORMAT_VERSION = 1;

/** One reference case: named arrays plus the op's options. */
export class FixtureCase {
  readonly name: string;
  readonly op: string;
  readonly params: Readonly<Record<string, JsonValue>>;
  readonly #arrays: Record<string, ArrayEntry>;
  readonly #data: Uint8Array;
  readonly #file: string;

  constructor(header: CaseHeader, data: Uint8Array, file: string) {
    this.name = header.name;
    this.op = header.op;
    this.params = header.params;
    this.#arrays = header.arrays;
    this.#data = data;
    this.#file = file;
  }

  /** `family/name`, for assertion messages. */
  get label(): string { return `${this.#file}:${this.name}`; }

  has(key: string): boolean { return key in this.#arrays; }
  keys(): string[] { return Object.keys(this.#arrays); }

  shape(key: string): number[] { return [...this.#entry(key).shape]; }

  /** A fresh copy of a float32 array (safe to mutate). */
  f32(key: string): Float32Array {
    const e = this.#entry(key);
    if (e.dtype !== 'f32') throw new Error(`${this.label}: array '${key}' is ${e.dtype}, not f32`);
    return new Float32Array(this.#bytes(e).buffer);
  }

  /** A fresh copy of an int32 array (class indices). */
  i32(key: string): Int32Array {
    const e = this.#entry(key);
    if (e.dtype !== 'i32') throw new Error(`${this.label}: array '${key}' is ${e.dtype}, not i32`);
    return new Int32Array(this.#bytes(e).buffer);
  }

  /** A float32 array as a new leaf tensor (its own copy of the data). */
  tensor(key: string, options: { requiresGrad?: boolean } = {}): Tensor {
    return tensor(this.f32(key), this.shape(key), options);
  }

  /** The tensor if the case has that array, else null (optional bias, weight, ...). */
  optionalTensor(key: string, options: { requiresGrad?: boolean } = {}): Tensor | null {
    return this.has(key) ? this.tensor(key, options) : null;
  }

  num(key: string): number {
    const v = this.params[key];
    if (typeof v !== 'number') throw new Error(`${this.label}: param '${key}' is ${JSON.stringify(v)}, expected a number`);
    return v;
  }
  bool(key: string): boolean {
    const v = this.params[key];
    if (typeof v !== 'boolean') throw new Error(`${this.label}: param '${key}' is ${JSON.stringify(v)}, expected a boolean`);
    return v;
  }
  str(key: string): string {
    const v = this.params[key];
    if (typeof v !== 'string') throw new Error(`${this.label}: param '${key}' is ${JSON.stringify(v)}, expected a string`);
    return v;
  }
  /** A number or a [h, w] pair, the form convkit's conv and pool options take. */
  intOrPair(key: string): number | [number, number] {
    const v = this.params[key];
    if (typeof v === 'number') return v;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
    throw new Error(`${this.label}: param '${key}' is ${JSON.stringify(v)}, expected a number or a pair`);
  }
  /** An optional number: undefined when absent or null. */
  optionalNum(key: string): number | undefined {
    const v = this.params[key];
    if (v === undefined || v === null) return undefined;
    return this.num(key);
  }

  #entry(key: string): ArrayEntry {
    const e = this.#arrays[key];
    if (!e) throw new Error(`${this.label}: no array '${key}' (has ${Object.keys(this.#arrays).join(', ')})`);
    return e;
  }

  #bytes(e: ArrayEntry): Uint8Array {
    const n = e.shape.reduce((a, b) => a * b, 1);
    // slice() copies into a fresh, aligned buffer.
    return this.#data.slice(e.offset, e.offset + 4 * n);
  }
}

const cache = new Map<string, FixtureCase[]>();

/** All cases of one fixture family (the file test/fixtures/ops/<family>.ckfx). */
export function loadFixtures(family: string): FixtureCase[] {
  const cached = cache.get(family);
  if (cached) return cached;
  const path = `${FIXTURE_DIR}${family}.ckfx`;
  const bytes = new Uint8Array(readFileSync(path));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'CKFX') throw new Error(`${path}: not a convkit fixture file (magic '${magic}')`);
  const version = view.getUint32(4, true);
  if (version !== FORMAT_VERSION) throw new Error(`${path}: fixture format version ${version}, this reader knows ${FORMAT_VERSION}`);
  const headerLength = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as FileHeader;
  const data = bytes.subarray(12 + headerLength);
  for (const c of header.cases) {
    for (const [key, e] of Object.entries(c.arrays)) {
      const end = e.offset + 4 * e.shape.reduce((a, b) => a * b, 1);
      if (end > data.length) throw new Error(`${path}: case ${c.name} array ${key} runs past the end of the file`);
    }
  }
  const cases = header.cases.map((c) => new FixtureCase(c, data, header.family));
  cache.set(family, cases);
  return cases;
}

/** Cases of a family whose op is `op`. */
export function fixturesFor(family: string, op: string): FixtureCase[] {
  const cases = loadFixtures(family).filter((c) => c.op === op);
  if (cases.length === 0) throw new Error(`fixtures: family '${family}' has no cases for op '${op}'`);
  return cases;
}
