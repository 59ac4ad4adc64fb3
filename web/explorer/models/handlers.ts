/** Handlers of the explorer's models requests (declared in ./protocol.ts): checkpoints in and out of the engine. */
import { data, models, train } from '../../../src/index.js';
import { validateMeta, OPTIMIZER_FILE, type Checkpoint } from '../../../src/io/checkpoint.js';
import { checkpointFromFiles, checkpointFromTar, checkpointToFiles, findCheckpointFolder, sha256Hex } from '../../../src/io/checkpointArchive.js';
import { encodeTar } from '../../../src/io/tar.js';
import { Transfer, type EngineState, type LoadedModel } from '../engine/state.js';
import { requireModel } from '../engine/model.js';
import type { Handlers } from '../worker.js';
import type { ModelFile, ModelsRequests, ModelSummary } from './protocol.js';

/** What the page shows of a model (the numbers come from its checkpoint meta and the network itself). */
export function summarize(model: LoadedModel): ModelSummary {
  const ds = model.meta.dataset;
  const history = model.meta.metrics?.history ?? [];
  const last = history[history.length - 1];
  return {
    name: model.meta.model.name,
    classNames: ds ? [...ds.classNames] : [],
    inputShape: ds ? [...ds.inputShape] : [0, 0, 0],
    normalization: ds?.normalization ? { mean: [...ds.normalization.mean], std: [...ds.normalization.std] } : null,
    origin: model.origin,
    parameters: model.net.numParameters(),
    epochs: model.meta.epoch,
    testAccuracy: last ? last.testAccuracy : null,
  };
}

/** Read the checkpoint among the user's files: one .tar, or the folder holding checkpoint.json. */
async function readCheckpoint(files: readonly ModelFile[], origin: string): Promise<{ checkpoint: Checkpoint; folder: string; notes: string[] }> {
  if (files.length === 0) throw new Error('no files given: choose a checkpoint folder (checkpoint.json, model.safetensors, optimizer.safetensors) or its .tar');
  const tars = files.filter((f) => f.path.toLowerCase().endsWith('.tar'));
  if (tars.length > 0 && !files.some((f) => f.path.endsWith('checkpoint.json'))) {
    if (tars.length > 1) throw new Error(`${tars.length} .tar files given (${tars.map((t) => t.path).join(', ')}); load one at a time`);
    const tar = tars[0]!;
    const { checkpoint, folder } = await checkpointFromTar(tar.bytes, tar.path);
    return { checkpoint, folder: folder ? `${tar.path}:${folder}` : tar.path, notes: [] };
  }
  const paths = files.map((f) => f.path.replace(/^\/+/, ''));
  const folder = findCheckpointFolder(paths);
  if (folder === null) {
    throw new Error(`no checkpoint.json among ${paths.slice(0, 4).join(', ')}${paths.length > 4 ? ', ...' : ''}: a checkpoint folder written by convkit train holds checkpoint.json, model.safetensors and optimizer.safetensors`);
  }
  const byName = new Map<string, Uint8Array>();
  files.forEach((f, i) => {
    const path = paths[i]!;
    const name = folder === '' ? path : path.startsWith(folder + '/') ? path.slice(folder.length + 1) : null;
    if (name !== null && !name.includes('/')) byName.set(name, f.bytes);
  });
  const where = folder || origin;
  const notes: string[] = [];
  // Weights and meta are enough to look at and test a model; the optimizer state only matters to resume training.
  const skipOptimizer = !byName.has(OPTIMIZER_FILE);
  if (skipOptimizer) notes.push(`no ${OPTIMIZER_FILE}: weights only (training continues with a fresh optimizer)`);
  return { checkpoint: await checkpointFromFiles(byName, where, { skipOptimizer }), folder: where, notes };
}

/** The network a checkpoint describes, with its weights. */
function buildNet(checkpoint: Checkpoint, where: string): LoadedModel['net'] {
  const { name, config } = checkpoint.meta.model;
  if (!models.has(name)) throw new Error(`${where}/checkpoint.json names the model '${name}', which this convkit does not have (it has ${models.list().map((m) => m.name).join(', ')})`);
  const net = models.create(name, config as models.ModelOptions);
  try {
    net.loadStateDict(checkpoint.modelState);
  } catch (e) {
    throw new Error(`${where}/model.safetensors does not fit model '${name}': ${(e as Error).message}`);
  }
  net.eval();
  return net;
}

/** The embedded subset's test set, fetched from the server's /data/ once per worker. */
let subsetTest: Promise<data.ImageDataset> | null = null;

async function fetchBytes(url: URL): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status} (the server has no embedded subset at /data/; serve the page with npx convkit explore)`);
  return new Uint8Array(await response.arrayBuffer());
}

function loadSubsetTest(): Promise<data.ImageDataset> {
  subsetTest ??= (async () => {
    const base = new URL('./data/fashion-mnist-subset/', globalThis.location.href);
    const [imageBytes, labelBytes] = await Promise.all([
      fetchBytes(new URL('t10k-images-idx3-ubyte.gz', base)), fetchBytes(new URL('t10k-labels-idx1-ubyte.gz', base)),
    ]);
    const images = data.parseIdxImages(await data.gunzipBytes(imageBytes, 't10k-images-idx3-ubyte.gz'), 't10k-images-idx3-ubyte.gz');
    const labels = data.parseIdxLabels(await data.gunzipBytes(labelBytes, 't10k-labels-idx1-ubyte.gz'), 't10k-labels-idx1-ubyte.gz');
    data.checkSameCount(images, 't10k-images-idx3-ubyte.gz', labels, 't10k-labels-idx1-ubyte.gz');
    return new data.ImageDataset({
      images: images.pixels, labels, channels: 1, height: images.height, width: images.width,
      classNames: data.FASHION_MNIST_CLASSES, name: 'fashion-mnist-subset/test', source: { kind: 'embedded-subset', location: base.pathname, isSubset: true },
    });
  })();
  subsetTest.catch(() => { subsetTest = null; });
  return subsetTest;
}

export const modelsHandlers: Handlers<keyof ModelsRequests> = {
  async 'models.load'(params, state: EngineState) {
    if (state.training) throw new Error('a training run is going: stop it before loading another model');
    const { checkpoint, folder, notes } = await readCheckpoint(params.files, params.origin);
    const net = buildNet(checkpoint, folder);
    state.model = { net, meta: checkpoint.meta, origin: params.origin, optimizerState: checkpoint.optimizerState };
    return { model: summarize(state.model), folder, notes };
  },

  'models.describe'(_params, state) {
    return state.model ? summarize(state.model) : null;
  },

  async 'models.download'(_params, state) {
    const model = requireModel(state);
    // Snapshot the weights now (a training run only changes them between two of its steps, never during this call).
    const checkpoint: Checkpoint = { meta: model.meta, modelState: model.net.stateDict(), optimizerState: model.optimizerState ?? null };
    validateMeta({ format: 'convkit-checkpoint', version: 1, ...model.meta }, 'the model in the page');
    const files = await checkpointToFiles(checkpoint);
    const folder = `${model.meta.model.name}-epoch${model.meta.epoch}`;
    const tar = encodeTar(files.map((f) => ({ path: `${folder}/${f.name}`, bytes: f.bytes })), Date.now() / 1000);
    // Read it back as the CLI will: a download that does not load is an error here, not on the user's disk.
    await checkpointFromTar(tar, `${folder}.tar`);
    const listed = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: f.bytes.length, sha256: await sha256Hex(f.bytes) })));
    return new Transfer({ fileName: `${folder}.tar`, tar, files: listed }, [tar.buffer as ArrayBuffer]);
  },

  async 'models.evaluate'(_params, state) {
    const model = requireModel(state);
    const test = state.data?.test ?? (await loadSubsetTest());
    const ds = model.meta.dataset;
    if (!ds) throw new Error('the model does not record its classes and input shape, so it cannot be evaluated');
    const [c, h, w] = ds.inputShape;
    if (test.channels !== c || test.height !== h || test.width !== w) {
      throw new Error(`the test set (${test.name}) has ${test.channels}x${test.height}x${test.width} images; the model takes ${c}x${h}x${w}`);
    }
    if (test.numClasses !== ds.classNames.length) throw new Error(`the test set (${test.name}) has ${test.numClasses} classes; the model has ${ds.classNames.length}`);
    // The same loader, normalisation and metric as `convkit eval` (src/cli/commands/eval.ts).
    const norm = ds.normalization;
    const loader = new data.DataLoader(test, { batchSize: 256, transform: norm ? data.normalize(norm.mean, norm.std) : undefined, reuseBuffer: true });
    const result = train.evaluate(model.net, loader, ds.classNames.length);
    const correct = Math.round(result.accuracy * result.count);
    return { accuracy: result.accuracy, loss: result.loss, count: result.count, correct, dataset: `${test.name} (${test.length.toLocaleString('en-US')} images)` };
  },
};
