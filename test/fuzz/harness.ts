/**
 * A seeded, deterministic fuzz harness for convkit's parsers (issue 17, "What must be shown").
 *
 * - Rng + mutators: byte havoc (bit flips, insertions, deletions, truncation, interesting integers) and format-aware
 *   edits (safetensors header length and JSON, IDX dimension fields, PNG IHDR with CRC recomputed, JPEG SOF,
 *   NaN/Inf in tensor data, odd dtypes, deep JSON nesting). Mutant `i` of a target under seed `s` depends only on
 *   (s, target, i), so any case can be reproduced alone.
 * - Runner: each target's cases run in a child process (test/fuzz/child.ts) that builds the seed corpus once and
 *   then runs one mutant per message. The parent times each case (killed past timeoutMs + 1 s), polls the child's
 *   resident memory (killed past rssLimit), and classifies: accepted, typed error (the project's own error class
 *   naming the file), or failure (any other error, an accepted non-finite tensor, a crash, too slow, too big).
 *
 * The target table is in test/fuzz/targets.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------- deterministic randomness

/** xmur3-style 32-bit string hash. */
export function hashString(s: string): number {
  let h = 1779033703 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  h = Math.imul(h ^ (h >>> 16), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: small, fast, deterministic. */
export class Rng {
  private a: number;
  constructor(seed: number) { this.a = seed >>> 0; }
  static forCase(seed: number, target: string, index: number): Rng { return new Rng(hashString(`${seed}:${target}:${index}`)); }
  u32(): number {
    let t = (this.a = (this.a + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number { return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n); }
  bool(p = 0.5): boolean { return this.u32() / 2 ** 32 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  /** Pick by weight: [[weight, value], ...]. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    const total = xs.reduce((s, [w]) => s + w, 0);
    let r = (this.u32() / 2 ** 32) * total;
    for (const [w, v] of xs) { if ((r -= w) < 0) return v; }
    return xs[xs.length - 1]![1];
  }
  bytes(n: number): Uint8Array { const out = new Uint8Array(n); for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff; return out; }
}

// ---------------------------------------------------------------- byte mutations

export type Notes = string[];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x7b, 0x22];
const INTERESTING_32 = [0, 1, 2, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** A random position, biased towards the first 64 bytes where headers live. */
function position(b: Uint8Array, rng: Rng): number {
  if (b.length === 0) return 0;
  return rng.bool(0.4) ? rng.int(Math.min(64, b.length)) : rng.int(b.length);
}

/** One generic byte-level mutation (never in place). */
export function byteMutation(b: Uint8Array, rng: Rng, notes: Notes): Uint8Array {
  const op = rng.pick(['flip', 'set', 'insert', 'delete', 'truncate', 'duplicate', 'append', 'int32'] as const);
  const out = b.slice();
  switch (op) {
    case 'flip': {
      const k = 1 + rng.int(8);
      for (let i = 0; i < k && out.length > 0; i++) { const p = position(out, rng); out[p] ^= 1 << rng.int(8); }
      notes.push(`flip ${k} bits`);
      return out;
    }
    case 'set': {
      const k = 1 + rng.int(4);
      for (let i = 0; i < k && out.length > 0; i++) out[position(out, rng)] = rng.bool(0.5) ? rng.pick(INTERESTING_8) : rng.u32() & 0xff;
      notes.push(`set ${k} bytes`);
      return out;
    }
    case 'insert': {
      const p = position(b, rng);
      const n = 1 + rng.int(64);
      const ins = rng.bool(0.5) ? rng.bytes(n) : new Uint8Array(n).fill(rng.pick(INTERESTING_8));
      notes.push(`insert ${n} bytes at ${p}`);
      return concat(b.subarray(0, p), ins, b.subarray(p));
    }
    case 'delete': {
      const p = position(b, rng);
      const n = 1 + rng.int(Math.min(256, Math.max(1, b.length - p)));
      notes.push(`delete ${n} bytes at ${p}`);
      return concat(b.subarray(0, p), b.subarray(p + n));
    }
    case 'truncate': {
      const at = rng.bool(0.3) ? rng.int(Math.min(64, b.length + 1)) : rng.int(b.length + 1);
      notes.push(`truncate to ${at}`);
      return b.slice(0, at);
    }
    case 'duplicate': {
      if (b.length === 0) return out;
      const from = rng.int(b.length);
      const n = 1 + rng.int(Math.min(1024, b.length - from));
      const to = rng.int(b.length + 1);
      notes.push(`duplicate ${n} bytes from ${from} to ${to}`);
      return concat(b.subarray(0, to), b.subarray(from, from + n), b.subarray(to));
    }
    case 'append': {
      const n = 1 + rng.int(4096);
      notes.push(`append ${n} bytes`);
      return concat(b, rng.bytes(n));
    }
    case 'int32': {
      if (b.length < 4) return out;
      const p = Math.min(position(b, rng), b.length - 4);
      const v = rng.bool(0.7) ? rng.pick(INTERESTING_32) : rng.u32();
      new DataView(out.buffer).setUint32(p, v, rng.bool());
      notes.push(`int32 ${v} at ${p}`);
      return out;
    }
  }
}

/** 1-3 generic byte mutations. */
export function havoc(b: Uint8Array, rng: Rng, notes: Notes): Uint8Array {
  let out = b;
  const k = 1 + rng.int(3);
  for (let i = 0; i < k; i++) out = byteMutation(out, rng, notes);
  return out;
}

// ---------------------------------------------------------------- JSON mutations

/**
 * JSON mutations work on a parsed value and return text: values that JSON.stringify cannot produce (1e999,
 * 100,000-deep nesting, which would overflow its recursion) are placed as marker strings and spliced in as raw text.
 */
export class JsonMutant {
  private raws: string[] = [];
  constructor(public root: unknown) {}
  raw(text: string): string { this.raws.push(text); return `__FUZZ_RAW_${this.raws.length - 1}__`; }
  toText(indent?: number): string {
    let text = JSON.stringify(this.root, null, indent) ?? 'null';
    this.raws.forEach((r, i) => { text = text.split(`"__FUZZ_RAW_${i}__"`).join(r); });
    return text;
  }
}

interface Slot { parent: Record<string, unknown> | unknown[]; key: string | number; path: string }

function slots(root: unknown, limit = 20000): Slot[] {
  const out: Slot[] = [];
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0 && out.length < limit) {
    const [v, path] = stack.pop()!;
    if (Array.isArray(v)) v.forEach((c, i) => { out.push({ parent: v, key: i, path: `${path}[${i}]` }); stack.push([c, `${path}[${i}]`]); });
    else if (v !== null && typeof v === 'object') {
      for (const [k, c] of Object.entries(v)) { out.push({ parent: v as Record<string, unknown>, key: k, path: `${path}.${k}` }); stack.push([c, `${path}.${k}`]); }
    }
  }
  return out;
}

export const ODD_STRINGS = ['', ' ', '\u0000', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '\ud800', '\u202e\u0041', 'NaN', 'Infinity', '-Infinity', '1e999', '../../../etc/passwd', 'é', 'x'.repeat(100_000)];
const HUGE_NUMBERS: (number | string)[] = [1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 2 ** 32, 2 ** 31, -(2 ** 31), 5e-324, -0, 0.5, -1, Number.MAX_SAFE_INTEGER, '1e999', '-1e999', '123456789012345678901234567890', '1e-999'];

function nested(rng: Rng): string {
  const depth = rng.pick([65, 100, 1000, 10_000, 100_000]);
  const [o, c] = rng.bool() ? ['[', ']'] : ['{"a":', '}'];
  return o.repeat(depth) + '1' + c.repeat(depth);
}

/** 1-3 structural edits of a JSON document (delete keys, change types, huge numbers, deep nesting, odd strings). */
export function mutateJson(m: JsonMutant, rng: Rng, notes: Notes): void {
  const k = 1 + rng.int(3);
  for (let i = 0; i < k; i++) {
    const all = slots(m.root);
    if (all.length === 0) { m.root = rng.pick([null, [], 1, 'x']); notes.push('json root replaced'); return; }
    const s = rng.pick(all);
    const set = (v: unknown): void => { (s.parent as Record<string | number, unknown>)[s.key] = v; };
    const op = rng.weighted([[3, 'delete'], [3, 'type'], [2, 'number'], [1, 'nest'], [2, 'string'], [1, 'rename'], [1, 'grow'], [1, 'swap']] as const);
    switch (op) {
      case 'delete':
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else delete s.parent[s.key as string];
        notes.push(`json delete ${s.path}`);
        break;
      case 'type': {
        const v = rng.pick([null, true, false, 0, 1, -1, 1.5, '', 'x', [], {}, [1, 2], { $number: 'NaN' }, { $tensor: 'missing' }, { $float32: 'x' }]);
        set(structuredClone(v));
        notes.push(`json type ${s.path}=${JSON.stringify(v)}`);
        break;
      }
      case 'number': {
        const v = rng.pick(HUGE_NUMBERS);
        set(typeof v === 'string' ? m.raw(v) : v);
        notes.push(`json number ${s.path}=${v}`);
        break;
      }
      case 'nest': {
        const text = nested(rng);
        set(m.raw(text));
        notes.push(`json nest ${s.path} depth ${text.indexOf('1')}`);
        break;
      }
      case 'string': {
        const v = rng.pick(ODD_STRINGS);
        set(v);
        notes.push(`json string ${s.path}=${JSON.stringify(v.slice(0, 20))}${v.length > 20 ? `(${v.length})` : ''}`);
        break;
      }
      case 'rename': {
        if (Array.isArray(s.parent)) break;
        const to = rng.pick(['__proto__', '', 'constructor', s.key + ' ', String(s.key).toUpperCase()]);
        const v = s.parent[s.key as string];
        delete s.parent[s.key as string];
        Object.defineProperty(s.parent, to, { value: v, enumerable: true, writable: true, configurable: true });
        notes.push(`json rename ${s.path} -> ${JSON.stringify(to)}`);
        break;
      }
      case 'grow': {
        const v = (s.parent as Record<string | number, unknown>)[s.key];
        const n = rng.pick([2, 10, 1000, 100_000]);
        set(Array.from({ length: n }, () => v));
        notes.push(`json grow ${s.path} x${n}`);
        break;
      }
      case 'swap': {
        const t = rng.pick(all);
        const a = (s.parent as Record<string | number, unknown>)[s.key];
        const b = (t.parent as Record<string | number, unknown>)[t.key];
        if (a === t.parent || b === s.parent) break;
        set(b);
        (t.parent as Record<string | number, unknown>)[t.key] = a;
        notes.push(`json swap ${s.path} <-> ${t.path}`);
        break;
      }
    }
  }
}

// ---------------------------------------------------------------- safetensors-aware mutations

export function splitSafetensors(b: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))) as Record<string, unknown>, data: b.subarray(8 + n) };
}

export function joinSafetensors(headerText: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

export const ODD_DTYPES = ['f32', 'F32 ', ' F32', 'F8_E4M3', 'F8_E5M2', 'U64', 'U32', 'U16', 'C64', 'I4', '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '', 'F\u0000', 'Ｆ32'];

type Entry = { dtype: string; shape: unknown; data_offsets: unknown };
const SIZE: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** One format-aware edit of a valid safetensors file (or a byte havoc). */
export function mutateSafetensors(b: Uint8Array, rng: Rng, notes: Notes): Uint8Array {
  const op = rng.weighted([[3, 'havoc'], [2, 'length'], [3, 'json'], [2, 'dtype'], [2, 'shape'], [1, 'offsets'], [3, 'nonfinite'], [2, 'reinterpret'], [1, 'huge'], [1, 'nest']] as const);
  if (op === 'havoc') return havoc(b, rng, notes);
  if (op === 'length') {
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    const v = rng.pick([0n, 1n, 2n, BigInt(n - 1), BigInt(n + 1), BigInt(n + 1 + rng.int(8)), BigInt(b.length - 8), BigInt(b.length - 7), 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n, BigInt(rng.u32())]);
    const out = b.slice();
    new DataView(out.buffer).setBigUint64(0, v, true);
    notes.push(`header length ${n} -> ${v}`);
    return out;
  }
  const { header, data } = splitSafetensors(b);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const pickEntry = (): [string, Entry] => { const k = rng.pick(names); return [k, header[k] as Entry]; };
  const m = new JsonMutant(header);
  let outData = data;
  switch (op) {
    case 'json': mutateJson(m, rng, notes); break;
    case 'dtype': { const [k, e] = pickEntry(); e.dtype = rng.pick(ODD_DTYPES); notes.push(`dtype of ${k} = ${JSON.stringify(e.dtype)}`); break; }
    case 'shape': {
      const [k, e] = pickEntry();
      const v = rng.pick<unknown>([[], [0], [-1], [1.5], ['3'], [2 ** 53], [2 ** 31, 2 ** 31], [2 ** 26, 2 ** 26, 2 ** 26], new Array(65).fill(1), new Array(100_000).fill(1), null, {}, 'x', [null], [1e308]]);
      e.shape = v;
      notes.push(`shape of ${k} = ${JSON.stringify(v).slice(0, 40)}`);
      break;
    }
    case 'offsets': {
      const [k, e] = pickEntry();
      const [a, z] = e.data_offsets as [number, number];
      const v = rng.pick<unknown>([[z, a], [a + 1, z + 1], [a - 1, z - 1], [-4, z], [a, z + 4], [a, 2 ** 53], [a + 0.5, z + 0.5], [String(a), z], [a], [a, z, z], null, [0, 0]]);
      e.data_offsets = v;
      notes.push(`data_offsets of ${k} = ${JSON.stringify(v)}`);
      break;
    }
    case 'nonfinite': {
      // NaN/Inf/-Inf written over aligned elements of a float tensor (F32 or a half type) without changing the header.
      const floats = names.filter((k) => ['F32', 'F16', 'BF16', 'F64'].includes((header[k] as Entry).dtype));
      if (floats.length === 0) break;
      const k = rng.pick(floats);
      const e = header[k] as Entry;
      const [a, z] = e.data_offsets as [number, number];
      const size = SIZE[e.dtype]!;
      const n = (z - a) / size;
      if (n === 0) break;
      outData = data.slice();
      const view = new DataView(outData.buffer, outData.byteOffset + a);
      const count = 1 + rng.int(3);
      const which = rng.pick(['NaN', 'Inf', '-Inf', 'sNaN'] as const);
      for (let i = 0; i < count; i++) {
        const at = rng.int(n) * size;
        if (e.dtype === 'F32') view.setUint32(at, { NaN: 0x7fc00000, Inf: 0x7f800000, '-Inf': 0xff800000, sNaN: 0x7f800001 }[which], true);
        else if (e.dtype === 'F64') view.setFloat64(at, which === '-Inf' ? -Infinity : which === 'Inf' ? Infinity : NaN, true);
        else if (e.dtype === 'F16') view.setUint16(at, { NaN: 0x7e00, Inf: 0x7c00, '-Inf': 0xfc00, sNaN: 0x7c01 }[which], true);
        else view.setUint16(at, { NaN: 0x7fc0, Inf: 0x7f80, '-Inf': 0xff80, sNaN: 0x7f81 }[which], true);
      }
      notes.push(`${count} ${which} in ${k} (${e.dtype})`);
      break;
    }
    case 'reinterpret': {
      // The same bytes read as another dtype with a consistent shape: F32 weights as F16 or BF16 hold Inf/NaN patterns.
      const [k, e] = pickEntry();
      const [a, z] = e.data_offsets as [number, number];
      const dtype = rng.pick(Object.keys(SIZE));
      if ((z - a) % SIZE[dtype]! !== 0) break;
      e.dtype = dtype;
      e.shape = [(z - a) / SIZE[dtype]!];
      notes.push(`reinterpret ${k} as ${dtype}`);
      break;
    }
    case 'huge': {
      const kind = rng.pick(['metadata', 'padding', 'empties'] as const);
      if (kind === 'metadata') header['__metadata__'] = { big: 'x'.repeat(1 + rng.int(5_000_000)) };
      else if (kind === 'empties') { for (let i = 0; i < 100_000; i++) header[`e${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] }; }
      notes.push(`huge header (${kind})`);
      if (kind === 'padding') return joinSafetensors(m.toText() + ' '.repeat(1 + rng.int(10_000_000)), outData);
      break;
    }
    case 'nest': {
      const [k, e] = pickEntry();
      const where = rng.pick(['shape', 'data_offsets', 'dtype', 'metadata'] as const);
      const text = nested(rng);
      if (where === 'metadata') header['__metadata__'] = { deep: m.raw(text) };
      else (e as Record<string, unknown>)[where] = m.raw(text);
      notes.push(`deep nesting in ${where === 'metadata' ? '__metadata__' : `${k}.${where}`}`);
      break;
    }
  }
  return joinSafetensors(m.toText(), outData);
}

// ---------------------------------------------------------------- PNG / JPEG-aware mutations

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; t[n] = c >>> 0; }
  return t;
})();
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface PngChunk { at: number; length: number; type: string }
function pngChunks(b: Uint8Array): PngChunk[] {
  const out: PngChunk[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 8; at + 12 <= b.length;) {
    const length = v.getUint32(at);
    const type = String.fromCharCode(...b.subarray(at + 4, at + 8));
    out.push({ at, length, type });
    at += 12 + length;
  }
  return out;
}
/** Recompute the CRC of the chunk at `c`. */
function fixCrc(b: Uint8Array, c: PngChunk): void {
  if (c.at + 12 + c.length > b.length) return; // a chunk cut short by an earlier mutation has no CRC to fix
  new DataView(b.buffer, b.byteOffset).setUint32(c.at + 8 + c.length, crc32(b.subarray(c.at + 4, c.at + 8 + c.length)));
}

export function isPng(b: Uint8Array): boolean { return b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47; }

export function mutatePng(b: Uint8Array, rng: Rng, notes: Notes): Uint8Array {
  const op = rng.weighted([[3, 'havoc'], [3, 'ihdr-size'], [1, 'ihdr-format'], [2, 'chunk-data'], [1, 'chunks']] as const);
  if (op === 'havoc') return havoc(b, rng, notes);
  const out = b.slice();
  const chunks = pngChunks(out);
  const v = new DataView(out.buffer);
  const ihdr = chunks.find((c) => c.type === 'IHDR');
  if (!ihdr || ihdr.at + 21 > out.length) return havoc(b, rng, notes);
  if (op === 'ihdr-size') {
    const w = v.getUint32(ihdr.at + 8), h = v.getUint32(ihdr.at + 12);
    const field = rng.pick(['width', 'height', 'both'] as const);
    const val = (x: number): number => rng.pick([0, 1, x - 1, x + 1, x * 2, x * 100, 10_000, 65_535, 6_094_876, 2 ** 31 - 1, 2 ** 31, 0xffffffff]) >>> 0;
    const nw = field === 'height' ? w : val(w), nh = field === 'width' ? h : val(h);
    v.setUint32(ihdr.at + 8, nw);
    v.setUint32(ihdr.at + 12, nh);
    fixCrc(out, ihdr);
    notes.push(`IHDR ${w}x${h} -> ${nw}x${nh} (CRC fixed)`);
    return out;
  }
  if (op === 'ihdr-format') {
    const field = rng.pick([16, 17, 18, 19, 20]); // bit depth, colour type, compression, filter, interlace
    const val = rng.pick([0, 1, 2, 3, 4, 6, 8, 16, 255]);
    out[ihdr.at + field] = val;
    fixCrc(out, ihdr);
    notes.push(`IHDR byte ${field - 8} = ${val} (CRC fixed)`);
    return out;
  }
  if (op === 'chunk-data') {
    // Corrupt inside a chunk (usually IDAT) and recompute its CRC, so the damage reaches the decoder.
    const withData = chunks.filter((c) => c.length > 0 && c.at + 12 + c.length <= out.length);
    if (withData.length === 0) return havoc(b, rng, notes);
    const c = rng.pick(withData);
    const k = 1 + rng.int(4);
    for (let i = 0; i < k; i++) out[c.at + 8 + rng.int(c.length)] = rng.u32() & 0xff;
    fixCrc(out, c);
    notes.push(`${k} bytes in ${c.type} (CRC fixed)`);
    return out;
  }
  // Drop, duplicate or reorder whole chunks.
  const parts = chunks.map((c) => out.subarray(c.at, Math.min(out.length, c.at + 12 + c.length)));
  const i = rng.int(parts.length);
  const what = rng.pick(['drop', 'dup', 'swap'] as const);
  if (what === 'drop') parts.splice(i, 1);
  else if (what === 'dup') parts.splice(i, 0, parts[i]!);
  else { const j = rng.int(parts.length); [parts[i], parts[j]] = [parts[j]!, parts[i]!]; }
  notes.push(`${what} chunk ${chunks[i]?.type}`);
  return concat(out.subarray(0, 8), ...parts);
}

export function mutateJpeg(b: Uint8Array, rng: Rng, notes: Notes): Uint8Array {
  const op = rng.weighted([[3, 'havoc'], [3, 'sof-size'], [1, 'sof-components'], [1, 'segment-length'], [1, 'no-eoi']] as const);
  if (op === 'havoc') return havoc(b, rng, notes);
  const out = b.slice();
  const v = new DataView(out.buffer);
  // Marker segments up to the start of scan.
  const segs: { at: number; marker: number }[] = [];
  for (let at = 2; at + 4 <= out.length && out[at] === 0xff;) {
    const marker = out[at + 1]!;
    segs.push({ at, marker });
    if (marker === 0xda) break;
    at += 2 + v.getUint16(at + 2);
  }
  const sof = segs.find((s) => s.marker >= 0xc0 && s.marker <= 0xcf && s.marker !== 0xc4 && s.marker !== 0xc8 && s.marker !== 0xcc);
  if (op === 'no-eoi') { notes.push('EOI removed'); return out.slice(0, out.length - 2); }
  if (op === 'segment-length' && segs.length > 0) {
    const s = rng.pick(segs);
    const val = rng.pick([0, 1, 2, 0xffff, v.getUint16(s.at + 2) + 1, v.getUint16(s.at + 2) - 1]) & 0xffff;
    v.setUint16(s.at + 2, val);
    notes.push(`segment ff${s.marker.toString(16)} length = ${val}`);
    return out;
  }
  if (!sof || sof.at + 9 > out.length) return havoc(b, rng, notes);
  if (op === 'sof-size') {
    const h = v.getUint16(sof.at + 5), w = v.getUint16(sof.at + 7);
    const val = (x: number): number => rng.pick([0, 1, x - 1, x + 1, x * 2, x * 64, 10_000, 65_535]) & 0xffff;
    const field = rng.pick(['width', 'height', 'both'] as const);
    const nh = field === 'width' ? h : val(h), nw = field === 'height' ? w : val(w);
    v.setUint16(sof.at + 5, nh);
    v.setUint16(sof.at + 7, nw);
    notes.push(`SOF ${w}x${h} -> ${nw}x${nh}`);
    return out;
  }
  // Component count, sampling factors or quantisation table ids.
  const field = rng.pick([4, 9, 11, 12, 14]);
  const val = rng.pick([0, 1, 2, 3, 4, 0x11, 0x22, 0x44, 0xff]);
  if (sof.at + field < out.length) out[sof.at + field] = val;
  notes.push(`SOF byte ${field} = ${val}`);
  return out;
}

export function mutateImage(b: Uint8Array, rng: Rng, notes: Notes): Uint8Array {
  const k = 1 + (rng.bool(0.3) ? 1 : 0);
  let out = b;
  for (let i = 0; i < k; i++) out = isPng(out) ? mutatePng(out, rng, notes) : out[0] === 0xff && out[1] === 0xd8 ? mutateJpeg(out, rng, notes) : havoc(out, rng, notes);
  return out;
}

// ---------------------------------------------------------------- runner

export type Outcome = 'accepted' | 'typed' | 'failure';

export interface CaseResult {
  index: number;
  outcome: Outcome;
  /** What the mutant is (its mutations). */
  notes: string[];
  /** For a typed error or failure: its class and message (shortened). */
  error?: string;
  ms: number;
  /**
   * Resident memory of the case, bytes: the child's peak resident set when this case raised it (maxRSS), else its
   * resident set after the case, and at least the largest value the parent's 25 ms polling saw during the case.
   */
  maxRss: number;
}

export interface TargetStats {
  target: string;
  seed: number;
  count: number;
  accepted: number;
  typed: number;
  failures: CaseResult[];
  slowest: CaseResult | null;
  /** The largest resident memory seen while the target ran, and the case that raised it there. */
  peakRss: { bytes: number; index: number; notes: string[] };
  seconds: number;
}

export interface RunOptions {
  targets: readonly string[];
  count: number;
  seed: number;
  /** Cases running at once (each in its own child process). */
  concurrency?: number;
  /** A case slower than this is a failure (default 5000 ms); the child is killed 1 s later. */
  timeoutMs?: number;
  /** Resident memory above this is a failure (default 1 GiB); the child is killed when polling sees it. */
  rssLimit?: number;
  /** Cases per child process (a target's range is split into jobs of this size). */
  jobSize?: number;
  onResult?: (target: string, r: CaseResult) => void;
  /** Single cases to run as well (regressions found by the long run), beyond [0, count). */
  extra?: readonly { target: string; index: number }[];
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface Job { target: string; from: number; to: number }

/** Run cases [from, to) of one target in child processes; a killed or crashed child is replaced. */
async function runJob(job: Job, opts: Required<Omit<RunOptions, 'onResult' | 'targets' | 'extra'>> & Pick<RunOptions, 'onResult'>, sink: (r: CaseResult) => void): Promise<void> {
  let next = job.from;
  while (next < job.to) {
    next = await new Promise<number>((resolveJob) => {
      // The parent owns the child's work folder, so it is removed even when the child is killed.
      const work = mkdtempSync(join(tmpdir(), `convkit-fuzz-${job.target}-`));
      const child: ChildProcess = fork(CHILD, [job.target, String(opts.seed), work], {
        execArgv: ['--import', 'tsx', '--expose-gc', '--max-old-space-size=4096'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
      let toSend = next;
      let current = -1; // the case in flight, -1 when none
      let ready = false;
      let started = 0;
      let timer: NodeJS.Timeout | null = null;
      let poll: NodeJS.Timeout | null = null;
      let killedFor: string | null = null;
      let peak = 0;
      const stopTimers = (): void => { if (timer) clearTimeout(timer); if (poll) clearInterval(poll); timer = poll = null; };
      const tail = (): string => stderr.trim().split('\n').slice(-3).join(' | ');
      const send = (): void => {
        if (toSend >= job.to) { current = -1; child.send({ type: 'exit' }); return; }
        current = toSend++;
        peak = 0;
        started = performance.now();
        child.send({ type: 'run', index: current });
        timer = setTimeout(() => { killedFor = `timeout: no answer after ${opts.timeoutMs + 1000} ms`; child.kill('SIGKILL'); }, opts.timeoutMs + 1000);
        poll = setInterval(() => {
          const rss = rssOf(child.pid!);
          if (rss !== null) peak = Math.max(peak, rss);
          if (rss !== null && rss > opts.rssLimit) { killedFor = `memory: resident ${(rss / 2 ** 20).toFixed(0)} MiB > ${(opts.rssLimit / 2 ** 20).toFixed(0)} MiB`; child.kill('SIGKILL'); }
        }, 25);
      };
      child.on('message', (msg: { type: string } & Partial<CaseResult>) => {
        if (msg.type === 'ready') { ready = true; send(); return; }
        if (msg.type === 'started') {
          // The mutant is generated and written: time and memory from here are the parser's.
          if (timer) clearTimeout(timer);
          started = performance.now();
          peak = 0;
          timer = setTimeout(() => { killedFor = `timeout: no answer after ${opts.timeoutMs + 1000} ms`; child.kill('SIGKILL'); }, opts.timeoutMs + 1000);
          return;
        }
        if (msg.type === 'result') {
          stopTimers();
          const r = msg as unknown as CaseResult;
          r.maxRss = Math.max(r.maxRss, peak);
          if (r.outcome !== 'failure' && r.ms > opts.timeoutMs) { r.error = `too slow: ${r.ms.toFixed(0)} ms > ${opts.timeoutMs} ms (was ${r.outcome}${r.error ? `: ${r.error}` : ''})`; r.outcome = 'failure'; }
          if (r.outcome !== 'failure' && r.maxRss > opts.rssLimit) { r.outcome = 'failure'; r.error = `memory: peak resident ${(r.maxRss / 2 ** 20).toFixed(0)} MiB > ${(opts.rssLimit / 2 ** 20).toFixed(0)} MiB`; }
          current = -1;
          sink(r);
          send();
        }
      });
      child.on('exit', (code, signal) => {
        stopTimers();
        rmSync(work, { recursive: true, force: true });
        if (!ready) {
          // Died before running anything: the corpus could not be built. Every remaining case is a failure.
          for (let i = next; i < job.to; i++) sink({ index: i, outcome: 'failure', notes: ['child died during setup'], error: `setup: exit ${code ?? signal}: ${tail()}`, ms: 0, maxRss: peak });
          resolveJob(job.to);
          return;
        }
        if (current >= 0) {
          sink({ index: current, outcome: 'failure', notes: [], error: killedFor ?? `crash: child exited with ${code ?? signal}: ${tail()}`, ms: performance.now() - started, maxRss: peak });
          resolveJob(current + 1);
          return;
        }
        if (toSend < job.to) {
          // Exited between cases: an error escaped a finished case (an unhandled rejection, say).
          sink({ index: toSend, outcome: 'failure', notes: ['crash between cases'], error: `crash after case ${toSend - 1}: exit ${code ?? signal}: ${tail()}`, ms: 0, maxRss: peak });
          resolveJob(Math.min(job.to, toSend + 1));
          return;
        }
        resolveJob(job.to);
      });
    });
  }
}

/** Run `count` mutants of each target and classify them. */
export async function runFuzz(options: RunOptions): Promise<TargetStats[]> {
  const opts = { concurrency: 2, timeoutMs: 5000, rssLimit: 2 ** 30, jobSize: 5000, ...options };
  const stats = new Map<string, TargetStats>();
  const started = new Map<string, number>();
  const jobs: Job[] = [];
  for (const target of opts.targets) {
    stats.set(target, { target, seed: opts.seed, count: 0, accepted: 0, typed: 0, failures: [], slowest: null, peakRss: { bytes: 0, index: -1, notes: [] }, seconds: 0 });
    for (let from = 0; from < opts.count; from += opts.jobSize) jobs.push({ target, from, to: Math.min(opts.count, from + opts.jobSize) });
  }
  for (const { target, index } of opts.extra ?? []) {
    if (!stats.has(target)) throw new Error(`extra case for ${target}, which is not among the targets`);
    if (index >= opts.count) jobs.push({ target, from: index, to: index + 1 });
  }
  let nextJob = 0;
  const worker = async (): Promise<void> => {
    while (nextJob < jobs.length) {
      const job = jobs[nextJob++]!;
      const s = stats.get(job.target)!;
      if (!started.has(job.target)) started.set(job.target, performance.now());
      const t0 = performance.now();
      await runJob(job, opts, (r) => {
        s.count++;
        if (r.outcome === 'accepted') s.accepted++;
        else if (r.outcome === 'typed') s.typed++;
        else s.failures.push(r);
        if (!s.slowest || r.ms > s.slowest.ms) s.slowest = r;
        if (r.maxRss > s.peakRss.bytes) s.peakRss = { bytes: r.maxRss, index: r.index, notes: r.notes };
        opts.onResult?.(job.target, r);
      });
      s.seconds += (performance.now() - t0) / 1000;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  for (const s of stats.values()) s.failures.sort((a, b) => a.index - b.index);
  return [...stats.values()];
}
