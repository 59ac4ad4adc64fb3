/** `convkit export`: a checkpoint's model as an ONNX file (onnxruntime, Netron and deployment tools read it). */
import { defineCommand } from '../command.js';
import { stringOption } from '../options.js';
import { UsageError } from '../errors.js';
import { loadModelCheckpoint } from '../runtime.js';
import { exportOnnx, OnnxExportError } from '../../io/onnx/export.js';
import { writeFileAtomic } from '../../node/atomic.js';

export default defineCommand({
  name: 'export',
  order: 42,
  summary: 'write a checkpoint\'s model as ONNX (opset 13; normalisation and class names in its metadata)',
  usage: 'convkit export --checkpoint DIR --format onnx --out FILE.onnx',
  description:
    'The model is traced by running its forward once, and the recorded operations become the ONNX graph, with a ' +
    'symbolic batch size. A layer that ONNX cannot express (LocallyConnected2d) is an error naming the layer.',
  options: {
    checkpoint: { type: 'string', valueName: 'DIR', description: 'checkpoint folder (or a run folder: its best/ is used), or a .tar of one' },
    format: { type: 'string', valueName: 'onnx', description: 'output format', defaultText: 'onnx' },
    out: { type: 'string', valueName: 'FILE', description: 'where to write the .onnx file (written atomically)' },
    opset: { type: 'string', valueName: 'N', description: 'ONNX opset version (13 or later)', defaultText: '13' },
  },
  examples: ['convkit export --checkpoint convkit-demo/best --format onnx --out lenet5.onnx'],
  async run({ args, out, cwd }) {
    const v = args.values;
    const format = stringOption(v, 'format') ?? 'onnx';
    if (format !== 'onnx') throw new UsageError(`--format ${format}: only onnx is supported`);
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
