/**
 * The fuzz target table: for each parser, a seed corpus built from real files, a mutator, the call, the project's
 * error class, and what "accepted" must satisfy. A mutant is a small file tree written to a fresh case folder.
 *
 * Seeds: the embedded Fashion-MNIST subset (data/fashion-mnist-subset/), a lenet5 checkpoint saved with the
 * library, a hand-built safetensors file of every dtype, PNGs from pngjs and sharp, JPEGs from sharp.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { decodeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';
import { CheckpointError } from '../../src/io/checkpoint.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/checkpoint.js';
import { readIdxImagesFile, readIdxLabelsFile } from '../../src/node/dataFiles.js';
import { encodeIdx, gunzipBytes, IdxFormatError, parseIdx, parseIdxImages, parseIdxLabels } from '../../src/data/idx.js';
import { decodeImageFile, ImageFileError, loadImageFolder } from '../../src/node/dataImages.js';
import { manualSeed, models, optim } from '../../src/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { havoc, JsonMutant, joinSafetensors, mutateImage, mutateJson, mutateSafetensors, Rng, type Notes } from './harness.js';

/** A file tree relative to the case folder: bytes, a folder, or a symlink to a (possibly missing) path. */
export type Tree = Map<string, Uint8Array | { dir: true } | { symlink: string }>;

export interface Target<S = unknown> {
  name: string;
  /** What the target calls. */
  call: string;
  /** Self-check targets exist to prove the runner reports failures; they are not part of the fuzz run. */
  selfCheck?: boolean;
  /** Build the seed corpus (once per child process), in `work` if files are needed. */
  seeds(work: string): Promise<S[]>;
  /** A mutant of one seed. */
  mutate(seeds: S[], rng: Rng, notes: Notes): Tree;
  /**
   * Parse the mutant written at `dir`; resolve when it was accepted (returning a problem string for an accepted
   * result that is still wrong, e.g. non-finite weights), throw when it was refused.
   */
  run(dir: string): Promise<string | null>;
  /** Whether an error is the project's own typed error naming the file. */
  typed(err: unknown, dir: string): boolean;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const SUBSET = join(root, 'data', 'fashion-mnist-subset');
const enc = new TextEncoder();

function nonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

// ---------------------------------------------------------------- safetensors

/** A safetensors file holding one tensor of every dtype convkit reads (the library only writes F32). */
function allDtypesFile(): Uint8Array {
  const parts: Uint8Array[] = [];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  const add = (name: string, dtype: string, shape: number[], bytes: Uint8Array): void => {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  };
  const f64 = new Float64Array([0.5, -1.25, 3, 1e-3]);
  add('w.f64', 'F64', [2, 2], new Uint8Array(f64.buffer));
  add('w.f16', 'F16', [4], new Uint8Array(new Uint16Array([0x3c00, 0xbc00, 0x3555, 0x0001]).buffer));
  add('w.bf16', 'BF16', [2, 2], new Uint8Array(new Uint16Array([0x3f80, 0xbf80, 0x4000, 0x0000]).buffer));
  add('bn.num_batches_tracked', 'I64', [], new Uint8Array(new BigInt64Array([123n]).buffer));
  add('i32', 'I32', [3], new Uint8Array(new Int32Array([1, -2, 3]).buffer));
  add('i16', 'I16', [2], new Uint8Array(new Int16Array([-7, 7]).buffer));
  add('i8', 'I8', [2], new Uint8Array(new Int8Array([-1, 1]).buffer));
  add('u8', 'U8', [3], new Uint8Array([0, 128, 255]));
  add('mask', 'BOOL', [2], new Uint8Array([0, 1]));
  add('empty', 'F32', [0, 3], new Uint8Array(0));
  const data = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) { data.set(p, at); at += p.length; }
  return joinSafetensors(JSON.stringify(header), data);
}

/** The library's own file: a lenet5's state dict, and an Adam optimizer state dict, as a saved checkpoint. */
async function lenetCheckpoint(dir: string): Promise<void> {
  manualSeed(17);
  const net = models.create('lenet5');
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  // One step so the optimizer has moments (tensors) and a step count.
  const x = new Tensor(Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 13) / 13), [2, 1, 28, 28]);
  const out = net.forward(x);
  out.sum().backward();
  opt.step();
  await saveCheckpoint(dir, {
    meta: {
      model: { name: 'lenet5', config: {} },
      dataset: { name: 'fashion-mnist-subset', source: 'embedded', classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'], inputShape: [1, 28, 28], normalization: { mean: [0.286], std: [0.353] } },
      optimizer: { name: 'adam', hyperparameters: { lr: 1e-3 } },
      scheduler: { name: 'cosine', state: { lastEpoch: 1, baseLrs: [0.001] } },
      epoch: 1,
      globalStep: 1,
      rng: null,
      training: { seed: 17, batchSize: 2, epochs: 3 },
      metrics: { history: [{ epoch: 1, trainLoss: 2.3, trainAccuracy: 0.1, testLoss: 2.29, testAccuracy: 0.12, lr: 0.001, seconds: 1, imagesPerSecond: 2 }], best: { metric: 'testAccuracy', value: 0.12, epoch: 1 } },
    },
    modelState: net.stateDict(),
    optimizerState: opt.stateDict(),
  });
}

function fileTree(name: string, bytes: Uint8Array): Tree { return new Map([[name, bytes]]); }

function messageNames(err: unknown, path: string): boolean {
  return err instanceof Error && err.message.includes(path);
}

const safetensors: Target<Uint8Array> = {
  name: 'safetensors',
  call: 'decodeSafetensors(bytes, { fileName })',
  async seeds(work) {
    await lenetCheckpoint(join(work, 'ck'));
    return [readFileSync(join(work, 'ck', 'model.safetensors')), readFileSync(join(work, 'ck', 'optimizer.safetensors')), allDtypesFile()].map((b) => new Uint8Array(b));
  },
  mutate(seeds, rng, notes) {
    const i = rng.int(seeds.length);
    notes.push(`seed ${['model', 'optimizer', 'all-dtypes'][i]}`);
    let b = mutateSafetensors(seeds[i]!, rng, notes);
    if (rng.bool(0.2)) b = havoc(b, rng, notes);
    return fileTree('x.safetensors', b);
  },
  async run(dir) {
    const fileName = join(dir, 'x.safetensors');
    const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(fileName)), { fileName });
    for (const [k, t] of tensors) {
      const bad = nonFinite(t.data);
      if (bad >= 0) return `accepted tensor '${k}' with a non-finite value at ${bad}`;
      if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) return `tensor '${k}' shape [${t.shape}] does not match ${t.data.length} values`;
    }
    return null;
  },
  typed: (err, dir) => err instanceof SafetensorsError && messageNames(err, join(dir, 'x.safetensors')),
};

// ---------------------------------------------------------------- checkpoint folder

type Files = Record<string, Uint8Array>;
const CK_FILES = ['checkpoint.json', 'model.safetensors', 'optimizer.safetensors'];

function sha256(b: Uint8Array): string { return createHash('sha256').update(b).digest('hex'); }

/** Rewrite checkpoint.json's files table (sizes and SHA-256) to match mutated tensor files, when it parses. */
function fixHashes(files: Files, notes: Notes): void {
  let json: { files?: Record<string, { bytes: number; sha256: string }> };
  try { json = JSON.parse(new TextDecoder().decode(files['checkpoint.json'])); } catch { return; }
  if (!json || typeof json !== 'object' || !json.files || typeof json.files !== 'object') return;
  for (const f of ['model.safetensors', 'optimizer.safetensors']) {
    const b = files[f];
    if (b && json.files[f] && typeof json.files[f] === 'object') json.files[f] = { bytes: b.length, sha256: sha256(b) };
  }
  files['checkpoint.json'] = enc.encode(JSON.stringify(json, null, 1));
  notes.push('hashes fixed');
}

const checkpoint: Target<Files> = {
  name: 'checkpoint',
  call: 'loadCheckpoint(dir)',
  async seeds(work) {
    await lenetCheckpoint(join(work, 'ck'));
    const files: Files = {};
    for (const f of CK_FILES) files[f] = new Uint8Array(readFileSync(join(work, 'ck', f)));
    return [files];
  },
  mutate(seeds, rng, notes) {
    const files: Files = { ...seeds[0]! };
    const tree: Tree = new Map();
    const op = rng.weighted([[5, 'json'], [1, 'json-bytes'], [4, 'tensor'], [1, 'files'], [0.5, 'not-object']] as const);
    if (op === 'json') {
      const m = new JsonMutant(JSON.parse(new TextDecoder().decode(files['checkpoint.json'])));
      mutateJson(m, rng, notes);
      files['checkpoint.json'] = enc.encode(m.toText(rng.bool() ? 1 : undefined));
    } else if (op === 'json-bytes') {
      notes.push('checkpoint.json bytes:');
      files['checkpoint.json'] = havoc(files['checkpoint.json']!, rng, notes);
    } else if (op === 'tensor') {
      const f = rng.pick(['model.safetensors', 'optimizer.safetensors']);
      notes.push(`${f}:`);
      files[f] = mutateSafetensors(files[f]!, rng, notes);
      if (rng.bool(0.8)) fixHashes(files, notes);
    } else if (op === 'files') {
      const what = rng.pick(['delete', 'empty', 'dir', 'swap', 'symlink'] as const);
      const f = rng.pick(CK_FILES);
      notes.push(`${what} ${f}`);
      if (what === 'delete') delete files[f];
      else if (what === 'empty') files[f] = new Uint8Array(0);
      else if (what === 'dir') { delete files[f]; tree.set(f, { dir: true }); }
      else if (what === 'symlink') { delete files[f]; tree.set(f, { symlink: 'missing-target' }); }
      else {
        [files['model.safetensors'], files['optimizer.safetensors']] = [files['optimizer.safetensors']!, files['model.safetensors']!];
        fixHashes(files, notes);
      }
    } else {
      const v = rng.pick(['null', '[]', '"x"', '1', '{}', '', '\ufeff{}']);
      files['checkpoint.json'] = enc.encode(v);
      notes.push(`checkpoint.json = ${JSON.stringify(v)}`);
    }
    for (const [k, v] of Object.entries(files)) tree.set(`ck/${k}`, v);
    for (const [k, v] of [...tree]) if (!k.startsWith('ck/')) { tree.delete(k); tree.set(`ck/${k}`, v); }
    return tree;
  },
  async run(dir) {
    const ck = await loadCheckpoint(join(dir, 'ck'));
    for (const [k, t] of Object.entries(ck.modelState)) {
      if (!(t instanceof Tensor)) return `modelState '${k}' is not a Tensor`;
      const bad = nonFinite(t.data);
      if (bad >= 0) return `accepted model tensor '${k}' with a non-finite value at ${bad}`;
    }
    // Every tensor inside the optimizer state must be finite, and every object plain (a "__proto__" key in the file
    // must not become a prototype); walked without recursion, each object once.
    const stack: unknown[] = [ck.optimizerState];
    const seen = new Set<unknown>();
    const plain = new Set<unknown>([Object.prototype, Array.prototype, Map.prototype, Tensor.prototype, Float32Array.prototype, Int32Array.prototype, Uint32Array.prototype, Uint8Array.prototype]);
    while (stack.length > 0) {
      const v = stack.pop();
      if (v === null || typeof v !== 'object' || seen.has(v)) continue;
      seen.add(v);
      if (!plain.has(Object.getPrototypeOf(v))) return 'accepted an optimizer state object with a foreign prototype (a "__proto__" key set it)';
      if (v instanceof Tensor) { if (nonFinite(v.data) >= 0) return 'accepted a non-finite optimizer tensor'; continue; }
      if (v instanceof Float32Array) { if (nonFinite(v) >= 0) return 'accepted a non-finite optimizer Float32Array'; continue; }
      if (ArrayBuffer.isView(v)) continue;
      if (v instanceof Map) { stack.push(...v.keys(), ...v.values()); continue; }
      for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push(c);
    }
    return null;
  },
  typed: (err, dir) => err instanceof CheckpointError && messageNames(err, join(dir, 'ck')),
};

// ---------------------------------------------------------------- IDX

interface IdxSeed { kind: 'images' | 'labels'; name: string; gz: Uint8Array }

async function idxSeeds(): Promise<IdxSeed[]> {
  const images = new Uint8Array(readFileSync(join(SUBSET, 't10k-images-idx3-ubyte.gz')));
  const labels = new Uint8Array(readFileSync(join(SUBSET, 't10k-labels-idx1-ubyte.gz')));
  // Small re-encodings of the first 16 images and labels: most mutants are cheap to inflate and re-compress.
  const rawImages = parseIdx(new Uint8Array(gunzipSync(images)), 'images', 3);
  const rawLabels = parseIdx(new Uint8Array(gunzipSync(labels)), 'labels', 1);
  const n = 16;
  const smallImages = encodeIdx([n, 28, 28], rawImages.data.slice(0, n * 784));
  const smallLabels = encodeIdx([n], rawLabels.data.slice(0, n));
  return [
    { kind: 'images', name: 't10k-images-idx3-ubyte.gz', gz: images },
    { kind: 'labels', name: 't10k-labels-idx1-ubyte.gz', gz: labels },
    { kind: 'images', name: 'small-images-idx3-ubyte.gz', gz: new Uint8Array(gzipSync(smallImages, { level: 6 })) },
    { kind: 'labels', name: 'small-labels-idx1-ubyte.gz', gz: new Uint8Array(gzipSync(smallLabels, { level: 6 })) },
  ];
}

/** Edit the IDX inside (dimension fields, magic, data) and re-compress, or mutate the gzip stream itself. */
function mutateIdx(seeds: IdxSeed[], rng: Rng, notes: Notes): { seed: IdxSeed; bytes: Uint8Array; gz: boolean } {
  // Mostly the small seeds; the real files a quarter of the time.
  const seed = rng.bool(0.25) ? seeds[rng.int(2)]! : seeds[2 + rng.int(2)]!;
  notes.push(`seed ${seed.name}`);
  const op = rng.weighted([[3, 'gzip-havoc'], [4, 'inner'], [1, 'trailer'], [1, 'flags'], [1, 'members'], [0.5, 'raw']] as const);
  if (op === 'gzip-havoc') return { seed, bytes: havoc(seed.gz, rng, notes), gz: true };
  if (op === 'trailer') {
    const out = seed.gz.slice();
    const v = new DataView(out.buffer);
    const field = rng.pick(['isize', 'crc'] as const);
    const at = out.length - (field === 'isize' ? 4 : 8);
    const old = v.getUint32(at, true);
    const val = rng.pick([0, 1, old + 1, old - 1, old + 2 ** 31, 0xffffffff, 0x7fffffff]) >>> 0;
    v.setUint32(at, val, true);
    notes.push(`gzip ${field} ${old} -> ${val}`);
    return { seed, bytes: out, gz: true };
  }
  if (op === 'flags') {
    const out = seed.gz.slice();
    const byte = rng.pick([2, 3, 8, 9]); // CM, FLG, XFL, OS
    out[byte] = rng.pick([0, 1, 2, 4, 8, 16, 0x1f, 0xe0, 0xff, 7]);
    notes.push(`gzip header byte ${byte} = ${out[byte]}`);
    return { seed, bytes: out, gz: true };
  }
  const inner = new Uint8Array(gunzipSync(seed.gz));
  if (op === 'members') {
    const what = rng.pick(['twice', 'empty-member', 'garbage-after'] as const);
    notes.push(`gzip ${what}`);
    if (what === 'twice') return { seed, bytes: cat(seed.gz, seed.gz), gz: true };
    if (what === 'empty-member') return { seed, bytes: cat(seed.gz, new Uint8Array(gzipSync(new Uint8Array(0)))), gz: true };
    return { seed, bytes: cat(seed.gz, rng.bytes(1 + rng.int(64))), gz: true };
  }
  let out: Uint8Array = inner.slice();
  const k = 1 + rng.int(2);
  for (let j = 0; j < k; j++) {
    const edit = rng.weighted([[4, 'dim'], [1, 'type'], [1, 'ndim'], [1, 'size'], [1, 'label'], [2, 'havoc']] as const);
    const ndim = out.length >= 4 ? out[3]! : 0;
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (edit === 'dim' && out.length >= 4 + 4 * ndim && ndim > 0) {
      const i = rng.int(ndim);
      const old = v.getUint32(4 + 4 * i);
      const val = rng.pick([0, 1, 2, old - 1, old + 1, old * 2, 27, 29, 784, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32()]) >>> 0;
      v.setUint32(4 + 4 * i, val);
      notes.push(`dim ${i} ${old} -> ${val}`);
    } else if (edit === 'type') { out[2] = rng.pick([0x00, 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0xff]); notes.push(`type byte = ${out[2]}`); }
    else if (edit === 'ndim') { out[3] = rng.pick([0, 1, 2, 3, 4, 255]); notes.push(`ndim byte = ${out[3]}`); }
    else if (edit === 'size') {
      const d = rng.pick([-1, 1, -784, 784, -100, 100]);
      out = d < 0 ? out.slice(0, Math.max(0, out.length + d)) : cat(out, new Uint8Array(d));
      notes.push(`data ${d > 0 ? '+' : ''}${d} bytes`);
    } else if (edit === 'label' && seed.kind === 'labels' && out.length > 8) {
      const at = 8 + rng.int(out.length - 8);
      out[at] = rng.pick([10, 11, 127, 255]);
      notes.push(`label at ${at - 8} = ${out[at]}`);
    } else { notes.push('inner:'); out = havoc(out, rng, notes); }
  }
  if (rng.bool(0.1)) { notes.push('left uncompressed'); return { seed, bytes: out, gz: false }; }
  return { seed, bytes: new Uint8Array(gzipSync(out, { level: 1 })), gz: true };
}

function cat(a: Uint8Array, b: Uint8Array): Uint8Array { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; }

/** The file name of an IDX mutant: the kind is kept in the name so the run knows which reader applies. */
function idxName(seed: IdxSeed, gz: boolean): string { return `${seed.kind}-idx${seed.kind === 'images' ? 3 : 1}-ubyte${gz ? '.gz' : ''}`; }

function checkIdxResult(kind: string, r: { count: number; height: number; width: number; pixels: Uint8Array } | Int32Array): string | null {
  if (r instanceof Int32Array) return r.every((v) => v >= 0 && v < 10) ? null : 'accepted a label out of range';
  return r.pixels.length === r.count * r.height * r.width ? null : `accepted ${kind} of ${r.count}x${r.height}x${r.width} with ${r.pixels.length} pixels`;
}

const idxNode: Target<IdxSeed> = {
  name: 'idx',
  call: 'readIdxImagesFile(path) / readIdxLabelsFile(path)',
  seeds: () => idxSeeds(),
  mutate(seeds, rng, notes) {
    const { seed, bytes, gz } = mutateIdx(seeds, rng, notes);
    return fileTree(idxName(seed, gz), bytes);
  },
  async run(dir) {
    for (const name of ['images-idx3-ubyte', 'images-idx3-ubyte.gz', 'labels-idx1-ubyte', 'labels-idx1-ubyte.gz']) {
      const path = join(dir, name);
      let exists = true;
      try { readFileSync(path, { flag: 'r' }).length; } catch { exists = false; }
      if (!exists) continue;
      return checkIdxResult('images', name.startsWith('images') ? readIdxImagesFile(path) : readIdxLabelsFile(path));
    }
    return 'no mutant file';
  },
  typed: (err, dir) => err instanceof IdxFormatError && messageNames(err, dir),
};

const idxBrowser: Target<IdxSeed> = {
  name: 'idx-browser',
  call: 'gunzipBytes(bytes, name, { idx: true }) + parseIdxImages / parseIdxLabels',
  seeds: () => idxSeeds(),
  mutate(seeds, rng, notes) {
    const { seed, bytes, gz } = mutateIdx(seeds, rng, notes);
    return fileTree(idxName(seed, gz), bytes);
  },
  async run(dir) {
    for (const name of ['images-idx3-ubyte', 'images-idx3-ubyte.gz', 'labels-idx1-ubyte', 'labels-idx1-ubyte.gz']) {
      let bytes: Uint8Array;
      try { bytes = new Uint8Array(readFileSync(join(dir, name))); } catch { continue; }
      const label = `fuzz/${name}`;
      const raw = await gunzipBytes(bytes, label, { idx: true });
      return checkIdxResult('images', name.startsWith('images') ? parseIdxImages(raw, label) : parseIdxLabels(raw, label));
    }
    return 'no mutant file';
  },
  typed: (err) => err instanceof IdxFormatError && err.message.includes('fuzz/'),
};

// ---------------------------------------------------------------- PNG / JPEG

interface ImageSeed { name: string; bytes: Uint8Array }

async function imageSeeds(): Promise<ImageSeed[]> {
  // A real Fashion-MNIST image (the first test image) as the pixel source.
  const raw = parseIdx(new Uint8Array(gunzipSync(readFileSync(join(SUBSET, 't10k-images-idx3-ubyte.gz')))), 'images', 3).data.slice(0, 784);
  const gray = new PNG({ width: 28, height: 28 });
  const rgba = new Uint8Array(28 * 28 * 4);
  for (let i = 0; i < 784; i++) rgba.set([raw[i]!, raw[i]!, raw[i]!, 255], i * 4);
  gray.data = Buffer.from(rgba);
  const grayPng = PNG.sync.write(gray, { colorType: 0 });
  const rgbaPng = new PNG({ width: 20, height: 12 });
  for (let i = 0; i < 20 * 12; i++) rgbaPng.data.set([raw[i * 3]!, raw[i * 3 + 1]!, 255 - raw[i]!, (i * 7) & 255], i * 4);
  const img = sharp(Buffer.from(rgba), { raw: { width: 28, height: 28, channels: 4 } });
  const seeds: ImageSeed[] = [
    { name: 'gray.png', bytes: new Uint8Array(grayPng) },
    { name: 'rgba.png', bytes: new Uint8Array(PNG.sync.write(rgbaPng)) },
    { name: 'palette.png', bytes: new Uint8Array(await img.clone().png({ palette: true, colours: 16 }).toBuffer()) },
    { name: 'interlaced.png', bytes: new Uint8Array(await img.clone().png({ progressive: true }).toBuffer()) },
    { name: 'baseline.jpg', bytes: new Uint8Array(await img.clone().jpeg({ quality: 80 }).toBuffer()) },
    { name: 'progressive.jpg', bytes: new Uint8Array(await img.clone().resize(32, 24).jpeg({ progressive: true, quality: 70 }).toBuffer()) },
    { name: 'rotated.jpg', bytes: new Uint8Array(await img.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer()) },
  ];
  return seeds;
}

function imageMutant(seeds: ImageSeed[], rng: Rng, notes: Notes): ImageSeed {
  const seed = rng.pick(seeds);
  notes.push(`seed ${seed.name}`);
  let name = seed.name;
  if (rng.bool(0.05)) { name = name.endsWith('.png') ? name.replace('.png', '.jpg') : name.replace('.jpg', '.png'); notes.push(`renamed ${name}`); }
  return { name, bytes: mutateImage(seed.bytes, rng, notes) };
}

const image: Target<ImageSeed> = {
  name: 'image',
  call: 'decodeImageFile(path, { size: 28, channels: 1 })',
  seeds: () => imageSeeds(),
  mutate(seeds, rng, notes) {
    const m = imageMutant(seeds, rng, notes);
    return fileTree(`img${m.name.slice(m.name.lastIndexOf('.'))}`, m.bytes);
  },
  async run(dir) {
    for (const name of ['img.png', 'img.jpg']) {
      try { readFileSync(join(dir, name)); } catch { continue; }
      const px = await decodeImageFile(join(dir, name), { size: 28, channels: 1 });
      return px.length === 784 ? null : `accepted image decoded to ${px.length} values`;
    }
    return 'no mutant file';
  },
  typed: (err, dir) => err instanceof ImageFileError && messageNames(err, dir),
};

// ---------------------------------------------------------------- image folder

const imageFolder: Target<ImageSeed> = {
  name: 'image-folder',
  call: 'loadImageFolder(dir, { size: 16, channels: 1 })',
  seeds: () => imageSeeds(),
  mutate(seeds, rng, notes) {
    const tree: Tree = new Map();
    // Two classes, three images each, from the seed images.
    const layout: [string, ImageSeed][] = [];
    for (const cls of ['bag', 'coat']) for (let i = 0; i < 3; i++) layout.push([`${cls}/${i}-${seeds[(i * 2 + (cls === 'bag' ? 0 : 1)) % seeds.length]!.name}`, seeds[(i * 2 + (cls === 'bag' ? 0 : 1)) % seeds.length]!]);
    for (const [p, s] of layout) tree.set(`root/${p}`, s.bytes);
    const k = 1 + rng.int(2);
    for (let j = 0; j < k; j++) {
      const op = rng.weighted([[5, 'replace'], [1, 'empty-class'], [1, 'non-image'], [1, 'nested'], [0.5, 'top-file'], [0.5, 'hidden'], [0.5, 'symlink'], [0.5, 'odd-name'], [0.2, 'no-classes']] as const);
      const files = [...tree.keys()].filter((p) => tree.get(p) instanceof Uint8Array);
      if (op === 'replace' && files.length > 0) {
        const p = rng.pick(files);
        const m = imageMutant(seeds, rng, notes);
        tree.delete(p);
        tree.set(p.replace(/\.[a-z]+$/, m.name.slice(m.name.lastIndexOf('.'))), m.bytes);
        notes.push(`replaced ${p}`);
      } else if (op === 'empty-class') {
        const cls = rng.pick(['bag', 'coat', 'new']);
        for (const p of [...tree.keys()]) if (p.startsWith(`root/${cls}/`)) tree.delete(p);
        tree.set(`root/${cls}`, { dir: true });
        notes.push(`empty class ${cls}`);
      } else if (op === 'non-image') {
        const [name, bytes] = rng.pick<[string, Uint8Array]>([['notes.txt', enc.encode('hello')], ['fake.png', enc.encode('<html>404</html>')], ['zero.jpeg', new Uint8Array(0)], ['x.PNG', enc.encode('not a png')], ['data.json', enc.encode('{}')]]);
        tree.set(`root/${rng.pick(['bag', 'coat'])}/${name}`, bytes);
        notes.push(`non-image ${name}`);
      } else if (op === 'nested') {
        const what = rng.pick(['sub', 'dir-named-png', 'deep'] as const);
        const cls = rng.pick(['bag', 'coat']);
        if (what === 'sub') tree.set(`root/${cls}/sub/0.png`, seeds[0]!.bytes);
        else if (what === 'dir-named-png') tree.set(`root/${cls}/folder.png`, { dir: true });
        else tree.set(`root/${cls}/a/b/c/d/0.png`, seeds[0]!.bytes);
        notes.push(`nested ${what} in ${cls}`);
      } else if (op === 'top-file') { tree.set(`root/${rng.pick(['README.md', 'x.png', 'labels.csv'])}`, seeds[0]!.bytes); notes.push('top-level file'); }
      else if (op === 'hidden') { tree.set(`root/${rng.pick(['.git', 'bag/.DS_Store', '.hidden/x.png'])}`, enc.encode('x')); notes.push('hidden entry'); }
      else if (op === 'symlink') {
        const where = rng.pick(['root/ghost', 'root/bag/ghost.png', 'root/coat/loop.png']);
        tree.set(where, { symlink: where.endsWith('loop.png') ? 'loop.png' : 'does-not-exist' });
        notes.push(`dangling symlink ${where}`);
      } else if (op === 'odd-name') {
        const name = rng.pick(['class with spaces', 'ünïcödé', '-dash', '__proto__', 'constructor', 'x'.repeat(200)]);
        tree.set(`root/${name}/0.png`, seeds[0]!.bytes);
        notes.push(`class ${JSON.stringify(name.slice(0, 20))}`);
      } else {
        for (const p of [...tree.keys()]) tree.delete(p);
        tree.set('root', { dir: true });
        notes.push('no class folders');
      }
    }
    return tree;
  },
  async run(dir) {
    const ds = await loadImageFolder(join(dir, 'root'), { size: 16, channels: 1, onWarning: () => undefined });
    if (ds.images.length !== ds.labels.length * 256) return `accepted ${ds.labels.length} labels with ${ds.images.length} pixels`;
    for (const l of ds.labels) if (l < 0 || l >= ds.classNames.length) return `label ${l} outside ${ds.classNames.length} classes`;
    return null;
  },
  typed: (err, dir) => err instanceof ImageFileError && messageNames(err, join(dir, 'root')),
};

// ---------------------------------------------------------------- self-checks: deliberately broken parsers

const brokenJson: Target<Uint8Array> = {
  name: 'selfcheck-json-parse',
  call: '(b) => JSON.parse(text) (throws SyntaxError, not SafetensorsError)',
  selfCheck: true,
  async seeds() { return [enc.encode('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')]; },
  mutate: (seeds, rng, notes) => fileTree('x.json', havoc(seeds[0]!, rng, notes)),
  async run(dir) { JSON.parse(readFileSync(join(dir, 'x.json'), 'utf8')); return null; },
  typed: (err) => err instanceof SafetensorsError,
};

const hang: Target<Uint8Array> = {
  name: 'selfcheck-hang',
  call: 'a parser that never returns',
  selfCheck: true,
  async seeds() { return [new Uint8Array(1)]; },
  mutate: (seeds) => fileTree('x', seeds[0]!),
  async run() { for (;;) { /* spin */ } },
  typed: () => false,
};

const hog: Target<Uint8Array> = {
  name: 'selfcheck-memory',
  call: 'a parser that touches 1.5 GB',
  selfCheck: true,
  async seeds() { return [new Uint8Array(1)]; },
  mutate: (seeds) => fileTree('x', seeds[0]!),
  async run() {
    const blocks: Buffer[] = [];
    for (let i = 0; i < 24; i++) blocks.push(Buffer.alloc(64 * 2 ** 20, 1));
    return blocks.length > 0 ? 'should have been stopped' : null;
  },
  typed: () => false,
};

const crash: Target<Uint8Array> = {
  name: 'selfcheck-crash',
  call: 'a parser that kills its process',
  selfCheck: true,
  async seeds() { return [new Uint8Array(1)]; },
  mutate: (seeds) => fileTree('x', seeds[0]!),
  async run() { process.kill(process.pid, 'SIGKILL'); return null; },
  typed: () => false,
};

export const TARGETS: readonly Target<any>[] = [safetensors, checkpoint, idxNode, idxBrowser, image, imageFolder, brokenJson, hang, hog, crash];
export const FUZZ_TARGETS: readonly string[] = TARGETS.filter((t) => !t.selfCheck).map((t) => t.name);

export function targetByName(name: string): Target<any> {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target ${name} (known: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
