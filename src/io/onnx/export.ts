/**
 * ONNX export: run the model's real forward once on a traced input and translate the autograd tape it records
 * (src/autograd/tape.ts: each node names its op, its inputs and the attributes its VJP needs) into an ONNX graph.
 * The tape is the model's exact computation, so whatever a zoo model's forward does (residual additions,
 * concatenations, LocalResponseNorm built from primitives) is exported without a per-model description.
 *
 * - Opset 13 (default); the batch dimension is symbolic (`N`): the trace runs at batch 3 and every shape constant
 *   whose first entry is that batch becomes 0 ("copy from the input") in Reshape.
 * - Parameters become initializers named by their state-dict keys (`features.0.weight`); BatchNorm's running
 *   statistics and eps come from the module that owns the weight.
 * - A layer with no ONNX form (LocallyConnected2d) is an error naming the layer.
 * - Normalisation and class names travel in the model's metadata_props (`convkit.normalization`,
 *   `convkit.class_names`, JSON).
 *
 * Browser-safe: bytes out.
 *
 * @example
 * const bytes = exportOnnx(models.create('lenet5'), { inputShape: [1, 28, 28] });
 */
import { enableGrad } from '../../autograd/tape.js';
import type { TapeNode } from '../../autograd/tape.js';
import type { Activation, Conv2dGeometry, Pool2dGeometry } from '../../backend/backend.js';
import type { Module } from '../../nn/module.js';
import { Tensor } from '../../tensor/tensor.js';
import { ATTR, encodeModel, ONNX_FLOAT, ONNX_INT64 } from './proto.js';

export interface OnnxExportOptions {
  /** One input image's shape [C, H, W]. */
  inputShape: readonly [number, number, number] | readonly number[];
  /** Default 13. */
  opset?: number;
  /** Graph name (default the model's type name). */
  name?: string;
  /** Stored in metadata_props as JSON, so a reader knows how inputs were prepared. */
  normalization?: { mean: number[]; std: number[] } | null;
  classNames?: readonly string[];
  /** Extra string metadata. */
  metadata?: Record<string, string>;
}

/** A model (or layer) that ONNX cannot express; names the layer. */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

/** The batch size of the trace: odd and unusual, so a shape entry equal to it is the batch. */
const TRACE_BATCH = 3;

type Attribute = Record<string, unknown>;
interface NodeProto { op_type: string; input: string[]; output: string[]; name: string; attribute: Attribute[] }
interface TensorProto { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }

const intAttr = (name: string, i: number): Attribute => ({ name, type: ATTR.INT, i });
const intsAttr = (name: string, ints: number[]): Attribute => ({ name, type: ATTR.INTS, ints });
const floatAttr = (name: string, f: number): Attribute => ({ name, type: ATTR.FLOAT, f });

function floatTensor(name: string, data: Float32Array, dims: readonly number[]): TensorProto {
  const copy = new Float32Array(data); // little-endian on every platform convkit runs on (checked in safetensors.ts)
  return { name, dims: [...dims], data_type: ONNX_FLOAT, raw_data: new Uint8Array(copy.buffer) };
}

function int64Tensor(name: string, values: readonly number[]): TensorProto {
  const raw = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], data_type: ONNX_INT64, raw_data: new Uint8Array(raw.buffer) };
}

/** The module that owns each parameter, and the parameter's state-dict key. */
function parameterOwners(model: Module): Map<Tensor, { key: string; module: Module; path: string }> {
  const owners = new Map<Tensor, { key: string; module: Module; path: string }>();
  for (const [path, module] of model.namedModules()) {
    for (const [name, p] of module.namedParameters('', false)) {
      if (!owners.has(p)) owners.set(p, { key: path ? `${path}.${name}` : name, module, path });
    }
  }
  return owners;
}

/** The nodes of the tape behind `output`, inputs before users (iterative: deep nets would overflow recursion). */
function topologicalNodes(output: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const state = new Map<Tensor, 'open' | 'done'>();
  const stack: { t: Tensor; expanded: boolean }[] = [{ t: output, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      state.set(top.t, 'done');
      order.push(top.t);
      continue;
    }
    if (state.has(top.t)) continue;
    state.set(top.t, 'open');
    stack.push({ t: top.t, expanded: true });
    const node = top.t.gradFn as TapeNode | null;
    if (!node) continue;
    for (const input of node.inputs) if (input && !state.has(input)) stack.push({ t: input, expanded: false });
  }
  return order.filter((t) => t.gradFn);
}

/** Begin and end padding of one spatial axis, from the geometry's output size (ONNX pads may be asymmetric). */
function axisPads(size: number, kernel: number, stride: number, dilation: number, padBefore: number, out: number): [number, number] {
  const needed = (out - 1) * stride + dilation * (kernel - 1) + 1 - size - padBefore;
  return [padBefore, Math.max(0, needed)];
}

/**
 * Export `model` (in eval mode for the trace; its mode is restored) to ONNX bytes.
 */
export function exportOnnx(model: Module, options: OnnxExportOptions): Uint8Array {
  const inputShape = [...options.inputShape];
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new OnnxExportError(`exportOnnx: inputShape must be [C, H, W] with positive integers, got [${inputShape.join(', ')}]`);
  }
  const opset = options.opset ?? 13;
  if (opset < 13) throw new OnnxExportError(`exportOnnx: opset ${opset} is not supported; use 13 or later`);
  const owners = parameterOwners(model);
  const wasTraining = model.training;
  model.eval();
  let output: Tensor;
  const input = new Tensor(new Float32Array(TRACE_BATCH * inputShape.reduce((a, b) => a * b, 1)).fill(0.5), [TRACE_BATCH, ...inputShape]);
  input.requiresGrad = true;
  try {
    output = enableGrad(() => (model as unknown as { forward(x: Tensor): Tensor }).forward(input));
  } finally {
    if (wasTraining) model.train();
  }
  if (!output.gradFn) throw new OnnxExportError('exportOnnx: the model\'s output does not depend on its input');

  const names = new Map<Tensor, string>([[input, 'input']]);
  const initializers: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  const valueInfo: Record<string, unknown>[] = [];
  let counter = 0;
  const fresh = (base: string): string => `${base}_${counter++}`;
  /** Shape for a graph value: the batch entry symbolic. */
  const shapeProto = (shape: readonly number[]) => ({
    dim: shape.map((d, i) => (i === 0 && d === TRACE_BATCH ? { dim_param: 'N' } : { dim_value: d })),
  });
  const nameOf = (t: Tensor): string => {
    const known = names.get(t);
    if (known) return known;
    const owner = owners.get(t);
    const name = owner ? owner.key : fresh('const');
    initializers.push(floatTensor(name, t.data, t.shape));
    names.set(t, name);
    return name;
  };
  const constInt64 = (values: readonly number[], base: string): string => {
    const name = fresh(base);
    initializers.push(int64Tensor(name, values));
    return name;
  };
  const constFloat = (value: number, base: string): string => {
    const name = fresh(base);
    initializers.push(floatTensor(name, Float32Array.of(value), []));
    return name;
  };
  const emit = (op_type: string, inputs: string[], attributes: Attribute[] = [], outputName?: string): string => {
    const out = outputName ?? fresh(op_type.toLowerCase());
    nodes.push({ op_type, input: inputs, output: [out], name: `${op_type}_${nodes.length}`, attribute: attributes });
    return out;
  };
  const activation = (x: string, act: Activation, outputName?: string): string => {
    switch (act) {
      case 'none': return emit('Identity', [x], [], outputName);
      case 'relu': return emit('Relu', [x], [], outputName);
      case 'sigmoid': return emit('Sigmoid', [x], [], outputName);
      case 'tanh': return emit('Tanh', [x], [], outputName);
    }
  };
  const layerName = (weight: Tensor | null | undefined): string => {
    const owner = weight ? owners.get(weight) : undefined;
    return owner ? `layer '${owner.path}' (${owner.module.typeName})` : 'a layer';
  };

  for (const t of topologicalNodes(output)) {
    const node = t.gradFn as TapeNode;
    const out = t === output ? 'output' : fresh(node.op);
    const ins = node.inputs;
    // (Concat names its own inputs: a constant fill it turns into padding must not become an initializer.)
    const x = ins[0] && node.op !== 'concat' ? nameOf(ins[0]) : '';
    switch (node.op) {
      case 'conv2d':
      case 'conv2dMaxPool2x2': {
        // conv2dMaxPool2x2 (training's one op on native): the same Conv and activation, then MaxPool 2x2 of stride 2
        const pooled = node.op === 'conv2dMaxPool2x2';
        const { geometry: g, activation: act } = node.saved as { geometry: Conv2dGeometry; activation: Activation };
        const [ph0, ph1] = axisPads(g.h, g.kh, g.strideH, g.dilationH, g.padH, g.outH);
        const [pw0, pw1] = axisPads(g.w, g.kw, g.strideW, g.dilationW, g.padW, g.outW);
        let y = emit('Conv', [x, nameOf(ins[1]!), ...(ins[2] ? [nameOf(ins[2])] : [])], [
          intsAttr('kernel_shape', [g.kh, g.kw]), intsAttr('strides', [g.strideH, g.strideW]),
          intsAttr('pads', [ph0, pw0, ph1, pw1]), intsAttr('dilations', [g.dilationH, g.dilationW]), intAttr('group', g.groups),
        ], act === 'none' && !pooled ? out : undefined);
        if (act !== 'none') y = activation(y, act, pooled ? undefined : out);
        if (pooled) emit('MaxPool', [y], [intsAttr('kernel_shape', [2, 2]), intsAttr('strides', [2, 2]), intsAttr('pads', [0, 0, 0, 0])], out);
        break;
      }
      case 'locallyConnected2d':
        throw new OnnxExportError(`exportOnnx: ${layerName(ins[1])} has no ONNX form (a locally connected layer has a separate filter at every position, which no ONNX operator expresses)`);
      case 'linear': {
        const act = (node.saved as { activation: Activation }).activation;
        const xT = ins[0]!;
        let y: string;
        if (xT.ndim === 2) {
          y = emit('Gemm', [x, nameOf(ins[1]!), ...(ins[2] ? [nameOf(ins[2])] : [])], [intAttr('transB', 1)], act === 'none' ? out : undefined);
        } else {
          const wT = emit('Transpose', [nameOf(ins[1]!)], [intsAttr('perm', [1, 0])]);
          y = emit('MatMul', [x, wT], [], ins[2] || act !== 'none' ? undefined : out);
          if (ins[2]) y = emit('Add', [y, nameOf(ins[2])], [], act === 'none' ? out : undefined);
        }
        if (act !== 'none') activation(y, act, out);
        break;
      }
      case 'matmul': emit('MatMul', [x, nameOf(ins[1]!)], [], out); break;
      case 'binary': {
        const { op, activation: act = 'none' } = node.saved as { op: string; activation?: Activation };
        const onnxOp: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', max: 'Max', min: 'Min' };
        if (!onnxOp[op]) throw new OnnxExportError(`exportOnnx: the elementwise op '${op}' has no differentiable ONNX form here`);
        // F.addActivation records 'add' with its activation: Add, then the activation node
        const y = emit(onnxOp[op], [x, nameOf(ins[1]!)], [], act === 'none' ? out : undefined);
        if (act !== 'none') activation(y, act, out);
        break;
      }
      case 'relu': emit('Relu', [x], [], out); break;
      case 'sigmoid': emit('Sigmoid', [x], [], out); break;
      case 'tanh': emit('Tanh', [x], [], out); break;
      case 'neg': emit('Neg', [x], [], out); break;
      case 'exp': emit('Exp', [x], [], out); break;
      case 'log': emit('Log', [x], [], out); break;
      case 'sqrt': emit('Sqrt', [x], [], out); break;
      case 'abs': emit('Abs', [x], [], out); break;
      case 'gelu': {
        // Opset 13 has no Gelu: x * 0.5 * (1 + erf(x / sqrt(2))), PyTorch's exact form.
        const scaled = emit('Div', [x, constFloat(Math.SQRT2, 'sqrt2')]);
        const erf = emit('Erf', [scaled]);
        const onePlus = emit('Add', [erf, constFloat(1, 'one')]);
        const half = emit('Mul', [x, constFloat(0.5, 'half')]);
        emit('Mul', [half, onePlus], [], out);
        break;
      }
      case 'leakyRelu': emit('LeakyRelu', [x], [floatAttr('alpha', (node.saved as { negativeSlope: number }).negativeSlope)], out); break;
      case 'elu': emit('Elu', [x], [floatAttr('alpha', (node.saved as { alpha: number }).alpha)], out); break;
      case 'clamp': {
        const { min, max } = node.saved as { min: number; max: number };
        emit('Clip', [x, Number.isFinite(min) ? constFloat(min, 'min') : '', Number.isFinite(max) ? constFloat(max, 'max') : ''], [], out);
        break;
      }
      case 'sum': {
        const axes = (node.saved as { axes: number[] }).axes;
        const keep = t.ndim === ins[0]!.ndim ? 1 : 0;
        emit('ReduceSum', [x, constInt64(axes, 'axes')], [intAttr('keepdims', keep)], out);
        break;
      }
      case 'reshape': {
        const shape = t.shape.map((d, i) => (i === 0 && d === TRACE_BATCH && ins[0]!.shape[0] === TRACE_BATCH ? 0 : d));
        emit('Reshape', [x, constInt64(shape, 'shape')], [], out);
        break;
      }
      case 'permute': emit('Transpose', [x], [intsAttr('perm', (node.saved as { dims: number[] }).dims)], out); break;
      case 'narrow': {
        const { dim, start } = node.saved as { dim: number; start: number };
        emit('Slice', [x, constInt64([start], 'starts'), constInt64([start + t.shape[dim]!], 'ends'), constInt64([dim], 'axes')], [], out);
        break;
      }
      case 'concat': {
        const dim = (node.saved as { dim: number }).dim;
        // A constant block of one value that carries the batch dimension (ResNet's option-A shortcut pads its
        // channels by concatenating zeros) cannot be an initializer: its batch is the trace's. It is padding.
        const fill = (i: Tensor | null): number | null => {
          if (!i || i.gradFn || i.requiresGrad || owners.has(i) || i.shape[0] !== TRACE_BATCH || dim === 0) return null;
          const v = i.data[0]!;
          return i.data.every((e) => e === v) ? v : null;
        };
        const fills = ins.map(fill);
        const variable = ins.filter((_, k) => fills[k] === null);
        const values = new Set(fills.filter((v) => v !== null));
        if (variable.length === 1 && ins.length > 1 && values.size === 1) {
          const at = ins.indexOf(variable[0]!);
          const rank = t.ndim;
          const pads = new Array<number>(2 * rank).fill(0);
          pads[dim] = ins.slice(0, at).reduce((s, i) => s + i!.shape[dim]!, 0);
          pads[rank + dim] = ins.slice(at + 1).reduce((s, i) => s + i!.shape[dim]!, 0);
          emit('Pad', [nameOf(variable[0]!), constInt64(pads, 'pads'), constFloat([...values][0]!, 'value')], [], out);
        } else {
          emit('Concat', ins.map((i) => nameOf(i!)), [intAttr('axis', dim)], out);
        }
        break;
      }
      case 'pad': {
        const [left, right, top, bottom] = (node.saved as { pads: [number, number, number, number] }).pads;
        const rank = ins[0]!.ndim;
        const begin = new Array<number>(rank).fill(0), end = new Array<number>(rank).fill(0);
        begin[rank - 1] = left; end[rank - 1] = right; begin[rank - 2] = top; end[rank - 2] = bottom;
        emit('Pad', [x, constInt64([...begin, ...end], 'pads')], [], out);
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const g = (node.saved as { geometry: Pool2dGeometry }).geometry;
        const [ph0, ph1] = axisPads(g.h, g.kh, g.strideH, g.dilationH, g.padH, g.outH);
        const [pw0, pw1] = axisPads(g.w, g.kw, g.strideW, g.dilationW, g.padW, g.outW);
        const attrs = [intsAttr('kernel_shape', [g.kh, g.kw]), intsAttr('strides', [g.strideH, g.strideW]), intsAttr('pads', [ph0, pw0, ph1, pw1])];
        if (node.op === 'maxPool2d') {
          if (g.dilationH !== 1 || g.dilationW !== 1) attrs.push(intsAttr('dilations', [g.dilationH, g.dilationW]));
          emit('MaxPool', [x], attrs, out);
        } else {
          const { countIncludePad, divisorOverride } = node.saved as { countIncludePad: boolean; divisorOverride: number };
          if (divisorOverride) throw new OnnxExportError('exportOnnx: average pooling with divisorOverride has no ONNX form');
          // Padding added only to reach a ceil-mode output is never counted in PyTorch; ONNX would count it.
          if (countIncludePad && (ph1 > g.padH || pw1 > g.padW)) {
            throw new OnnxExportError('exportOnnx: ceil-mode average pooling that counts padding has no exact ONNX form');
          }
          attrs.push(intAttr('count_include_pad', countIncludePad ? 1 : 0));
          emit('AveragePool', [x], attrs, out);
        }
        break;
      }
      case 'batchNorm': {
        const saved = node.saved as { mean: Float32Array; invStd: Float32Array; batchStats: boolean; c: number };
        if (saved.batchStats) throw new OnnxExportError('exportOnnx: batch norm ran with batch statistics (no running statistics to export)');
        const weight = ins[1], bias = ins[2];
        const owner = weight ? owners.get(weight) : undefined;
        const bn = owner?.module as { runningMean?: Tensor | null; runningVar?: Tensor | null; eps?: number } | undefined;
        const c = saved.c;
        const scale = weight ? nameOf(weight) : nameOf(new Tensor(new Float32Array(c).fill(1), [c]));
        const shift = bias ? nameOf(bias) : nameOf(new Tensor(new Float32Array(c), [c]));
        let meanName: string, varName: string, eps: number;
        if (bn?.runningMean && bn.runningVar && owner) {
          const prefix = owner.path ? `${owner.path}.` : '';
          meanName = `${prefix}running_mean`; varName = `${prefix}running_var`;
          if (!initializers.some((i) => i.name === meanName)) {
            initializers.push(floatTensor(meanName, bn.runningMean.data, [c]), floatTensor(varName, bn.runningVar.data, [c]));
          }
          eps = bn.eps ?? 1e-5;
        } else {
          // No module to read: the statistics the op used, with eps folded into the variance.
          meanName = nameOf(new Tensor(Float32Array.from(saved.mean), [c]));
          varName = nameOf(new Tensor(Float32Array.from(saved.invStd, (s) => 1 / (s * s)), [c]));
          eps = 0;
        }
        emit('BatchNormalization', [x, scale, shift, meanName, varName], [floatAttr('epsilon', eps)], out);
        break;
      }
      case 'dropout':
        throw new OnnxExportError('exportOnnx: dropout was active during the trace (the model must be in eval mode)');
      default:
        throw new OnnxExportError(`exportOnnx: the op '${node.op}' has no ONNX translation (found in the model's forward)`);
    }
    names.set(t, out);
    if (t !== output) valueInfo.push({ name: out, type: { tensor_type: { elem_type: ONNX_FLOAT, shape: shapeProto(t.shape) } } });
  }

  const metadata: { key: string; value: string }[] = [];
  if (options.normalization !== undefined) metadata.push({ key: 'convkit.normalization', value: JSON.stringify(options.normalization) });
  if (options.classNames) metadata.push({ key: 'convkit.class_names', value: JSON.stringify(options.classNames) });
  for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.push({ key, value });

  return encodeModel({
    ir_version: 7,
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'convkit',
    producer_version: '0.1.0',
    metadata_props: metadata,
    graph: {
      name: options.name ?? model.typeName,
      node: nodes,
      initializer: initializers,
      input: [{ name: 'input', type: { tensor_type: { elem_type: ONNX_FLOAT, shape: shapeProto(input.shape) } } }],
      output: [{ name: 'output', type: { tensor_type: { elem_type: ONNX_FLOAT, shape: shapeProto(output.shape) } } }],
      value_info: valueInfo,
    },
  });
}
