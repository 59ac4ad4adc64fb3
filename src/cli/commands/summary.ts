/**
 * `convkit summary --model NAME [--input 3x224x224] [--json]`: per layer the output shape, parameters,
 * multiply-accumulates and receptive field of a zoo model, then totals (src/inspect/summary.ts). The pass is
 * traced (no arithmetic), so VGG-19 at 224x224 takes well under a second; weights are not initialised.
 */
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { intOption, stringOption, type ParsedArgs } from '../options.js';
import * as models from '../../models/index.js';
import { skipInit } from '../../nn/init.js';
import type { Module } from '../../nn/module.js';
import { summary, formatSummary } from '../../inspect/index.js';

export interface ImageShape { channels: number; height: number; width: number }

/**
 * Parse an image shape: `3x224x224` (C×H×W), `224x224x3` (H×W×C: recognised when only the last number is
 * at most 4), or `28x28` (H×W, channels from `defaultChannels`).
 */
export function parseImageShape(text: string, flag: string, defaultChannels: number): ImageShape {
  const parts = text.toLowerCase().split(/[x×,]/).map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || nums.some((n) => n < 1) || (nums.length !== 2 && nums.length !== 3)) {
    throw new UsageError(`--${flag} ${text}: expected CxHxW (e.g. 3x224x224), HxWxC (200x200x3) or HxW (28x28)`);
  }
  if (nums.length === 2) return { channels: defaultChannels, height: nums[0]!, width: nums[1]! };
  const [a, b, c] = nums as [number, number, number];
  if (c <= 4 && a > 4) return { channels: c, height: a, width: b };
  return { channels: a, height: b, width: c };
}

/** The registry entry for `--model NAME`, or a usage error listing the names. */
export function modelInfo(name: string | undefined, command: string): models.ModelInfo {
  if (name === undefined) throw new UsageError(`${command}: --model NAME is required (see convkit models)`);
  const info = models.list().find((m) => m.name === name.toLowerCase());
  if (!info) throw new UsageError(`--model ${name}: unknown model (available: ${models.list().map((m) => m.name).join(', ')})`);
  return info;
}

/** The input a model is built for when the user gives none. */
export function defaultInput(info: models.ModelInfo): ImageShape {
  const [height, width] = info.defaultInputSize ?? [28, 28];
  return { channels: info.defaults?.inChannels ?? 1, height, width };
}

/** Build `--model` for `input` without random initialisation (inspection needs shapes only). */
export function buildForInspection(info: models.ModelInfo, input: ImageShape, values: ParsedArgs['values']): Module {
  const numClasses = values['classes'] !== undefined ? intOption(values, 'classes', 10, { min: 1 }) : undefined;
  try {
    return skipInit(() => models.create(info.name, {
      inChannels: input.channels, inputSize: [input.height, input.width], ...(numClasses !== undefined ? { numClasses } : {}),
    }));
  } catch (e) {
    throw new UsageError(`--model ${info.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Run `fn`; an error from the model (an input it cannot take) becomes a one-line usage error. */
export function asUsageError<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (e instanceof Error && (e.name === 'ModuleError' || /^ledger: |expected|too small|does not fit|must be/.test(e.message))) {
      throw new UsageError(what ? `${what}: ${e.message}` : e.message);
    }
    throw e;
  }
}

export default defineCommand({
  name: 'summary',
  order: 60,
  summary: 'per-layer shapes, parameters, MACs and receptive fields of a model',
  usage: 'convkit summary --model NAME [--input CxHxW] [--classes N] [--depth N] [--json]',
  description:
    'MACs (multiply-accumulates) count Conv2d (N·Cout·Hout·Wout·Cin/groups·kH·kW), LocallyConnected2d (the same, ' +
    'groups 1) and Linear (in·out); BatchNorm, activations, pooling and additions count 0, as in the published ' +
    'figures. Receptive field: size, jump (distance between neighbouring units) and start (centre of the first ' +
    'unit) in input pixels. Rows are module calls in order; containers show their children\'s totals.',
  options: {
    model: { type: 'string', valueName: 'NAME', description: 'a model from `convkit models`' },
    input: { type: 'string', valueName: 'CxHxW', description: 'input size without the batch, e.g. 3x224x224 or 1x28x28', defaultText: "the model's native size" },
    classes: { type: 'string', valueName: 'N', description: 'number of classes', defaultText: "the model's default" },
    depth: { type: 'string', valueName: 'N', description: 'show module calls nested at most N deep', defaultText: 'all' },
    json: { type: 'boolean', description: 'print the summary as JSON' },
  },
  examples: [
    'convkit summary --model resnet50 --input 3x224x224 --depth 1',
    'convkit summary --model lenet5',
    'convkit summary --model vgg16 --json',
  ],
  async run({ args, out }) {
    const v = args.values;
    const info = modelInfo(stringOption(v, 'model'), 'summary');
    const inputText = stringOption(v, 'input');
    const input = inputText ? parseImageShape(inputText, 'input', defaultInput(info).channels) : defaultInput(info);
    const depth = v['depth'] !== undefined ? intOption(v, 'depth', 0, { min: 1 }) : undefined;
    const net = buildForInspection(info, input, v);
    const s = asUsageError(`--model ${info.name} --input ${input.channels}x${input.height}x${input.width}`, () => summary(net, [input.channels, input.height, input.width]));
    if (v['json']) {
      const rows = depth === undefined ? s.rows : s.rows.filter((r) => r.depth <= depth);
      out.write(JSON.stringify({ name: info.name, ...s, rows }, null, 1) + '\n');
      return 0;
    }
    out.write(`${info.name}: ${info.description}\n`);
    out.write(formatSummary(s, depth !== undefined ? { maxDepth: depth } : {}) + '\n');
    return 0;
  },
});
