/**
 * `summary(model, inputShape)`: per layer the output shape, parameters, multiply-accumulates (MACs) and
 * receptive field, then totals, like torchinfo / Keras `model.summary()`.
 *
 * It runs the model's own forward code once, on a batch of one, in eval mode and without gradients, on a
 * tracing backend that computes nothing (src/inspect/trace_backend.ts): the shapes are exactly those of a real
 * forward, and the pass is cheap even for VGG-19 at 224x224. Each module's `forward` is wrapped for the pass
 * to record its output and the MACs of the kernels that ran inside it; the wrappers, the backend and the
 * train/eval flags are restored afterwards.
 *
 * Counting rules (see trace_backend.ts): Conv2d counts N·C_out·H_out·W_out·(C_in/groups)·kH·kW MACs,
 * LocallyConnected2d the same with groups 1, Linear N·in·out; BatchNorm, activations, pooling, additions,
 * concatenations and dropout count 0. Receptive fields follow src/inspect/receptive.ts: (size, jump, start)
 * per axis, start measured in input pixels from the centre of the top-left pixel.
 *
 * GoogLeNet's auxiliary classifiers run only in training mode, so they show no rows (their parameters are in
 * the totals).
 *
 * @example
 * const s = summary(models.create('resnet18'), [3, 224, 224]);
 * s.totalMacs;               // 1_814_073_344
 * console.log(formatSummary(s));
 */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { noGrad } from '../autograd/tape.js';
import { getBackend, useBackend } from '../backend/registry.js';
import type { Module } from '../nn/module.js';
import { TraceBackend } from './trace_backend.js';
import { INPUT_FIELD, type ReceptiveField } from './receptive.js';

/** One call of one module during the traced forward pass. */
export interface SummaryRow {
  /** Dotted path in the model (`layer1.0.conv1`). */
  readonly path: string;
  /** Class name (`Conv2d`, `BasicBlock`). */
  readonly type: string;
  /** Nesting depth: 1 for the model's direct children. */
  readonly depth: number;
  /** True when the module has no children. */
  readonly leaf: boolean;
  /** Shape of the first input (batch included). */
  readonly inputShape: readonly number[];
  /** Shape of the output (batch included). */
  readonly outputShape: readonly number[];
  /** Parameter elements: the module's own for a leaf, everything below it for a container. */
  readonly params: number;
  /** MACs of all kernels that ran inside this call (children included). */
  readonly macs: number;
  /** Receptive field of one output unit, or null when the output carries none (e.g. a constant). */
  readonly receptiveField: ReceptiveField | null;
}

export interface ModelSummary {
  /** The model's class name. */
  readonly model: string;
  /** Input shape, batch of one included. */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** Module calls in the order they started (a container before its children). */
  readonly rows: readonly SummaryRow[];
  readonly totalParams: number;
  readonly trainableParams: number;
  /** Sum of the MACs of every kernel in the forward pass (one image). */
  readonly totalMacs: number;
  /** Receptive field of one output unit of the whole network. */
  readonly outputField: ReceptiveField | null;
}

/** Layer types that change values but not which pixels a unit sees, whatever kernels they use inside. */
const POINTWISE = new Set(['LocalResponseNorm', 'Dropout', 'BatchNorm1d', 'BatchNorm2d', 'Identity']);

/**
 * Summarise `model` for one input of shape `inputShape` (without the batch dimension, e.g. [3, 224, 224]).
 * Throws naming the layer if the input does not fit the model.
 */
export function summary(model: Module, inputShape: readonly number[]): ModelSummary {
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`summary: inputShape must be positive integers without the batch dimension (e.g. [3, 224, 224]), got ${formatShape(inputShape)}`);
  }
  const trace = new TraceBackend();
  for (const p of model.parameters()) trace.addConstant(p.data);
  for (const b of model.buffers()) trace.addConstant(b.data);

  interface Frame { macs: number; row: MutableRow }
  type MutableRow = { -readonly [K in keyof SummaryRow]: SummaryRow[K] };
  const stack: Frame[] = [];
  const rows: MutableRow[] = [];
  trace.onMacs = (macs) => { for (const f of stack) f.macs += macs; };

  const restores: (() => void)[] = [];
  const modes = new Map<Module, boolean>();
  for (const [path, m] of model.namedModules()) {
    modes.set(m, m.training);
    const own = Object.getOwnPropertyDescriptor(m, 'forward');
    const original = m.forward;
    const leaf = m.children().next().done === true;
    const params = leaf ? m.parameters(false).reduce((n, p) => n + p.numel, 0) : m.numParameters();
    const depth = path === '' ? 0 : path.split('.').length;
    const wrapped = (input: Tensor, ...more: Tensor[]): Tensor => {
      const row: MutableRow = {
        path, type: m.typeName, depth, leaf, inputShape: [...input.shape], outputShape: [], params, macs: 0, receptiveField: null,
      };
      if (path !== '') rows.push(row);
      const frame: Frame = { macs: 0, row };
      stack.push(frame);
      try {
        const out = original.call(m, input, ...more);
        if (out instanceof Tensor) {
          row.outputShape = [...out.shape];
          if (POINTWISE.has(m.typeName) && out.data !== input.data) {
            const before = trace.fieldOf(input.data);
            if (before) trace.setField(out.data, before);
          }
          row.receptiveField = trace.fieldOf(out.data)?.field ?? null;
        }
        return out;
      } finally {
        stack.pop();
        row.macs = frame.macs;
      }
    };
    (m as { forward: Module['forward'] }).forward = wrapped;
    restores.push(() => {
      if (own) Object.defineProperty(m, 'forward', own);
      else delete (m as Partial<Pick<Module, 'forward'>>).forward;
    });
  }

  const previous = getBackend();
  let output: Tensor;
  try {
    model.eval();
    useBackend(trace);
    const input = new Tensor(trace.alloc(inputShape.reduce((a, b) => a * b, 1)), [1, ...inputShape]);
    const [h, w] = inputShape.length >= 3 ? [inputShape[inputShape.length - 2]!, inputShape[inputShape.length - 1]!] : [1, 1];
    trace.setField(input.data, { field: INPUT_FIELD, height: h, width: w });
    output = noGrad(() => model.forward(input));
  } finally {
    useBackend(previous);
    for (const r of restores) r();
    for (const [m, mode] of modes) m.training = mode;
  }
  return {
    model: model.typeName,
    inputShape: [1, ...inputShape],
    outputShape: [...output.shape],
    rows,
    totalParams: model.numParameters(),
    trainableParams: model.numParameters(true),
    totalMacs: trace.macs,
    outputField: trace.fieldOf(output.data)?.field ?? null,
  };
}

/** `1,234,567` */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `4.09 G`, `714.19 M`, `61.71 K`, `12`. */
export function formatScaled(n: number): string {
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'K']];
  for (const [scale, unit] of units) if (Math.abs(n) >= scale) return `${(n / scale).toFixed(2)} ${unit}`;
  return String(n);
}

export interface FormatSummaryOptions {
  /** Show module calls down to this depth (default: every depth). Containers deeper than this are not expanded. */
  maxDepth?: number;
}

/** A text table of a summary: layer, type, output shape, parameters, MACs, receptive field; then totals. */
export function formatSummary(s: ModelSummary, options: FormatSummaryOptions = {}): string {
  const maxDepth = options.maxDepth ?? Infinity;
  const header = ['Layer', 'Type', 'Output shape', 'Params', 'MACs', 'RF size', 'jump', 'start'];
  const pairText = (p: readonly [number, number]): string => (p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`);
  const body = s.rows
    .filter((r) => r.depth <= maxDepth)
    .map((r) => [
      '  '.repeat(r.depth - 1) + r.path,
      r.type,
      formatShape(r.outputShape),
      r.params === 0 ? '-' : formatCount(r.params),
      r.macs === 0 ? '-' : formatCount(r.macs),
      r.receptiveField ? pairText(r.receptiveField.size) : '-',
      r.receptiveField ? pairText(r.receptiveField.jump) : '-',
      r.receptiveField ? pairText(r.receptiveField.start) : '-',
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const numeric = new Set([3, 4, 5, 6, 7]);
  const line = (cells: string[]): string => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const nonTrainable = s.totalParams - s.trainableParams;
  const lines = [
    `${s.model}: input ${formatShape(s.inputShape)} -> output ${formatShape(s.outputShape)}`,
    rule, line(header), rule, ...body.map(line), rule,
    `Total params:         ${formatCount(s.totalParams)} (${formatScaled(s.totalParams)}; ${(s.totalParams * 4 / 2 ** 20).toFixed(2)} MiB as float32)`,
    `Trainable params:     ${formatCount(s.trainableParams)}`,
    `Non-trainable params: ${formatCount(nonTrainable)}`,
    `MACs per image:       ${formatCount(s.totalMacs)} (${formatScaled(s.totalMacs)})`,
  ];
  if (s.outputField) lines.push(`Output receptive field: ${pairText(s.outputField.size)} px (jump ${pairText(s.outputField.jump)}, start ${pairText(s.outputField.start)})`);
  lines.push('MACs count Conv2d, LocallyConnected2d and Linear (one per weight tap per output); BatchNorm, activations, pooling and additions count 0.');
  return lines.join('\n');
}
