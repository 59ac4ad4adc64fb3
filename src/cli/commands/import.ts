/**
 * `convkit import`: a model made elsewhere becomes a convkit checkpoint folder that `convkit eval`, `predict` and
 * `export` accept. `--onnx FILE`: the file is imported (io.importOnnx), copied beside the checkpoint as model.onnx
 * (the checkpoint's model is `{ name: 'onnx', config: { file: 'model.onnx' } }`, rebuilt from it by
 * src/cli/runtime.ts modelFromCheckpoint) and its weights saved as the checkpoint's state dict.
 * `--pytorch DIR`: a PyTorch export folder, through importPytorchFolder (src/node/pytorchInterop.ts).
 *
 * A foreign file carries no preprocessing, so the command states every default it assumed: the input shape, the
 * normalisation and the class names (from --input/--normalize/--classes/--dataset, else convkit's own metadata in
 * the file, else the file's input shape, no normalisation and numbered classes).
 */
import { defineCommand } from '../command.js';
import { stringOption } from '../options.js';
import { UsageError } from '../errors.js';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES } from '../../data/catalog.js';
import { importOnnx, OnnxImportError, type OnnxModule } from '../../io/onnx/import.js';
import type { CheckpointMeta } from '../../io/checkpoint.js';
import { ONNX_CHECKPOINT_MODEL } from '../runtime.js';
import { importPytorchFolder, PytorchExportError, type PytorchImportResult } from '../../node/pytorchInterop.js';

/** Datasets whose conventions --dataset can supply (the embedded subset has Fashion-MNIST's classes). */
const DATASETS: Record<string, { classNames: readonly string[]; inputShape: [number, number, number] }> = {
  'fashion-mnist': { classNames: FASHION_MNIST_CLASSES, inputShape: [1, 28, 28] },
  'fashion-mnist-subset': { classNames: FASHION_MNIST_CLASSES, inputShape: [1, 28, 28] },
  mnist: { classNames: MNIST_CLASSES, inputShape: [1, 28, 28] },
};

/** The ONNX file's name inside the checkpoint folder. */
const ONNX_FILE = 'model.onnx';

function parseInputShape(text: string): [number, number, number] {
  const parts = text.toLowerCase().split('x');
  const dims = parts.map(Number);
  if (parts.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > 65536)) {
    throw new UsageError(`--input ${text}: expected CxHxW with positive integers, e.g. 1x28x28`);
  }
  return dims as [number, number, number];
}

/** `none`, `MEAN,STD` (every channel) or `M1,..,MC,S1,..,SC` (per channel). */
function parseNormalization(text: string, channels: number): { mean: number[]; std: number[] } | null {
  if (text === 'none') return null;
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isFinite(v)) || (values.length !== 2 && values.length !== 2 * channels)) {
    throw new UsageError(`--normalize ${text}: expected none, MEAN,STD, or ${channels} means then ${channels} stds`);
  }
  const mean = values.length === 2 ? new Array<number>(channels).fill(values[0]!) : values.slice(0, channels);
  const std = values.length === 2 ? new Array<number>(channels).fill(values[1]!) : values.slice(channels);
  if (std.some((s) => s <= 0)) throw new UsageError(`--normalize ${text}: standard deviations must be positive`);
  return { mean, std };
}

export default defineCommand({
  name: 'import',
  order: 43,
  summary: 'turn an ONNX file into a convkit checkpoint folder (eval, predict and export accept it)',
  usage: 'convkit import --onnx FILE.onnx --out DIR [--input CxHxW] [--normalize none|MEAN,STD] [--classes a,b,c | --dataset NAME]',
  description:
    'The graph runs with convkit\'s own operators (Conv, Gemm, BatchNormalization, pooling, Concat, Pad, LRN, ...) and ' +
    'its initializers become trainable parameters named as in the file. The file is copied into DIR as model.onnx ' +
    'beside checkpoint.json and model.safetensors. A file carries no preprocessing: the command prints the input ' +
    'shape, normalisation and class names it assumed (convkit\'s own exports record them; others need the flags).',
  options: {
    onnx: { type: 'string', valueName: 'FILE', description: 'the .onnx file to import' },
    pytorch: { type: 'string', valueName: 'DIR', description: 'a PyTorch export folder (see convkit\'s PyTorch interop)' },
    out: { type: 'string', valueName: 'DIR', description: 'checkpoint folder to write' },
    input: { type: 'string', valueName: 'CxHxW', description: 'one image\'s shape, when the file leaves it symbolic', defaultText: 'the file\'s input shape' },
    normalize: { type: 'string', valueName: 'none|MEAN,STD', description: 'how pixels in [0, 1] were normalised for this model', defaultText: 'the file\'s convkit metadata, else none' },
    classes: { type: 'string', valueName: 'a,b,c', description: 'class names, in output order' },
    dataset: { type: 'string', valueName: 'NAME', description: 'fashion-mnist, mnist or fashion-mnist-subset: its class names and 1x28x28 input, and eval\'s default test set' },
    force: { type: 'boolean', description: 'replace a checkpoint already in --out' },
  },
  examples: [
    'convkit import --onnx lenet.onnx --out imported/lenet --dataset fashion-mnist --normalize 0.2860,0.3530',
    'convkit eval --checkpoint imported/lenet',
  ],
  async run({ args, out, cwd }) {
    const v = args.values;
    const onnxArg = stringOption(v, 'onnx');
    const pytorchArg = stringOption(v, 'pytorch');
    if (onnxArg === undefined && pytorchArg === undefined) throw new UsageError('give --onnx FILE (or --pytorch DIR) to import');
    if (onnxArg !== undefined && pytorchArg !== undefined) throw new UsageError('give either --onnx or --pytorch, not both');
    const outArg = stringOption(v, 'out');
    if (!outArg) throw new UsageError('--out DIR is required (the checkpoint folder to write)');
    const { resolve, join, basename } = await import('node:path');
    const { existsSync, readFileSync, statSync } = await import('node:fs');
    const outDir = resolve(cwd, outArg);
    if (existsSync(outDir)) {
      if (!statSync(outDir).isDirectory()) throw new UsageError(`--out ${outArg}: is a file; give a folder for the checkpoint`);
      if (existsSync(join(outDir, 'checkpoint.json')) && v['force'] !== true) throw new UsageError(`--out ${outArg}: already holds a checkpoint; pass --force to replace it`);
    }
    if (pytorchArg !== undefined) return importPytorch(pytorchArg, outDir, { cwd, out });

    const file = resolve(cwd, onnxArg!);
    if (!existsSync(file)) throw new UsageError(`--onnx ${onnxArg}: no such file`);
    if (statSync(file).isDirectory()) throw new UsageError(`--onnx ${onnxArg}: is a folder; give the .onnx file`);
    const bytes = new Uint8Array(readFileSync(file));
    const datasetName = stringOption(v, 'dataset');
    const dataset = datasetName === undefined || !Object.hasOwn(DATASETS, datasetName) ? undefined : DATASETS[datasetName];
    if (datasetName !== undefined && !dataset) throw new UsageError(`--dataset ${datasetName}: expected one of ${Object.keys(DATASETS).join(', ')}`);
    const inputText = stringOption(v, 'input');
    const requestedShape = inputText !== undefined ? parseInputShape(inputText) : dataset?.inputShape;

    let net: OnnxModule;
    try {
      net = importOnnx(bytes, { source: basename(file), inputShape: requestedShape });
    } catch (e) {
      if (e instanceof OnnxImportError) throw new UsageError(`--onnx ${onnxArg}: ${e.message.replace(/^importOnnx\([^)]*\): /, '')}`);
      throw e;
    }
    const info = net.info;
    const assumed: string[] = [];
    if (info.sampleShape.length !== 3) throw new UsageError(`--onnx ${onnxArg}: the input is [N, ${info.sampleShape.join(', ')}]; convkit checkpoints take images [N, C, H, W]`);
    const inputShape = info.sampleShape as [number, number, number];
    const from = inputText !== undefined ? '--input' : dataset ? `--dataset ${datasetName}` : 'the file';
    assumed.push(`input [N, ${inputShape.join(', ')}] (from ${from})`);
    if (info.outputSampleShape.length !== 1) throw new UsageError(`--onnx ${onnxArg}: the output is [N, ${info.outputSampleShape.join(', ')}]; a classifier's is [N, classes]`);
    const classCount = info.outputSampleShape[0]!;

    let classNames: string[];
    const classesText = stringOption(v, 'classes');
    if (classesText !== undefined) {
      classNames = classesText.split(',').map((c) => c.trim());
      if (classNames.some((c) => c === '')) throw new UsageError(`--classes ${classesText}: empty class name`);
      assumed.push(`${classNames.length} class names from --classes`);
    } else if (dataset) {
      classNames = [...dataset.classNames];
      assumed.push(`class names of ${datasetName}`);
    } else if (info.classNames) {
      classNames = info.classNames;
      assumed.push('class names from the file\'s convkit.class_names');
    } else {
      classNames = Array.from({ length: classCount }, (_, i) => String(i));
      assumed.push(`classes numbered 0..${classCount - 1} (pass --classes or --dataset to name them)`);
    }
    if (classNames.length !== classCount) throw new UsageError(`the model has ${classCount} outputs but ${classNames.length} class names were given`);

    let normalization: { mean: number[]; std: number[] } | null;
    const normText = stringOption(v, 'normalize');
    if (normText !== undefined) {
      normalization = parseNormalization(normText, inputShape[0]);
      assumed.push(normalization ? `normalisation mean [${normalization.mean.join(', ')}], std [${normalization.std.join(', ')}] (from --normalize)` : 'no normalisation (--normalize none)');
    } else if (info.normalization !== undefined) {
      normalization = info.normalization;
      assumed.push(normalization ? `normalisation mean [${normalization.mean.join(', ')}], std [${normalization.std.join(', ')}] (from the file's convkit.normalization)` : 'no normalisation (from the file\'s convkit.normalization)');
    } else {
      normalization = null;
      assumed.push('no normalisation: pixels in [0, 1] go in as they are (pass --normalize MEAN,STD if the model was trained on normalised images)');
    }

    const meta: CheckpointMeta = {
      model: { name: ONNX_CHECKPOINT_MODEL, config: { file: ONNX_FILE, source: basename(file), opset: info.opset, producer: info.producer } },
      dataset: {
        name: datasetName ?? 'unknown', source: `imported from ${basename(file)}`,
        classNames, inputShape, normalization,
      },
      optimizer: null, scheduler: null, epoch: 0, globalStep: 0, rng: null,
      training: { importedFrom: file },
      metrics: { history: [], best: null },
    };
    const { saveCheckpoint } = await import('../../node/checkpoint.js');
    const { writeFileAtomic } = await import('../../node/atomic.js');
    await saveCheckpoint(outDir, { meta, modelState: net.stateDict(), optimizerState: null });
    // After the save (which replaces the folder as a whole): the graph the checkpoint's weights belong to.
    await writeFileAtomic(join(outDir, ONNX_FILE), bytes);

    const ops = Object.entries(info.operatorCounts).sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${n}`).join(', ');
    const nodeCount = Object.values(info.operatorCounts).reduce((a, b) => a + b, 0);
    out.write(`imported ${onnxArg} (opset ${info.opset}${info.producer ? `, ${info.producer}` : ''}): ${nodeCount} nodes (${ops}), ${net.numParameters().toLocaleString('en-US')} parameters\n`);
    out.write(`wrote ${outArg}: checkpoint.json, model.safetensors, ${ONNX_FILE}; ${classCount} classes\n`);
    for (const line of assumed) out.write(`assumed: ${line}\n`);
    if (!dataset) out.write(`note: evaluate with convkit eval --checkpoint ${outArg} --dataset NAME|DIR (the file names no dataset)\n`);
    return 0;
  },
});

/**
 * `--pytorch DIR`: a folder written by convkit's PyTorch export (and perhaps trained further with its train_ddp.py),
 * brought back by `importPytorchFolder` (src/node/pytorchInterop.ts).
 */
async function importPytorch(dirArg: string, outDir: string, ctx: { cwd: string; out: NodeJS.WritableStream }): Promise<number> {
  const { resolve } = await import('node:path');
  let result: PytorchImportResult;
  try {
    result = await importPytorchFolder(resolve(ctx.cwd, dirArg), outDir);
  } catch (e) {
    if (e instanceof PytorchExportError) throw new UsageError(`--pytorch ${dirArg}: ${e.message}`);
    throw e;
  }
  const meta = result.checkpoint.meta;
  const accuracy = result.lastTestAccuracy === null ? '' : `, last test accuracy ${(result.lastTestAccuracy * 100).toFixed(1)}%`;
  ctx.out.write(`imported ${dirArg}: ${meta.model.name}, epoch ${meta.epoch} (${result.pytorchEpochs} trained in PyTorch${accuracy})\n`);
  ctx.out.write(`wrote ${outDir}\n`);
  return 0;
}
