/**
 * `convkit ledger`: the MLP-versus-CNN arithmetic (src/inspect/ledger.ts). For an input and a number of dense
 * units: the dense layer's parameters beside a locally connected layer and a conv layer with the same number
 * of output units, so the saving of local connectivity and the saving of weight sharing show separately. With
 * `--model NAME`: every weighted layer of a zoo model beside the dense layer of the same widths.
 */
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { intOption, stringOption } from '../options.js';
import { layerLedger, modelLedger, formatLayerLedger, formatModelLedger } from '../../inspect/index.js';
import { asUsageError, buildForInspection, defaultInput, modelInfo, parseImageShape } from './summary.js';

export default defineCommand({
  name: 'ledger',
  order: 61,
  summary: 'parameters of dense vs locally connected vs conv layers (or a model vs its dense twin)',
  usage: 'convkit ledger [--input HxWxC] [--dense N] [--kernel K --stride S --padding P --channels C] | --model NAME [--input CxHxW] [--json]',
  description:
    'Without --kernel, the conv and locally connected layers tile the input with a square grid of non-overlapping ' +
    'windows chosen so they have exactly --dense output units (200x200 and 1000 units: 10 channels on a 10x10 ' +
    'grid of 20x20 windows). Local connectivity divides the dense weights by H·W/(k·k); weight sharing divides them ' +
    'again by the number of output positions. Sharing saves parameters, not arithmetic: both do the same MACs.',
  options: {
    input: { type: 'string', valueName: 'HxWxC', description: 'input image (HxWxC, CxHxW or HxW)', defaultText: '200x200x3, or the model\'s native size' },
    dense: { type: 'string', valueName: 'N', description: 'output units of the dense layer', defaultText: '1000' },
    kernel: { type: 'string', valueName: 'K', description: 'window size of the conv / locally connected layer' },
    stride: { type: 'string', valueName: 'S', description: 'their stride', defaultText: '1 with --kernel' },
    padding: { type: 'string', valueName: 'P', description: 'their padding', defaultText: '0' },
    channels: { type: 'string', valueName: 'C', description: 'their output channels', defaultText: 'units / output positions' },
    'no-bias': { type: 'boolean', description: 'count weights only' },
    model: { type: 'string', valueName: 'NAME', description: 'compare a zoo model with the dense network of the same layer widths' },
    classes: { type: 'string', valueName: 'N', description: 'number of classes (with --model)' },
    json: { type: 'boolean', description: 'print the ledger as JSON' },
  },
  examples: [
    'convkit ledger --input 200x200x3 --dense 1000',
    'convkit ledger --input 28x28x1 --dense 6272 --kernel 3 --padding 1',
    'convkit ledger --model vggsmall',
  ],
  async run({ args, out }) {
    const v = args.values;
    const modelName = stringOption(v, 'model');
    if (modelName !== undefined) {
      for (const flag of ['dense', 'kernel', 'stride', 'padding', 'channels']) {
        if (v[flag] !== undefined) throw new UsageError(`ledger: --${flag} applies to the single-layer ledger, not to --model`);
      }
      const info = modelInfo(modelName, 'ledger');
      const inputText = stringOption(v, 'input');
      const input = inputText ? parseImageShape(inputText, 'input', defaultInput(info).channels) : defaultInput(info);
      const net = buildForInspection(info, input, v);
      const m = asUsageError(`--model ${info.name}`, () => modelLedger(net, [input.channels, input.height, input.width]));
      out.write(v['json'] ? JSON.stringify({ name: info.name, ...m }, null, 1) + '\n' : formatModelLedger(m) + '\n');
      return 0;
    }
    if (v['classes'] !== undefined) throw new UsageError('ledger: --classes applies only with --model');
    const input = parseImageShape(stringOption(v, 'input') ?? '200x200x3', 'input', 1);
    const optional = (name: string, min: number): number | undefined => (v[name] !== undefined ? intOption(v, name, 0, { min }) : undefined);
    const geometry = { kernel: optional('kernel', 1), stride: optional('stride', 1), padding: optional('padding', 0), channels: optional('channels', 1) };
    // Every error of layerLedger is about the numbers given (its messages start with 'ledger:').
    const l = asUsageError('', () => layerLedger({
      input: [input.channels, input.height, input.width],
      units: intOption(v, 'dense', 1000, { min: 1 }),
      bias: !v['no-bias'],
      ...Object.fromEntries(Object.entries(geometry).filter(([, x]) => x !== undefined)),
    }));
    out.write(v['json'] ? JSON.stringify(l, null, 1) + '\n' : formatLayerLedger(l) + '\n');
    return 0;
  },
});
