/**
 * `convkit export`: a checkpoint's model as an ONNX file (onnxruntime, Netron and deployment tools read it), or as
 * a PyTorch folder (weights, model.py, train_ddp.py, convkit.json) to continue training with DistributedDataParallel.
 */
import { defineCommand } from '../command.js';
import { stringOption } from '../options.js';
import { UsageError } from '../errors.js';
import { loadModelCheckpoint } from '../runtime.js';
import { exportOnnx, OnnxExportError } from '../../io/onnx/export.js';
import { writeFileAtomic } from '../../node/atomic.js';
import { exportPytorchFolder, PytorchExportError, PYTORCH_META_FILE } from '../../node/pytorchInterop.js';
import { loadCheckpoint } from '../../node/checkpoint.js';
import { checkpointFromTar } from '../../io/checkpointArchive.js';

export default defineCommand({
  name: 'export',
  order: 42,
  summary: 'write a checkpoint\'s model as ONNX (opset 13), or as PyTorch code + weights to train with torchrun/DDP',
  usage: 'convkit export --checkpoint DIR --format onnx --out FILE.onnx | --format pytorch --out FOLDER',
  description:
    'onnx: the model is traced by running its forward once, and the recorded operations become the ONNX graph, with a ' +
    'symbolic batch size. pytorch: FOLDER gets model.safetensors (torchvision-style keys), optimizer.safetensors (the ' +
    'optimizer state, when the checkpoint has one), model.py (the same ' +
    'architecture as a torch.nn.Module), train_ddp.py (continues training under torchrun with DistributedDataParallel ' +
    'and the run\'s optimizer, schedule, augmentation and normalisation) and convkit.json (for convkit import --pytorch). ' +
    'A layer the format cannot express (LocallyConnected2d) is an error naming the layer.',
  options: {
    checkpoint: { type: 'string', valueName: 'DIR', description: 'checkpoint folder (or a run folder: its best/ is used), or a .tar of one' },
    format: { type: 'string', valueName: 'onnx|pytorch', description: 'output format', defaultText: 'onnx' },
    out: { type: 'string', valueName: 'FILE|FOLDER', description: 'the .onnx file, or the folder for the PyTorch files (written atomically)' },
    opset: { type: 'string', valueName: 'N', description: 'ONNX opset version (13 or later)', defaultText: '13' },
  },
  examples: [
    'convkit export --checkpoint convkit-demo/best --format onnx --out lenet5.onnx',
    'convkit export --checkpoint convkit-demo/best --format pytorch --out lenet5-pt && torchrun --nproc_per_node=2 lenet5-pt/train_ddp.py',
  ],
  async run({ args, out, cwd }) {
    const v = args.values;
    const format = stringOption(v, 'format') ?? 'onnx';
    if (format === 'pytorch') return exportPytorch(stringOption(v, 'checkpoint'), stringOption(v, 'out'), cwd, out);
    if (format !== 'onnx') throw new UsageError(`--format ${format}: expected onnx or pytorch`);
    const outArg = stringOption(v, 'out');
    if (!outArg) throw new UsageError('--out FILE is required (the .onnx file to write)');
    const opsetText = stringOption(v, 'opset') ?? '13';
    const opset = Number(opsetText);
    if (!Number.isInteger(opset) || opset < 13 || opset > 17) throw new UsageError(`--opset ${opsetText}: expected an integer 13..17`);
    const { resolve } = await import('node:path');
    const { existsSync, statSync } = await import('node:fs');
    const outPath = resolve(cwd, outArg);
    if (existsSync(outPath) && statSync(outPath).isDirectory()) throw new UsageError(`--out ${outArg}: is a folder; give a file name such as model.onnx`);
    const { ck, net, dir } = await loadModelCheckpoint(stringOption(v, 'checkpoint'), cwd);
    const ds = ck.meta.dataset;
    if (!ds) throw new UsageError(`checkpoint ${dir} does not record its input shape; it cannot be exported`);
    let bytes: Uint8Array;
    try {
      bytes = exportOnnx(net, {
        inputShape: ds.inputShape, opset, name: ck.meta.model.name, normalization: ds.normalization, classNames: ds.classNames,
        metadata: { 'convkit.model': ck.meta.model.name, 'convkit.dataset': ds.name },
      });
    } catch (e) {
      if (e instanceof OnnxExportError) throw new UsageError(`${ck.meta.model.name}: ${e.message.replace(/^exportOnnx: /, '')}`);
      throw e;
    }
    await writeFileAtomic(outPath, bytes);
    out.write(`wrote ${outArg}: ${ck.meta.model.name}, input [N, ${ds.inputShape.join(', ')}], opset ${opset}, ${(bytes.length / 1024).toFixed(0)} KiB\n`);
    return 0;
  },
});

/** `--format pytorch`: the PyTorch folder (see src/node/pytorchInterop.ts). */
async function exportPytorch(checkpointArg: string | undefined, outArg: string | undefined, cwd: string, out: NodeJS.WritableStream): Promise<number> {
  if (!outArg) throw new UsageError('--out FOLDER is required (where model.safetensors, model.py, train_ddp.py and convkit.json go)');
  const { resolve, join } = await import('node:path');
  const { existsSync, readdirSync, readFileSync, statSync } = await import('node:fs');
  const outDir = resolve(cwd, outArg);
  if (existsSync(outDir)) {
    if (!statSync(outDir).isDirectory()) throw new UsageError(`--out ${outArg}: is a file; --format pytorch writes a folder`);
    // Never write into someone's unrelated folder; a previous PyTorch export is replaced.
    if (readdirSync(outDir).length > 0 && !existsSync(join(outDir, PYTORCH_META_FILE))) {
      throw new UsageError(`--out ${outArg}: the folder is not empty and holds no earlier PyTorch export (${PYTORCH_META_FILE}); give a new or empty folder`);
    }
  }
  const { ck, net, dir } = await loadModelCheckpoint(checkpointArg, cwd);
  // loadModelCheckpoint reads the weights only; the optimizer state goes too, so PyTorch continues the run.
  const full = statSync(dir).isDirectory()
    ? await loadCheckpoint(dir)
    : (await checkpointFromTar(new Uint8Array(readFileSync(dir)), dir)).checkpoint;
  let written: Awaited<ReturnType<typeof exportPytorchFolder>>;
  try {
    written = await exportPytorchFolder({ ...ck, optimizerState: full.optimizerState }, net, outDir, dir);
  } catch (e) {
    if (e instanceof PytorchExportError) throw new UsageError(`${ck.meta.model.name}: ${e.message}`);
    throw e;
  }
  out.write(`wrote ${outArg}/: ${written.files.join(', ')} (${ck.meta.model.name} as ${written.className}, epoch ${ck.meta.epoch})\n`);
  out.write(`train on N processes: torchrun --nproc_per_node=N ${join(outArg, 'train_ddp.py')} --help\n`);
  out.write(`then back to convkit: convkit import --pytorch ${outArg} --out CHECKPOINT\n`);
  return 0;
}
