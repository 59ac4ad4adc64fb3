/**
 * The Train tab's data, loaded inside the engine worker: the embedded Fashion-MNIST subset, a full dataset the
 * server lists in `./datasets/index.json`, or IDX files the user dropped on the page.
 */
import { data } from '../../../src/index.js';
import type { LoadedData } from '../engine/state.js';
import type { ClassNamesChoice, DataSource, DataSummary } from './protocol.js';

const SUBSET_DIR = 'data/fashion-mnist-subset/';

function classNamesFor(choice: ClassNamesChoice): readonly string[] {
  return choice === 'mnist' ? data.MNIST_CLASSES : data.FASHION_MNIST_CLASSES;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** One split from its two IDX files (gzip or raw). */
async function splitFromBytes(
  imagesBytes: Uint8Array, imagesName: string, labelsBytes: Uint8Array, labelsName: string,
  classNames: readonly string[], name: string, source: data.DatasetSource,
): Promise<data.ImageDataset> {
  const images = data.parseIdxImages(await data.gunzipBytes(imagesBytes, imagesName, { idx: true }), imagesName);
  const labels = data.parseIdxLabels(await data.gunzipBytes(labelsBytes, labelsName, { idx: true }), labelsName, classNames.length);
  data.checkSameCount(images, imagesName, labels, labelsName);
  if (images.height !== 28 || images.width !== 28) {
    throw new Error(`${imagesName}: images of ${images.height}x${images.width} pixels; the explorer trains on 28x28 (MNIST-style) images`);
  }
  return new data.ImageDataset({ images: images.pixels, labels, channels: 1, height: 28, width: 28, classNames, name, source });
}

async function splitFromUrls(imagesUrl: string, labelsUrl: string, classNames: readonly string[], name: string, source: data.DatasetSource): Promise<data.ImageDataset> {
  const [images, labels] = await Promise.all([fetchBytes(imagesUrl), fetchBytes(labelsUrl)]);
  return splitFromBytes(images, imagesUrl, labels, labelsUrl, classNames, name, source);
}

/** What an IDX file holds, read from its header: 3 dimensions are images, 1 is labels. */
export function idxKind(bytes: Uint8Array, name: string): 'images' | 'labels' {
  const { dims } = data.parseIdx(bytes, name);
  if (dims.length === 3) return 'images';
  if (dims.length === 1) return 'labels';
  throw new Error(`${name}: an IDX file of ${dims.length} dimensions is neither images (3) nor labels (1)`);
}

/** 'train' or 'test' from a file name (Fashion-MNIST and MNIST call the test split t10k), or null. */
export function splitFromName(name: string): 'train' | 'test' | null {
  const base = name.toLowerCase().split('/').pop() ?? '';
  if (/t10k|test/.test(base)) return 'test';
  if (/train/.test(base)) return 'train';
  return null;
}

interface DroppedIdx { name: string; bytes: Uint8Array; kind: 'images' | 'labels'; count: number; split: 'train' | 'test' | null }

/**
 * Sort dropped files into train/test images/labels. The header says images or labels; the name says train or
 * test, and when it does not, the larger of two files of a kind is the training one.
 */
export async function sortDroppedFiles(files: { name: string; bytes: ArrayBuffer }[]): Promise<Record<'trainImages' | 'trainLabels' | 'testImages' | 'testLabels', DroppedIdx>> {
  const parsed: DroppedIdx[] = [];
  for (const f of files) {
    const bytes = await data.gunzipBytes(new Uint8Array(f.bytes), f.name, { idx: true });
    const kind = idxKind(bytes, f.name);
    parsed.push({ name: f.name, bytes, kind, count: data.parseIdx(bytes, f.name).dims[0]!, split: splitFromName(f.name) });
  }
  const out: Partial<Record<'trainImages' | 'trainLabels' | 'testImages' | 'testLabels', DroppedIdx>> = {};
  for (const kind of ['images', 'labels'] as const) {
    const ofKind = parsed.filter((p) => p.kind === kind);
    if (ofKind.length !== 2) {
      throw new Error(`need two ${kind} files (train and test), got ${ofKind.length}${ofKind.length ? `: ${ofKind.map((p) => p.name).join(', ')}` : ''}. ` +
        'Drop all four IDX files: train-images, train-labels, t10k-images, t10k-labels (.gz or not).');
    }
    let [a, b] = ofKind as [DroppedIdx, DroppedIdx];
    if (a.split === null || b.split === null || a.split === b.split) {
      // The names do not tell: the training split is the larger one.
      if (a.count === b.count) throw new Error(`cannot tell which ${kind} file is the training split: ${a.name} and ${b.name} have no train/test in their names and the same count`);
      if (a.count < b.count) [a, b] = [b, a];
    } else if (a.split === 'test') {
      [a, b] = [b, a];
    }
    if (kind === 'images') { out.trainImages = a; out.testImages = b; } else { out.trainLabels = a; out.testLabels = b; }
  }
  return out as Record<'trainImages' | 'trainLabels' | 'testImages' | 'testLabels', DroppedIdx>;
}

/** Load a train/test pair and describe it; normalisation comes from the training split (as `convkit train`). */
export async function loadData(source: DataSource): Promise<{ loaded: LoadedData; summary: DataSummary; name: string }> {
  let train: data.ImageDataset, test: data.ImageDataset, name: string, title: string;
  if (source.kind === 'subset') {
    const dir = new URL(SUBSET_DIR, source.baseUrl).href;
    const src: data.DatasetSource = { kind: 'embedded-subset', location: dir, isSubset: true };
    [train, test] = await Promise.all([
      splitFromUrls(`${dir}train-images-idx3-ubyte.gz`, `${dir}train-labels-idx1-ubyte.gz`, data.FASHION_MNIST_CLASSES, 'fashion-mnist-subset/train', src),
      splitFromUrls(`${dir}t10k-images-idx3-ubyte.gz`, `${dir}t10k-labels-idx1-ubyte.gz`, data.FASHION_MNIST_CLASSES, 'fashion-mnist-subset/test', src),
    ]);
    name = 'fashion-mnist-subset';
    title = 'Fashion-MNIST subset';
  } else if (source.kind === 'server') {
    const classNames = classNamesFor(source.name);
    const src: data.DatasetSource = { kind: 'server', location: source.files.trainImages };
    [train, test] = await Promise.all([
      splitFromUrls(source.files.trainImages, source.files.trainLabels, classNames, `${source.name}/train`, src),
      splitFromUrls(source.files.testImages, source.files.testLabels, classNames, `${source.name}/test`, src),
    ]);
    name = source.name;
    title = source.name === 'mnist' ? 'MNIST' : 'Fashion-MNIST';
  } else {
    const files = await sortDroppedFiles(source.files);
    const classNames = classNamesFor(source.classes);
    const src: data.DatasetSource = { kind: 'files', location: source.files.map((f) => f.name).join(', ') };
    train = await splitFromBytes(files.trainImages.bytes, files.trainImages.name, files.trainLabels.bytes, files.trainLabels.name, classNames, 'idx-files/train', src);
    test = await splitFromBytes(files.testImages.bytes, files.testImages.name, files.testLabels.bytes, files.testLabels.name, classNames, 'idx-files/test', src);
    name = source.classes;
    title = `your IDX files (${source.classes === 'mnist' ? 'MNIST digits' : 'Fashion-MNIST classes'})`;
  }
  const normalization = train.channelStats();
  const description = `${title}: ${train.length.toLocaleString('en-US')} train / ${test.length.toLocaleString('en-US')} test images`;
  return {
    loaded: { description, train, test, normalization },
    summary: { description, name, trainCount: train.length, testCount: test.length, classNames: [...train.classNames], normalization },
    name,
  };
}
