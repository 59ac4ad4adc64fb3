/**
 * What `convkit explore` serves (Node only), on top of the static server (./staticServer.ts):
 *
 *   /                     the built explorer (dist/web in the package; `npm run build` makes it)
 *   /data/                the embedded Fashion-MNIST subset (the package's data/ folder)
 *   /datasets/index.json  the full Fashion-MNIST / MNIST found on this machine, and each of their four files at
 *                         /datasets/<name>/<file> (exactly those files: nothing else on disk is reachable)
 *   /checkpoint/          the --checkpoint files and /checkpoint/index.json naming them (404 without one)
 *
 * Everything is local: the datasets are only looked up (Debian's package, $CONVKIT_DATA, the cache), never
 * downloaded, so the page works offline.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_DATASETS, type BuiltinDatasetName } from '../data/catalog.js';
import { META_FILE, MODEL_FILE, OPTIMIZER_FILE } from '../io/checkpoint.js';
import { checkpointFromTar } from '../io/checkpointArchive.js';
import { findCheckpointDir, loadCheckpoint } from './checkpoint.js';
import { resolveLocalSplit, type DatasetSourceKind } from './datasets.js';
import { serveStatic, type StaticServer } from './staticServer.js';

/** The package's root folder (holds package.json, data/ and, once built, dist/web/), from src/node or dist/node. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where `npm run build` puts the minified explorer. */
export const BUILT_APP_DIR = join(PACKAGE_ROOT, 'dist', 'web');

/** A full dataset as /datasets/index.json lists it. */
export interface ServedDataset {
  name: BuiltinDatasetName;
  /** Where the files were found, e.g. 'debian'. */
  source: DatasetSourceKind;
  /** The folder on this machine (for the page to show). */
  location: string;
  train: number;
  test: number;
  /** URL paths of the four IDX files. */
  files: { trainImages: string; trainLabels: string; testImages: string; testLabels: string };
}

/** The local full datasets, and the URL path -> file table that serves exactly their files. */
export function localDatasets(env: Readonly<Record<string, string | undefined>>): { datasets: ServedDataset[]; files: Record<string, string> } {
  const datasets: ServedDataset[] = [];
  const files: Record<string, string> = {};
  for (const info of Object.values(BUILTIN_DATASETS)) {
    let train, test;
    try {
      train = resolveLocalSplit(info.name, 'train', { env });
      test = resolveLocalSplit(info.name, 'test', { env });
    } catch {
      continue; // a folder without the files: the page simply does not offer this dataset
    }
    if (!train || !test) continue;
    const url = (path: string): string => {
      const u = `/datasets/${info.name}/${basename(path)}`;
      files[u] = path;
      return u;
    };
    datasets.push({
      name: info.name, source: train.kind, location: train.location, train: train.count, test: test.count,
      files: { trainImages: url(train.imagesPath), trainLabels: url(train.labelsPath), testImages: url(test.imagesPath), testLabels: url(test.labelsPath) },
    });
  }
  return { datasets, files };
}

/** A checkpoint as /checkpoint/index.json describes it. */
export interface ServedCheckpoint {
  /** The folder (or .tar) on this machine. */
  origin: string;
  model: string;
  epoch: number;
  /** File name -> URL path: checkpoint.json, model.safetensors, optimizer.safetensors, or one .tar. */
  files: Record<string, string>;
}

/**
 * Resolve `--checkpoint` as `convkit eval` does (a checkpoint folder, a run folder with best/ or last/, best
 * first, or a .tar), check that it loads, and map its files to URL paths. Throws a CheckpointError or an Error
 * whose message starts with the argument.
 */
export async function servedCheckpoint(arg: string, cwd: string): Promise<{ index: ServedCheckpoint; files: Record<string, string> }> {
  let dir = resolve(cwd, arg);
  const found = findCheckpointDir(dir);
  if (!existsSync(dir) && !found) throw new Error(`--checkpoint ${arg}: no such folder`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    if (!dir.toLowerCase().endsWith('.tar')) throw new Error(`--checkpoint ${arg}: is a file; a checkpoint is a folder with checkpoint.json and model.safetensors, or a .tar of one`);
    const { checkpoint } = await checkpointFromTar(new Uint8Array(readFileSync(dir)), dir, { skipOptimizer: true });
    const url = `/checkpoint/${encodeURIComponent(basename(dir))}`;
    return { index: { origin: dir, model: checkpoint.meta.model.name, epoch: checkpoint.meta.epoch, files: { [basename(dir)]: url } }, files: { [url]: dir } };
  }
  if (found) dir = found.dir;
  // Weights and meta only (as eval does): a broken optimizer file should not stop the page from showing the model.
  const checkpoint = await loadCheckpoint(dir, { skipOptimizer: true });
  const files: Record<string, string> = {};
  const names: Record<string, string> = {};
  for (const name of [META_FILE, MODEL_FILE, OPTIMIZER_FILE]) {
    if (!existsSync(join(dir, name))) continue;
    files[`/checkpoint/${name}`] = join(dir, name);
    names[name] = `/checkpoint/${name}`;
  }
  return { index: { origin: dir, model: checkpoint.meta.model.name, epoch: checkpoint.meta.epoch, files: names }, files };
}

export interface ExplorerServerOptions {
  /** The built app (default dist/web of the package). */
  appDir?: string;
  host?: string;
  port?: number;
  checkpoint?: { index: ServedCheckpoint; files: Record<string, string> } | null;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ExplorerServer extends StaticServer {
  datasets: ServedDataset[];
  checkpoint: ServedCheckpoint | null;
}

/** Serve the explorer with its data, datasets and checkpoint (see the top of this file). */
export async function startExplorerServer(options: ExplorerServerOptions = {}): Promise<ExplorerServer> {
  const appDir = resolve(options.appDir ?? BUILT_APP_DIR);
  const { datasets, files: datasetFiles } = localDatasets(options.env ?? process.env);
  const checkpoint = options.checkpoint ?? null;
  const server = await serveStatic({
    // /lab/: the lab's recorded results (lab/*.json, the files `convkit lab` writes), which the Why-CNNs-work tab
    // draws beside its short live runs.
    mounts: [{ prefix: '/', dir: appDir }, { prefix: '/data/', dir: join(PACKAGE_ROOT, 'data') }, { prefix: '/lab/', dir: join(PACKAGE_ROOT, 'lab') }],
    files: { ...datasetFiles, ...(checkpoint?.files ?? {}) },
    json: {
      '/datasets/index.json': { datasets },
      ...(checkpoint ? { '/checkpoint/index.json': checkpoint.index } : {}),
    },
    host: options.host,
    port: options.port,
  });
  return { ...server, datasets, checkpoint: checkpoint?.index ?? null };
}
