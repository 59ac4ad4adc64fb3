/**
 * ONNX import: an ONNX file (from PyTorch's `torch.onnx.export`, from convkit's `exportOnnx`, ...) becomes a
 * trainable convkit `Module` whose forward runs the graph with convkit's differentiable ops. Float initializers
 * become Parameters (BatchNormalization's running statistics become buffers) named by their ONNX names, so
 * `stateDict()` keys are the file's (`features.0.weight`), optimizers see `parameters()`, and `train()`/`eval()`
 * switch BatchNorm between batch and running statistics and turn Dropout on and off, as in PyTorch.
 *
 * What runs: the CNN operators (Conv, Gemm, MatMul, Add/Sub/Mul/Div/Pow, Relu, Sigmoid, Tanh, Clip, LeakyRelu,
 * MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Concat, Flatten, Reshape, Dropout, LRN, Pad, Softmax,
 * Transpose, ReduceSum/ReduceMean, ...) and the small integer "shape" subgraphs PyTorch's exporter writes around
 * Flatten/Reshape/Pad (Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, Cast, ConstantOfShape, Constant). Nodes whose
 * inputs are all constants are evaluated once at import (constant folding); the rest run at every forward.
 *
 * Untrusted bytes: every problem with the file is an `OnnxImportError` that names it (the node's index, name and
 * operator, the initializer, the attribute). Sizes are checked before anything is allocated (dimensions bounded,
 * an initializer's bytes must match its dims, a node's output must stay under `maxElements` per image), and the
 * import ends with one probe forward at batch 1, so a file whose shapes do not fit together fails here, at the
 * boundary, naming the node, and not later inside a kernel.
 *
 * Browser-safe: bytes in.
 *
 * @example
 * const net = importOnnx(bytes, { source: 'lenet.onnx' });
 * net.eval();
 * const logits = net.forward(x);           // x: [N, ...net.info.sampleShape]
 */
import { noGrad } from '../../autograd/tape.js';
import { getBackend } from '../../backend/registry.js';
import { Module, Parameter } from '../../nn/module.js';
import * as F from '../../ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { broadcastShapes, formatShape, numelOf } from '../../tensor/shape.js';
import { decodeModel } from './proto.js';

/** Anything wrong with an ONNX file (or a graph that convkit cannot run); the message names the problem's place. */
export class OnnxImportError extends Error {
  override name = 'OnnxImportError';
}

export interface OnnxImportOptions {
  /** Names the file in messages (default 'model'). */
  source?: string;
  /** One sample's shape [C, H, W] (without the batch) when the file's input has symbolic dimensions beyond the batch; must agree with static ones. */
  inputShape?: readonly number[];
  /** Largest tensor (initializer, or any node's output per image) in elements; default 2^26 (256 MiB of float32). */
  maxElements?: number;
}

/** What the file says about itself, read at import. */
export interface OnnxModelInfo {
  source: string;
  graphName: string;
  producer: string;
  /** The default-domain opset the file imports. */
  opset: number;
  inputName: string;
  outputName: string;
  /** One sample's shape (the input without its batch dimension). */
  sampleShape: number[];
  /** The output for one sample (without the batch dimension), from the probe forward. */
  outputSampleShape: number[];
  /** metadata_props as given. */
  metadata: Record<string, string>;
  /** From `convkit.normalization` when the file has it (convkit's exports do); undefined when absent. */
  normalization: { mean: number[]; std: number[] } | null | undefined;
  /** From `convkit.class_names` when present. */
  classNames: string[] | undefined;
  /** How many nodes of each operator the graph has (before folding). */
  operatorCounts: Record<string, number>;
  /** Nodes folded into constants at import. */
  foldedNodes: number;
  /** ONNX initializer name -> state-dict key (equal unless the name cannot be a dotted module path). */
  stateKeys: Record<string, string>;
}

/** Default bound on elements of one tensor (2^26 floats = 256 MiB). */
const DEFAULT_MAX_ELEMENTS = 2 ** 26;
/** Bound on one dimension, one attribute integer (pads, strides, kernel sizes) and on a tensor's rank. */
const MAX_DIM = 2 ** 24;
const MAX_RANK = 8;

// ---------------------------------------------------------------- values

/** An integer tensor (shape arithmetic, pads, axes); int64 values held as JS numbers. */
interface IntValue { kind: 'int'; values: number[]; shape: number[] }
interface FloatValue { kind: 'float'; tensor: Tensor }
type Value = IntValue | FloatValue;

type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Value }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'other'; type: number };

/** One node of the graph, as read from the file. */
export interface GraphNode {
  index: number;
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, AttributeValue>;
}

const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 5: 2, 6: 4, 7: 8, 9: 1, 11: 8 };
const TYPE_NAMES: Record<number, string> = {
  1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL', 10: 'FLOAT16',
  11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 16: 'BFLOAT16',
};

// ---------------------------------------------------------------- reading the decoded message defensively

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const bytesOf = (v: unknown): Uint8Array | null => (v instanceof Uint8Array ? v : null);

/** Define an own property (never the prototype, whatever the key). */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Keep names printable and short in messages. */
function quote(name: string): string {
  const clean = name.length > 80 ? `${name.slice(0, 77)}...` : name;
  return `'${clean.replace(/[^\x20-\x7e]/g, '?')}'`;
}

function label(node: GraphNode): string {
  return `node ${node.index} ${quote(node.name || `(unnamed)`)} (${node.opType})`;
}

// ---------------------------------------------------------------- tensors in the file

interface TensorContext { fail: (message: string) => never; maxElements: number }

/** Decode a TensorProto into a value, checking dims and byte lengths before allocating. */
function readTensor(proto: Obj, what: string, ctx: TensorContext): Value {
  const dataType = num(proto['data_type']);
  const typeName = TYPE_NAMES[dataType] ?? `type ${dataType}`;
  if (num(proto['data_location']) === 1 || arr(proto['external_data']).length > 0) {
    ctx.fail(`${what}: its data is in an external file, which a single-file import cannot read`);
  }
  const dims = arr(proto['dims']);
  if (dims.length > MAX_RANK) ctx.fail(`${what}: rank ${dims.length} is above ${MAX_RANK}`);
  const shape: number[] = [];
  for (const d of dims) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_DIM) ctx.fail(`${what}: dimension ${String(d)} is not an integer in [0, ${MAX_DIM}]`);
    shape.push(d);
  }
  const count = numelOf(shape);
  if (count > ctx.maxElements) ctx.fail(`${what}: ${count} elements (dims [${shape.join(', ')}]) is above the limit of ${ctx.maxElements}`);
  const elementBytes = ELEMENT_BYTES[dataType];
  if (elementBytes === undefined || dataType === 5) ctx.fail(`${what}: data type ${typeName} is not supported (FLOAT, DOUBLE and integer types are)`);
  const raw = bytesOf(proto['raw_data']);
  const isFloat = dataType === 1 || dataType === 11;
  if (raw && raw.length > 0) {
    if (raw.length !== count * elementBytes) {
      ctx.fail(`${what}: raw_data has ${raw.length} bytes but dims [${shape.join(', ')}] of ${typeName} need ${count * elementBytes}`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (isFloat) {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dataType === 1 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
      return { kind: 'float', tensor: new Tensor(out, shape) };
    }
    const values = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      switch (dataType) {
        case 7: values[i] = Number(view.getBigInt64(i * 8, true)); break;
        case 6: values[i] = view.getInt32(i * 4, true); break;
        case 3: values[i] = view.getInt8(i); break;
        default: values[i] = view.getUint8(i);
      }
    }
    return { kind: 'int', values, shape };
  }
  // Typed fields: float_data (FLOAT), double_data, int64_data, int32_data (INT32, INT8, UINT8, BOOL).
  const field = dataType === 1 ? 'float_data' : dataType === 11 ? 'double_data' : dataType === 7 ? 'int64_data' : 'int32_data';
  const list = arr(proto[field]);
  if (list.length !== count) ctx.fail(`${what}: ${field} has ${list.length} values but dims [${shape.join(', ')}] need ${count}`);
  if (isFloat) {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = typeof list[i] === 'number' ? (list[i] as number) : NaN;
    return { kind: 'float', tensor: new Tensor(out, shape) };
  }
  return { kind: 'int', values: list.map((v) => (typeof v === 'number' ? v : 0)), shape };
}

// ---------------------------------------------------------------- the module

/** A holder of parameters and buffers at one level of the dotted state-dict path (`features` in `features.0.weight`). */
class OnnxParameterScope extends Module {
  override get typeName(): string { return 'OnnxParameters'; }

  forward(_input: Tensor): Tensor {
    throw new Error('an ONNX parameter scope holds parameters only; call the imported model\'s forward');
  }

  child(name: string): OnnxParameterScope {
    for (const [n, m] of this.namedChildren()) if (n === name && m instanceof OnnxParameterScope) return m;
    return this.registerModule(name, new OnnxParameterScope());
  }

  addParameter(name: string, p: Parameter): void { this.registerParameter(name, p); }
  addBuffer(name: string, b: Tensor): void { this.registerBuffer(name, b); }
}

interface ExecContext {
  opset: number;
  training: boolean;
  /** Batch of the running forward (sizes are bounded per image). */
  batch: number;
  maxElements: number;
}

/** The imported graph as a convkit module. */
export class OnnxModule extends OnnxParameterScope {
  /** What the file says about itself. */
  readonly info: OnnxModelInfo;
  private nodes: readonly GraphNode[] = [];
  private readonly constants: Map<string, Value>;
  private readonly weights: Map<string, Tensor>;
  /** Index of the last node reading each value, so intermediates are dropped once used (the tape keeps what it needs). */
  private readonly lastUse = new Map<string, number>();
  private readonly maxElements: number;

  /** Built by importOnnx (parameters are registered on it, then the nodes left after folding are attached). */
  constructor(parts: { info: OnnxModelInfo; constants: Map<string, Value>; weights: Map<string, Tensor>; maxElements: number }) {
    super();
    this.info = parts.info;
    this.constants = parts.constants;
    this.weights = parts.weights;
    this.maxElements = parts.maxElements;
  }

  /** The nodes that run at each forward (after constant folding); called once by importOnnx. */
  attachNodes(nodes: readonly GraphNode[]): void {
    if (this.nodes.length > 0) throw new Error('OnnxModule: nodes are attached once, by importOnnx');
    this.nodes = nodes;
    nodes.forEach((node, i) => { for (const name of node.inputs) if (name) this.lastUse.set(name, i); });
  }

  override get typeName(): string { return 'OnnxModule'; }

  override describe(): string {
    return `OnnxModule(${this.info.source})`;
  }

  override extraRepr(): string {
    return `graph=${quote(this.info.graphName)}, opset=${this.info.opset}, nodes=${this.nodes.length}, input=[N, ${this.info.sampleShape.join(', ')}]`;
  }

  /** Run the graph on x [N, ...sampleShape]. */
  override forward(x: Tensor): Tensor {
    const expected = this.info.sampleShape;
    if (x.ndim !== expected.length + 1 || x.shape.slice(1).some((d, i) => d !== expected[i])) {
      throw new OnnxImportError(`${this.describe()}: expected input [N, ${expected.join(', ')}], got ${formatShape(x.shape)}`);
    }
    const ctx: ExecContext = { opset: this.info.opset, training: this.training, batch: Math.max(1, x.shape[0]!), maxElements: this.maxElements };
    const values = new Map<string, Value>();
    values.set(this.info.inputName, { kind: 'float', tensor: x });
    const lookup = (name: string, node: GraphNode): Value | undefined => {
      if (!name) return undefined;
      const v = values.get(name) ?? this.constants.get(name);
      if (v) return v;
      const w = this.weights.get(name);
      if (w) return { kind: 'float', tensor: w };
      throw new OnnxImportError(`${label(node)}: input ${quote(name)} is not computed by any earlier node, nor an initializer or the graph input`);
    };
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[i]!;
      const inputs = node.inputs.map((name) => lookup(name, node));
      let outputs: (Value | undefined)[];
      try {
        outputs = runNode(node, inputs, ctx);
      } catch (e) {
        // Every failure inside the graph names its node (a convkit op's own message says what was wrong).
        throw new OnnxImportError(`${this.describe()}: ${nodeFailure(node, e)}`, { cause: e });
      }
      node.outputs.forEach((name, k) => { if (name && outputs[k]) values.set(name, outputs[k]!); });
      for (const name of node.inputs) if (name && this.lastUse.get(name) === i && name !== this.info.outputName) values.delete(name);
    }
    const out = values.get(this.info.outputName) ?? this.constants.get(this.info.outputName);
    if (!out || out.kind !== 'float') throw new OnnxImportError(`${this.describe()}: the graph output ${quote(this.info.outputName)} is not a float tensor computed by the graph`);
    return out.tensor;
  }
}

// ---------------------------------------------------------------- operators

class NodeError extends Error {}

function fail(node: GraphNode, message: string): never {
  throw new NodeError(`${label(node)}: ${message}`);
}

function attr(node: GraphNode, name: string): AttributeValue | undefined {
  return node.attributes.get(name);
}

function attrInt(node: GraphNode, name: string, fallback: number): number {
  const a = attr(node, name);
  if (!a) return fallback;
  if (a.kind !== 'int') fail(node, `attribute ${name} must be an integer`);
  return a.value;
}

function attrFloat(node: GraphNode, name: string, fallback: number): number {
  const a = attr(node, name);
  if (!a) return fallback;
  if (a.kind === 'float') return a.value;
  if (a.kind === 'int') return a.value;
  fail(node, `attribute ${name} must be a float`);
}

function attrString(node: GraphNode, name: string, fallback: string): string {
  const a = attr(node, name);
  if (!a) return fallback;
  if (a.kind !== 'string') fail(node, `attribute ${name} must be a string`);
  return a.value;
}

function attrInts(node: GraphNode, name: string): number[] | undefined {
  const a = attr(node, name);
  if (!a) return undefined;
  if (a.kind !== 'ints') fail(node, `attribute ${name} must be a list of integers`);
  return a.value;
}

/** Integers of an attribute that sizes something (pads, strides, kernel): bounded so nothing huge is allocated. */
function boundedInts(node: GraphNode, name: string, values: number[] | undefined, length: number, min: number, fallback: number): number[] {
  if (values === undefined) return new Array<number>(length).fill(fallback);
  if (values.length !== length) fail(node, `attribute ${name} has ${values.length} values, expected ${length}`);
  for (const v of values) if (!Number.isInteger(v) || v < min || v > MAX_DIM) fail(node, `attribute ${name} value ${v} is outside [${min}, ${MAX_DIM}]`);
  return values;
}

function floatInput(node: GraphNode, inputs: (Value | undefined)[], i: number, what = `input ${i}`): Tensor {
  const v = inputs[i];
  if (!v) fail(node, `${what} is missing`);
  if (v.kind !== 'float') fail(node, `${what} must be a float tensor, got an integer tensor`);
  return v.tensor;
}

function optionalFloat(node: GraphNode, inputs: (Value | undefined)[], i: number): Tensor | null {
  return inputs[i] ? floatInput(node, inputs, i) : null;
}

function intInput(node: GraphNode, inputs: (Value | undefined)[], i: number, what = `input ${i}`): IntValue {
  const v = inputs[i];
  if (!v) fail(node, `${what} is missing`);
  if (v.kind !== 'int') fail(node, `${what} must be an integer tensor (int64), got float`);
  return v;
}

/** A float scalar that must be known at import (Clip bounds, Pad value, Dropout ratio). */
function constantScalar(node: GraphNode, inputs: (Value | undefined)[], i: number, what: string): number | null {
  const v = inputs[i];
  if (!v) return null;
  if (v.kind === 'int') { if (v.values.length !== 1) fail(node, `${what} must be a scalar`); return v.values[0]!; }
  if (v.tensor.numel !== 1) fail(node, `${what} must be a scalar, got shape ${formatShape(v.tensor.shape)}`);
  if (v.tensor.requiresGrad || v.tensor.gradFn) fail(node, `${what} must be a constant, not computed from the input or a trained parameter`);
  return v.tensor.data[0]!;
}

function checkSize(node: GraphNode, ctx: ExecContext, shape: readonly number[]): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(node, `invalid output shape ${formatShape(shape)}`);
  if (numelOf(shape) > ctx.maxElements * ctx.batch) fail(node, `output ${formatShape(shape)} would exceed ${ctx.maxElements} elements per image`);
}

function normAxis(node: GraphNode, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) fail(node, `${what} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

const floatValue = (tensor: Tensor): FloatValue => ({ kind: 'float', tensor });
const intValue = (values: number[], shape: number[] = [values.length]): IntValue => ({ kind: 'int', values, shape });

/** Constant padding of any axes (negative entries crop), pads = [begin0..beginR-1, end0..endR-1]. */
function padAll(node: GraphNode, ctx: ExecContext, x: Tensor, pads: number[], value: number): Tensor {
  const rank = x.ndim;
  if (pads.length !== 2 * rank) fail(node, `pads has ${pads.length} values; a rank-${rank} input needs ${2 * rank}`);
  for (const p of pads) if (!Number.isInteger(p) || Math.abs(p) > MAX_DIM) fail(node, `pad ${p} is outside [-${MAX_DIM}, ${MAX_DIM}]`);
  const outShape = x.shape.map((d, i) => d + pads[i]! + pads[rank + i]!);
  if (outShape.some((d) => d < 0)) fail(node, `pads [${pads.join(', ')}] crop more than the input ${formatShape(x.shape)} has`);
  checkSize(node, ctx, outShape);
  const onlyLastTwo = pads.every((p, i) => p >= 0 && (i % rank >= rank - 2 || p === 0));
  if (onlyLastTwo && rank >= 2) return F.pad(x, [pads[rank - 1]!, pads[2 * rank - 1]!, pads[rank - 2]!, pads[2 * rank - 2]!], value);
  let y = x;
  for (let axis = 0; axis < rank; axis++) {
    const before = pads[axis]!, after = pads[rank + axis]!;
    if (before < 0 || after < 0) {
      const start = Math.max(0, -before), end = y.shape[axis]! - Math.max(0, -after);
      y = F.narrow(y, axis, start, Math.max(0, end - start));
    }
    const parts: Tensor[] = [];
    const block = (n: number): Tensor => {
      const shape = [...y.shape];
      shape[axis] = n;
      return new Tensor(new Float32Array(numelOf(shape)).fill(value), shape);
    };
    if (before > 0) parts.push(block(before));
    parts.push(y);
    if (after > 0) parts.push(block(after));
    if (parts.length > 1) y = F.concat(parts, axis);
  }
  return y;
}

/** Begin/end padding of each spatial axis from auto_pad or pads (ONNX order [b0, b1, e0, e1]). */
function spatialPads(node: GraphNode, input: readonly number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const n = kernel.length;
  if (autoPad === 'NOTSET') return boundedInts(node, 'pads', attrInts(node, 'pads'), 2 * n, 0, 0);
  if (autoPad === 'VALID') return new Array<number>(2 * n).fill(0);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') fail(node, `auto_pad '${autoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  const pads = new Array<number>(2 * n).fill(0);
  for (let i = 0; i < n; i++) {
    const size = input[i]!, out = Math.ceil(size / strides[i]!);
    const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size);
    const small = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[n + i] = total - pads[i]!;
  }
  return pads;
}

function conv(node: GraphNode, inputs: (Value | undefined)[], ctx: ExecContext): Tensor {
  const x = floatInput(node, inputs, 0, 'input X');
  const w = floatInput(node, inputs, 1, 'weight W');
  const b = optionalFloat(node, inputs, 2);
  if (x.ndim !== 4 || w.ndim !== 4) fail(node, `only 2-D convolution is supported (4-D input and weight), got input ${formatShape(x.shape)} and weight ${formatShape(w.shape)}`);
  const kernel = [w.shape[2]!, w.shape[3]!];
  const declared = attrInts(node, 'kernel_shape');
  if (declared && (declared.length !== 2 || declared[0] !== kernel[0] || declared[1] !== kernel[1])) fail(node, `kernel_shape [${declared.join(', ')}] does not match the weight ${formatShape(w.shape)}`);
  const strides = boundedInts(node, 'strides', attrInts(node, 'strides'), 2, 1, 1);
  const dilations = boundedInts(node, 'dilations', attrInts(node, 'dilations'), 2, 1, 1);
  const groups = attrInt(node, 'group', 1);
  if (!Number.isInteger(groups) || groups < 1 || groups > MAX_DIM) fail(node, `group ${groups} is not a positive integer`);
  if (x.shape[1] !== w.shape[1]! * groups) fail(node, `input has ${x.shape[1]} channels but the weight ${formatShape(w.shape)} with group ${groups} expects ${w.shape[1]! * groups}`);
  if (w.shape[0]! % groups !== 0) fail(node, `group ${groups} does not divide the ${w.shape[0]} output channels`);
  if (b && (b.ndim !== 1 || b.shape[0] !== w.shape[0])) fail(node, `bias ${formatShape(b.shape)} does not match ${w.shape[0]} output channels`);
  const pads = spatialPads(node, x.shape.slice(2), kernel, strides, dilations);
  const outSize = (i: number): number => Math.floor((x.shape[2 + i]! + pads[i]! + pads[2 + i]! - dilations[i]! * (kernel[i]! - 1) - 1) / strides[i]!) + 1;
  const outH = outSize(0), outW = outSize(1);
  if (outH < 1 || outW < 1) fail(node, `kernel ${kernel.join('x')} is larger than the padded input ${formatShape(x.shape)}`);
  checkSize(node, ctx, [x.shape[0]!, w.shape[0]!, outH, outW]);
  const symmetric = pads[0] === pads[2] && pads[1] === pads[3];
  const source = symmetric ? x : padAll(node, ctx, x, [0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!], 0);
  return F.conv2d(source, w, b, {
    stride: [strides[0]!, strides[1]!], dilation: [dilations[0]!, dilations[1]!], groups,
    padding: symmetric ? [pads[0]!, pads[1]!] : 0,
  });
}

/** MaxPool and AveragePool on 4-D inputs. */
function pool(node: GraphNode, inputs: (Value | undefined)[], ctx: ExecContext, kind: 'max' | 'avg'): Tensor {
  const x = floatInput(node, inputs, 0, 'input X');
  if (x.ndim !== 4) fail(node, `only 2-D pooling (4-D input [N, C, H, W]) is supported, got ${formatShape(x.shape)}`);
  const kernel = boundedInts(node, 'kernel_shape', attrInts(node, 'kernel_shape') ?? fail(node, 'attribute kernel_shape is required'), 2, 1, 1);
  const strides = boundedInts(node, 'strides', attrInts(node, 'strides'), 2, 1, 1);
  const dilations = boundedInts(node, 'dilations', attrInts(node, 'dilations'), 2, 1, 1);
  if (kind === 'avg' && dilations.some((d) => d !== 1)) fail(node, 'average pooling with dilations is not supported');
  const ceilMode = attrInt(node, 'ceil_mode', 0) === 1;
  const pads = spatialPads(node, x.shape.slice(2), kernel, strides, dilations);
  for (let i = 0; i < 2; i++) {
    const padded = x.shape[2 + i]! + pads[i]! + pads[2 + i]!;
    if (padded < dilations[i]! * (kernel[i]! - 1) + 1) fail(node, `kernel ${kernel.join('x')} is larger than the padded input ${formatShape(x.shape)}`);
  }
  const outEstimate = [0, 1].map((i) => Math.ceil((x.shape[2 + i]! + pads[i]! + pads[2 + i]!) / strides[i]!) + 1);
  checkSize(node, ctx, [x.shape[0]!, x.shape[1]!, outEstimate[0]!, outEstimate[1]!]);
  const symmetric = pads[0] === pads[2] && pads[1] === pads[3] && pads[0]! <= kernel[0]! / 2 && pads[1]! <= kernel[1]! / 2;
  if (kind === 'max') {
    const options = { kernelSize: [kernel[0]!, kernel[1]!] as [number, number], stride: [strides[0]!, strides[1]!] as [number, number], dilation: [dilations[0]!, dilations[1]!] as [number, number], ceilMode };
    if (symmetric) return F.maxPool2d(x, { ...options, padding: [pads[0]!, pads[1]!] });
    // Padding cells never win a max: pad with -Infinity, then pool without padding.
    return F.maxPool2d(padAll(node, ctx, x, [0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!], -Infinity), options);
  }
  const countIncludePad = attrInt(node, 'count_include_pad', 0) === 1;
  const options = { kernelSize: [kernel[0]!, kernel[1]!] as [number, number], stride: [strides[0]!, strides[1]!] as [number, number], ceilMode };
  if (symmetric) return F.avgPool2d(x, { ...options, padding: [pads[0]!, pads[1]!], countIncludePad });
  const padSpec = [0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!];
  const summed = F.avgPool2d(padAll(node, ctx, x, padSpec, 0), options);
  if (countIncludePad) return summed;
  // Asymmetric padding not counted: divide the window sums by the number of real cells in each window (the same
  // pooling of a padded all-ones plane), which is what ONNX's count_include_pad=0 means.
  const ones = new Tensor(new Float32Array(x.shape[2]! * x.shape[3]!).fill(1), [1, 1, x.shape[2]!, x.shape[3]!]);
  const counts = noGrad(() => F.avgPool2d(padAll(node, ctx, ones, padSpec, 0), options));
  return F.div(summed, counts);
}

/** ONNX LRN: y = x / (bias + alpha/size * sum of x^2 over channels [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta. */
function lrn(node: GraphNode, x: Tensor, ctx: ExecContext): Tensor {
  if (x.ndim !== 4) fail(node, `expected a 4-D input [N, C, H, W], got ${formatShape(x.shape)}`);
  const size = attrInt(node, 'size', 0);
  if (!Number.isInteger(size) || size < 1 || size > MAX_DIM) fail(node, `attribute size must be a positive integer, got ${size}`);
  const alpha = attrFloat(node, 'alpha', 1e-4), beta = attrFloat(node, 'beta', 0.75), bias = attrFloat(node, 'bias', 1);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const before = Math.floor((size - 1) / 2), after = Math.ceil((size - 1) / 2);
  checkSize(node, ctx, [n, 1, c + before + after, h * w]);
  const squares = F.reshape(F.mul(x, x), [n, 1, c, h * w]);
  const padded = F.pad(squares, [0, 0, before, after]);
  const windowMean = F.reshape(F.avgPool2d(padded, { kernelSize: [size, 1], stride: 1 }), [n, c, h, w]);
  return F.div(x, F.pow(F.add(F.mul(windowMean, alpha), bias), beta));
}

function gemm(node: GraphNode, inputs: (Value | undefined)[], ctx: ExecContext): Tensor {
  const a = floatInput(node, inputs, 0, 'input A'), b = floatInput(node, inputs, 1, 'input B');
  const c = optionalFloat(node, inputs, 2);
  const alpha = attrFloat(node, 'alpha', 1), beta = attrFloat(node, 'beta', 1);
  const transA = attrInt(node, 'transA', 0) === 1, transB = attrInt(node, 'transB', 0) === 1;
  if (a.ndim !== 2 || b.ndim !== 2) fail(node, `A and B must be 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const m = transA ? a.shape[1]! : a.shape[0]!, k = transA ? a.shape[0]! : a.shape[1]!;
  const kb = transB ? b.shape[1]! : b.shape[0]!, nOut = transB ? b.shape[0]! : b.shape[1]!;
  if (k !== kb) fail(node, `inner dimensions differ: A ${formatShape(a.shape)}${transA ? 'ᵀ' : ''} and B ${formatShape(b.shape)}${transB ? 'ᵀ' : ''}`);
  checkSize(node, ctx, [m, nOut]);
  if (c) {
    try { broadcastShapes([m, nOut], c.shape); } catch { fail(node, `C ${formatShape(c.shape)} does not broadcast to [${m}, ${nOut}]`); }
    if (numelOf(broadcastShapes([m, nOut], c.shape)) !== m * nOut) fail(node, `C ${formatShape(c.shape)} does not broadcast to [${m}, ${nOut}]`);
  }
  // nn.Linear's form (transB, alpha = beta = 1, a bias vector): one fused op.
  if (!transA && transB && alpha === 1 && (!c || (beta === 1 && c.ndim === 1 && c.shape[0] === nOut))) return F.linear(a, b, c);
  let y = F.matmul(transA ? F.transpose(a, 0, 1) : a, transB ? F.transpose(b, 0, 1) : b);
  if (alpha !== 1) y = F.mul(y, alpha);
  if (c && beta !== 0) y = F.add(y, beta === 1 ? c : F.mul(c, beta));
  return y;
}

/** Integer elementwise arithmetic on shape values (same shape or a scalar operand). */
function intBinary(node: GraphNode, a: IntValue, b: IntValue, op: (x: number, y: number) => number): IntValue {
  if (a.values.length === b.values.length) return { kind: 'int', values: a.values.map((v, i) => op(v, b.values[i]!)), shape: a.shape.length >= b.shape.length ? a.shape : b.shape };
  if (b.values.length === 1) return { kind: 'int', values: a.values.map((v) => op(v, b.values[0]!)), shape: a.shape };
  if (a.values.length === 1) return { kind: 'int', values: b.values.map((v) => op(a.values[0]!, v)), shape: b.shape };
  fail(node, `integer operands of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not broadcast`);
}

function asFloat(v: Value): Tensor {
  return v.kind === 'float' ? v.tensor : new Tensor(Float32Array.from(v.values), v.shape);
}

function binaryOp(node: GraphNode, inputs: (Value | undefined)[], ctx: ExecContext, floatOp: (a: Tensor, b: Tensor) => Tensor, intOp: ((x: number, y: number) => number) | null): Value {
  const a = inputs[0], b = inputs[1];
  if (!a || !b) fail(node, 'needs two inputs');
  if (a.kind === 'int' && b.kind === 'int') {
    if (!intOp) fail(node, 'is not supported on integer tensors');
    return intBinary(node, a, b, intOp);
  }
  const ta = asFloat(a), tb = asFloat(b);
  let shape: number[];
  try { shape = broadcastShapes(ta.shape, tb.shape); } catch { fail(node, `shapes ${formatShape(ta.shape)} and ${formatShape(tb.shape)} do not broadcast`); }
  checkSize(node, ctx, shape);
  return floatValue(floatOp(ta, tb));
}

/** Axes from an attribute (older opsets) or the second input (Unsqueeze/Squeeze 13, ReduceSum 13). */
function axesOf(node: GraphNode, inputs: (Value | undefined)[], fromInput: boolean): number[] | undefined {
  if (fromInput) return inputs[1] ? intInput(node, inputs, 1, 'axes').values : undefined;
  return attrInts(node, 'axes');
}

function unsqueezeShape(node: GraphNode, shape: readonly number[], axes: number[]): number[] {
  const rank = shape.length + axes.length;
  if (rank > MAX_RANK) fail(node, `result rank ${rank} is above ${MAX_RANK}`);
  const normalized = axes.map((a) => normAxis(node, a, rank, 'axis'));
  if (new Set(normalized).size !== normalized.length) fail(node, `axes [${axes.join(', ')}] repeat`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(normalized.includes(i) ? 1 : shape[k++]!);
  return out;
}

function squeezeShape(node: GraphNode, shape: readonly number[], axes: number[] | undefined): number[] {
  if (!axes) return shape.filter((d) => d !== 1);
  const normalized = axes.map((a) => normAxis(node, a, shape.length, 'axis'));
  for (const a of normalized) if (shape[a] !== 1) fail(node, `cannot squeeze axis ${a} of size ${shape[a]}`);
  return shape.filter((_, i) => !normalized.includes(i));
}

function reshapeTarget(node: GraphNode, input: readonly number[], spec: number[], allowZero: boolean): number[] {
  if (spec.length > MAX_RANK) fail(node, `target rank ${spec.length} is above ${MAX_RANK}`);
  const total = numelOf(input);
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? (input[i] ?? fail(node, `0 in shape position ${i} has no input dimension to copy`)) : d));
  const infer = shape.filter((d) => d === -1).length;
  if (infer > 1) fail(node, `shape [${spec.join(', ')}] has more than one -1`);
  if (shape.some((d) => !Number.isInteger(d) || d < -1)) fail(node, `shape [${spec.join(', ')}] has invalid entries`);
  if (infer === 1) {
    const known = numelOf(shape.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) fail(node, `cannot reshape ${formatShape(input)} into [${spec.join(', ')}]`);
    shape[shape.indexOf(-1)] = total / known;
  }
  if (numelOf(shape) !== total) fail(node, `cannot reshape ${formatShape(input)} (${total} elements) into [${spec.join(', ')}]`);
  return shape;
}

/** Slice bounds of one axis (steps 1), clamped as ONNX says. */
function sliceRange(size: number, start: number, end: number): [number, number] {
  const s = Math.min(Math.max(start < 0 ? start + size : start, 0), size);
  const e = Math.min(Math.max(end < 0 ? end + size : end, 0), size);
  return [s, Math.max(s, e)];
}

function intSlice(v: IntValue, axis: number, start: number, length: number): IntValue {
  const shape = [...v.shape];
  const inner = numelOf(shape.slice(axis + 1)), outer = numelOf(shape.slice(0, axis)), size = shape[axis]!;
  const values: number[] = [];
  for (let o = 0; o < outer; o++) for (let i = start; i < start + length; i++) for (let j = 0; j < inner; j++) values.push(v.values[(o * size + i) * inner + j]!);
  shape[axis] = length;
  return { kind: 'int', values, shape };
}

/** ONNX Slice of an integer tensor along one axis with any non-zero step (PyTorch reverses pads with step -1). */
function intSteppedSlice(v: IntValue, axis: number, start: number, end: number, step: number): IntValue {
  const size = v.shape[axis]!;
  const clamp = (i: number, lo: number, hi: number): number => Math.min(Math.max(i < 0 ? i + size : i, lo), hi);
  const picks: number[] = [];
  if (step > 0) {
    for (let i = clamp(start, 0, size), e = clamp(end, 0, size); i < e; i += step) picks.push(i);
  } else {
    for (let i = clamp(start, 0, size - 1), e = end < -size ? -1 : clamp(end, -1, size - 1); i > e; i += step) picks.push(i);
  }
  const inner = numelOf(v.shape.slice(axis + 1)), outer = numelOf(v.shape.slice(0, axis));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) for (const i of picks) for (let j = 0; j < inner; j++) values.push(v.values[(o * size + i) * inner + j]!);
  const shape = [...v.shape];
  shape[axis] = picks.length;
  return { kind: 'int', values, shape };
}

function softmaxOp(node: GraphNode, x: Tensor, ctx: ExecContext, log: boolean): Tensor {
  const fn = (t: Tensor, dim: number): Tensor => (log ? F.logSoftmax(t, dim) : F.softmax(t, dim));
  if (ctx.opset >= 13) return fn(x, normAxis(node, attrInt(node, 'axis', -1), x.ndim));
  // Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalised over the second part.
  const axis = normAxis(node, attrInt(node, 'axis', 1), Math.max(1, x.ndim));
  const rows = numelOf(x.shape.slice(0, axis)), cols = numelOf(x.shape.slice(axis));
  return F.reshape(fn(F.reshape(x, [rows, cols]), 1), x.shape);
}

/** Run one node; returns a value for each output it produces (positions match node.outputs). */
function runNode(node: GraphNode, inputs: (Value | undefined)[], ctx: ExecContext): (Value | undefined)[] {
  const x = (): Tensor => floatInput(node, inputs, 0, 'input X');
  switch (node.opType) {
    case 'Conv': return [floatValue(conv(node, inputs, ctx))];
    case 'Gemm': return [floatValue(gemm(node, inputs, ctx))];
    case 'MatMul': {
      const a = floatInput(node, inputs, 0, 'input A'), b = floatInput(node, inputs, 1, 'input B');
      if (a.ndim < 1 || b.ndim < 1) fail(node, 'operands must have at least one dimension');
      const m = a.ndim >= 2 ? a.shape[a.ndim - 2]! : 1, n = b.ndim >= 2 ? b.shape[b.ndim - 1]! : 1;
      checkSize(node, ctx, [...broadcastBatch(node, a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n]);
      return [floatValue(F.matmul(a, b))];
    }
    case 'Add': return [binaryOp(node, inputs, ctx, F.add, (p, q) => p + q)];
    case 'Sub': return [binaryOp(node, inputs, ctx, F.sub, (p, q) => p - q)];
    case 'Mul': return [binaryOp(node, inputs, ctx, F.mul, (p, q) => p * q)];
    case 'Div': return [binaryOp(node, inputs, ctx, F.div, (p, q) => (q === 0 ? 0 : Math.trunc(p / q)))];
    case 'Pow': return [binaryOp(node, inputs, ctx, F.pow, null)];
    case 'Relu': return [floatValue(F.relu(x()))];
    case 'Sigmoid': return [floatValue(F.sigmoid(x()))];
    case 'Tanh': return [floatValue(F.tanh(x()))];
    case 'Neg': return [floatValue(F.neg(x()))];
    case 'Exp': return [floatValue(F.exp(x()))];
    case 'Log': return [floatValue(F.log(x()))];
    case 'Sqrt': return [floatValue(F.sqrt(x()))];
    case 'Abs': return [floatValue(F.abs(x()))];
    case 'LeakyRelu': return [floatValue(F.leakyRelu(x(), attrFloat(node, 'alpha', 0.01)))];
    case 'Elu': return [floatValue(F.elu(x(), attrFloat(node, 'alpha', 1)))];
    case 'Clip': {
      let min: number | null, max: number | null;
      if (ctx.opset < 11) {
        min = attrFloat(node, 'min', -Infinity); max = attrFloat(node, 'max', Infinity);
      } else {
        min = constantScalar(node, inputs, 1, 'min'); max = constantScalar(node, inputs, 2, 'max');
      }
      const lo = min ?? -Infinity, hi = max ?? Infinity;
      if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) fail(node, `min ${lo} is above max ${hi}`);
      return [floatValue(F.clamp(x(), lo, hi))];
    }
    case 'MaxPool': {
      if (node.outputs[1]) fail(node, 'the Indices output is not supported');
      return [floatValue(pool(node, inputs, ctx, 'max'))];
    }
    case 'AveragePool': return [floatValue(pool(node, inputs, ctx, 'avg'))];
    case 'GlobalAveragePool': {
      const t = x();
      if (t.ndim !== 4) fail(node, `expected a 4-D input [N, C, H, W], got ${formatShape(t.shape)}`);
      return [floatValue(F.globalAvgPool2d(t))];
    }
    case 'BatchNormalization': {
      const t = x();
      if (node.outputs.slice(1).some((o) => o)) fail(node, 'the running-statistics outputs (training-mode export) are not supported; export the model in eval mode');
      const scale = floatInput(node, inputs, 1, 'scale'), bias = floatInput(node, inputs, 2, 'B');
      const mean = floatInput(node, inputs, 3, 'mean'), variance = floatInput(node, inputs, 4, 'var');
      if (t.ndim < 2 || t.ndim > 4) fail(node, `expected input [N, C], [N, C, L] or [N, C, H, W], got ${formatShape(t.shape)}`);
      for (const [what, p] of [['scale', scale], ['B', bias], ['mean', mean], ['var', variance]] as const) {
        if (p.numel !== t.shape[1]) fail(node, `${what} has ${p.numel} values but the input has ${t.shape[1]} channels`);
      }
      const momentum = attrFloat(node, 'momentum', 0.9);
      const eps = attrFloat(node, 'epsilon', 1e-5);
      if (!(eps >= 0) || !(momentum >= 0 && momentum <= 1)) fail(node, `epsilon ${eps} or momentum ${momentum} out of range`);
      // ONNX's momentum weighs the old running value; PyTorch's (and convkit's) weighs the new batch value.
      return [floatValue(F.batchNorm(t, mean, variance, scale, bias, { training: ctx.training, momentum: 1 - momentum, eps }))];
    }
    case 'Dropout': {
      if (node.outputs[1]) fail(node, 'the mask output is not supported');
      const ratio = ctx.opset >= 12 ? constantScalar(node, inputs, 1, 'ratio') ?? 0.5 : attrFloat(node, 'ratio', 0.5);
      if (!(ratio >= 0 && ratio < 1)) fail(node, `ratio ${ratio} is not in [0, 1)`);
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      if (v.kind === 'int' || !ctx.training || ratio === 0) return [v];
      return [floatValue(F.dropout(v.tensor, { p: ratio, training: true }))];
    }
    case 'LRN': return [floatValue(lrn(node, x(), ctx))];
    case 'Softmax': return [floatValue(softmaxOp(node, x(), ctx, false))];
    case 'LogSoftmax': return [floatValue(softmaxOp(node, x(), ctx, true))];
    case 'Identity': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      return [v];
    }
    case 'Flatten': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      const shape = v.kind === 'float' ? v.tensor.shape : v.shape;
      const axis = normAxis(node, attrInt(node, 'axis', 1), shape.length + 1);
      const target = [numelOf(shape.slice(0, axis)), numelOf(shape.slice(axis))];
      return [v.kind === 'float' ? floatValue(F.reshape(v.tensor, target)) : { ...v, shape: target }];
    }
    case 'Reshape': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      const spec = ctx.opset >= 5 ? intInput(node, inputs, 1, 'shape').values : (attrInts(node, 'shape') ?? fail(node, 'attribute shape is required'));
      const shape = v.kind === 'float' ? v.tensor.shape : v.shape;
      const target = reshapeTarget(node, shape, spec, attrInt(node, 'allowzero', 0) === 1);
      return [v.kind === 'float' ? floatValue(F.reshape(v.tensor, target)) : { ...v, shape: target }];
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      const axes = axesOf(node, inputs, ctx.opset >= 13);
      const shape = v.kind === 'float' ? v.tensor.shape : v.shape;
      const target = node.opType === 'Unsqueeze' ? unsqueezeShape(node, shape, axes ?? fail(node, 'axes are required')) : squeezeShape(node, shape, axes);
      return [v.kind === 'float' ? floatValue(F.reshape(v.tensor, target)) : { ...v, shape: target }];
    }
    case 'Concat': {
      const present = inputs.filter((v): v is Value => v !== undefined);
      if (present.length === 0) fail(node, 'needs at least one input');
      const axisAttr = attr(node, 'axis');
      if (!axisAttr) fail(node, 'attribute axis is required');
      const rank = present[0]!.kind === 'float' ? (present[0] as FloatValue).tensor.ndim : (present[0] as IntValue).shape.length;
      const axis = normAxis(node, attrInt(node, 'axis', 0), rank);
      if (present.every((v) => v.kind === 'int')) {
        const ints = present as IntValue[];
        if (ints.some((v) => v.shape.length !== 1)) fail(node, 'integer tensors are concatenated only as 1-D shape vectors');
        const values = ints.flatMap((v) => v.values);
        return [intValue(values)];
      }
      const tensors = present.map(asFloat);
      for (const t of tensors) {
        if (t.ndim !== rank || t.shape.some((d, i) => i !== axis && d !== tensors[0]!.shape[i])) fail(node, `input shapes ${tensors.map((u) => formatShape(u.shape)).join(', ')} differ outside axis ${axis}`);
      }
      return [floatValue(F.concat(tensors, axis))];
    }
    case 'Pad': {
      const mode = attrString(node, 'mode', 'constant');
      if (mode !== 'constant') fail(node, `mode '${mode}' is not supported (only constant)`);
      const t = x();
      let pads: number[], value: number;
      if (ctx.opset < 11) {
        pads = attrInts(node, 'pads') ?? attrInts(node, 'paddings') ?? fail(node, 'attribute pads is required');
        value = attrFloat(node, 'value', 0);
      } else {
        pads = intInput(node, inputs, 1, 'pads').values;
        value = constantScalar(node, inputs, 2, 'constant_value') ?? 0;
        if (inputs[3]) {
          // Opset 18: pads for the listed axes only.
          const axes = intInput(node, inputs, 3, 'axes').values.map((a) => normAxis(node, a, t.ndim));
          if (pads.length !== 2 * axes.length) fail(node, `pads has ${pads.length} values for ${axes.length} axes`);
          const full = new Array<number>(2 * t.ndim).fill(0);
          axes.forEach((a, i) => { full[a] = pads[i]!; full[t.ndim + a] = pads[axes.length + i]!; });
          pads = full;
        }
      }
      return [floatValue(padAll(node, ctx, t, pads, value))];
    }
    case 'Transpose': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      const rank = v.kind === 'float' ? v.tensor.ndim : v.shape.length;
      const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      if (perm.length !== rank || new Set(perm.map((p) => normAxis(node, p, rank, 'perm entry'))).size !== rank) fail(node, `perm [${perm.join(', ')}] is not a permutation of ${rank} axes`);
      if (v.kind === 'float') return [floatValue(F.permute(v.tensor, perm))];
      const out = noGrad(() => F.permute(asFloat(v), perm));
      return [{ kind: 'int', values: Array.from(out.data), shape: [...out.shape] }];
    }
    case 'ReduceSum':
    case 'ReduceMean': {
      const t = x();
      const fromInput = node.opType === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
      const axes = axesOf(node, inputs, fromInput);
      const keep = attrInt(node, 'keepdims', 1) === 1;
      if (!axes || axes.length === 0) {
        if (attrInt(node, 'noop_with_empty_axes', 0) === 1) return [floatValue(t)];
      }
      const dims = (axes && axes.length > 0 ? axes : t.shape.map((_, i) => i)).map((a) => normAxis(node, a, t.ndim));
      return [floatValue(node.opType === 'ReduceSum' ? F.sum(t, dims, keep) : F.mean(t, dims, keep))];
    }
    case 'Constant': {
      for (const key of ['value', 'value_float', 'value_floats', 'value_int', 'value_ints']) {
        const a = attr(node, key);
        if (!a) continue;
        if (a.kind === 'tensor') return [a.value];
        if (a.kind === 'float') return [floatValue(new Tensor(Float32Array.of(a.value), []))];
        if (a.kind === 'floats') return [floatValue(new Tensor(Float32Array.from(a.value), [a.value.length]))];
        if (a.kind === 'int') return [intValue([a.value], [])];
        if (a.kind === 'ints') return [intValue(a.value)];
      }
      fail(node, 'has no value attribute convkit can read (value, value_float(s), value_int(s))');
    }
    case 'ConstantOfShape': {
      const shape = intInput(node, inputs, 0, 'shape').values;
      if (shape.length > MAX_RANK || shape.some((d) => !Number.isInteger(d) || d < 0 || d > MAX_DIM)) fail(node, `shape [${shape.join(', ')}] is invalid`);
      checkSize(node, ctx, shape);
      const a = attr(node, 'value');
      const fill = a && a.kind === 'tensor' ? a.value : intValue([0], [1]);
      if (fill.kind === 'int') return [intValue(new Array<number>(numelOf(shape)).fill(fill.values[0] ?? 0), shape)];
      return [floatValue(new Tensor(new Float32Array(numelOf(shape)).fill(fill.tensor.data[0] ?? 0), shape))];
    }
    case 'Shape': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      const shape = v.kind === 'float' ? [...v.tensor.shape] : v.shape;
      const rank = shape.length;
      const clampAxis = (a: number): number => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
      const start = clampAxis(attrInt(node, 'start', 0)), end = clampAxis(attrInt(node, 'end', rank));
      return [intValue(shape.slice(start, Math.max(start, end)))];
    }
    case 'Gather': {
      const data = inputs[0];
      if (!data) fail(node, 'input is missing');
      if (data.kind !== 'int' || data.shape.length !== 1) fail(node, 'Gather is supported only on 1-D shape vectors (as PyTorch exports x.size(i))');
      const indices = intInput(node, inputs, 1, 'indices');
      if (attrInt(node, 'axis', 0) !== 0) fail(node, 'axis must be 0 on a 1-D shape vector');
      const size = data.values.length;
      const values = indices.values.map((i) => {
        if (!Number.isInteger(i) || i < -size || i >= size) fail(node, `index ${i} is out of range for ${size} values`);
        return data.values[i < 0 ? i + size : i]!;
      });
      return [{ kind: 'int', values, shape: [...indices.shape] }];
    }
    case 'Slice': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      const shape = v.kind === 'float' ? v.tensor.shape : v.shape;
      const fromInputs = ctx.opset >= 10;
      const starts = fromInputs ? intInput(node, inputs, 1, 'starts').values : attrInts(node, 'starts') ?? fail(node, 'starts is required');
      const ends = fromInputs ? intInput(node, inputs, 2, 'ends').values : attrInts(node, 'ends') ?? fail(node, 'ends is required');
      const axes = (fromInputs ? (inputs[3] ? intInput(node, inputs, 3, 'axes').values : undefined) : attrInts(node, 'axes')) ?? starts.map((_, i) => i);
      const steps = fromInputs && inputs[4] ? intInput(node, inputs, 4, 'steps').values : starts.map(() => 1);
      if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) fail(node, 'starts, ends, axes and steps differ in length');
      if (steps.some((s) => !Number.isInteger(s) || s === 0)) fail(node, 'steps must be non-zero integers');
      if (v.kind === 'float' && steps.some((s) => s !== 1)) fail(node, 'on float tensors only step 1 is supported');
      let out: Value = v;
      axes.forEach((a, i) => {
        const axis = normAxis(node, a, shape.length);
        if (out.kind === 'int' && steps[i] !== 1) { out = intSteppedSlice(out, axis, starts[i]!, ends[i]!, steps[i]!); return; }
        const [s, e] = sliceRange(shape[axis]!, starts[i]!, ends[i]!);
        out = out.kind === 'float' ? floatValue(F.narrow(out.tensor, axis, s, e - s)) : intSlice(out, axis, s, e - s);
      });
      return [out];
    }
    case 'Cast': {
      const v = inputs[0];
      if (!v) fail(node, 'input is missing');
      const to = attrInt(node, 'to', 0);
      const toFloat = to === 1 || to === 11;
      const toInt = [2, 3, 6, 7, 9].includes(to);
      if (!toFloat && !toInt) fail(node, `cast to ${TYPE_NAMES[to] ?? `type ${to}`} is not supported`);
      if (toFloat) return [v.kind === 'float' ? v : floatValue(asFloat(v))];
      if (v.kind === 'int') return [v];
      if (v.tensor.requiresGrad || v.tensor.gradFn) fail(node, 'a float tensor computed from the input cannot become an integer tensor here');
      return [{ kind: 'int', values: Array.from(v.tensor.data, (f) => (to === 9 ? (f !== 0 ? 1 : 0) : Math.trunc(f))), shape: [...v.tensor.shape] }];
    }
    default:
      fail(node, `operator ${node.opType} is not supported by convkit's ONNX import`);
  }
}

function broadcastBatch(node: GraphNode, a: readonly number[], b: readonly number[]): number[] {
  try { return broadcastShapes(a, b); } catch { fail(node, `batch dimensions ${formatShape(a)} and ${formatShape(b)} do not broadcast`); }
}

// ---------------------------------------------------------------- import

/** Which input slots of an operator hold state that is not trained (BatchNorm's running statistics) or settings. */
const BUFFER_SLOTS: Record<string, number[]> = { BatchNormalization: [3, 4] };
const SETTING_SLOTS: Record<string, number[]> = {
  Clip: [1, 2], Pad: [1, 2, 3], Dropout: [1, 2], Reshape: [1], Unsqueeze: [1], Squeeze: [1], ReduceSum: [1], ReduceMean: [1],
  Slice: [1, 2, 3, 4], ConstantOfShape: [0], Gather: [1],
};

const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);

/** Supported default-domain opsets. */
const MIN_OPSET = 7, MAX_OPSET = 18;

/**
 * Import ONNX bytes as a trainable module. Throws `OnnxImportError` naming the problem for any malformed or
 * unsupported file.
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): OnnxModule {
  const source = options.source ?? 'model';
  const maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const failImport: (message: string) => never = (message) => { throw new OnnxImportError(`importOnnx(${source}): ${message}`); };
  if (!(bytes instanceof Uint8Array)) failImport('expected the file\'s bytes as a Uint8Array');
  if (bytes.length === 0) failImport('the file is empty');
  let model: Obj;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    return failImport(`not a valid ONNX (protobuf ModelProto) file: ${e instanceof Error ? e.message : String(e)}`);
  }
  const graph = model['graph'];
  if (!isObj(graph)) return failImport('the file has no graph (is it an ONNX model?)');

  let opset = 0;
  for (const entry of arr(model['opset_import'])) {
    if (!isObj(entry)) continue;
    const domain = str(entry['domain']);
    if (domain === '' || domain === 'ai.onnx') opset = num(entry['version']);
  }
  if (opset === 0) failImport('the file imports no default-domain opset');
  if (opset < MIN_OPSET || opset > MAX_OPSET) failImport(`opset ${opset} is not supported (${MIN_OPSET} to ${MAX_OPSET})`);

  const tensorCtx: TensorContext = { fail: failImport, maxElements };

  // Initializers.
  const initializers = new Map<string, Value>();
  for (const [i, proto] of arr(graph['initializer']).entries()) {
    if (!isObj(proto)) failImport(`initializer ${i} is malformed`);
    const name = str(proto['name']);
    if (!name) failImport(`initializer ${i} has no name`);
    if (initializers.has(name)) failImport(`initializer ${quote(name)} appears twice`);
    initializers.set(name, readTensor(proto, `initializer ${quote(name)}`, tensorCtx));
  }

  // Nodes.
  const nodes: GraphNode[] = [];
  const operatorCounts: Record<string, number> = {};
  for (const [index, proto] of arr(graph['node']).entries()) {
    if (!isObj(proto)) failImport(`node ${index} is malformed`);
    const node: GraphNode = {
      index, name: str(proto['name']), opType: str(proto['op_type']),
      inputs: arr(proto['input']).map(str), outputs: arr(proto['output']).map(str), attributes: new Map(),
    };
    const domain = str(proto['domain']);
    if (domain !== '' && domain !== 'ai.onnx') failImport(`${label(node)}: operator ${quote(node.opType)} of domain ${quote(domain)} is not supported`);
    if (!node.opType) failImport(`node ${index} ${quote(node.name)} has no operator`);
    for (const a of arr(proto['attribute'])) {
      if (!isObj(a)) failImport(`${label(node)}: an attribute is malformed`);
      const name = str(a['name']);
      const type = num(a['type']);
      let value: AttributeValue;
      switch (type) {
        case 1: value = { kind: 'float', value: num(a['f'], NaN) }; break;
        case 2: value = { kind: 'int', value: num(a['i']) }; break;
        case 3: value = { kind: 'string', value: bytesOf(a['s']) ? new TextDecoder().decode(bytesOf(a['s'])!) : '' }; break;
        case 4: {
          const t = a['t'];
          if (!isObj(t)) failImport(`${label(node)}: attribute ${name} has no tensor`);
          value = { kind: 'tensor', value: readTensor(t, `${label(node)} attribute ${name}`, tensorCtx) };
          break;
        }
        case 6: value = { kind: 'floats', value: arr(a['floats']).map((f) => num(f, NaN)) }; break;
        case 7: {
          const ints = arr(a['ints']);
          if (ints.length > MAX_DIM) failImport(`${label(node)}: attribute ${name} has ${ints.length} values`);
          value = { kind: 'ints', value: ints.map((f) => num(f)) };
          break;
        }
        default: value = { kind: 'other', type };
      }
      node.attributes.set(name, value);
    }
    // Own data properties only: a name such as '__proto__' from the file must not reach an object's prototype.
    setOwn(operatorCounts, node.opType, (Object.hasOwn(operatorCounts, node.opType) ? operatorCounts[node.opType]! : 0) + 1);
    nodes.push(node);
  }
  if (nodes.length === 0) failImport('the graph has no nodes');

  // Graph input (the one that is not an initializer) and output.
  const realInputs = arr(graph['input']).filter(isObj).filter((i) => !initializers.has(str(i['name'])));
  if (realInputs.length !== 1) failImport(`expected one graph input (the image batch), found ${realInputs.length}${realInputs.length ? `: ${realInputs.map((i) => quote(str(i['name']))).join(', ')}` : ''}`);
  const input = realInputs[0]!;
  const inputName = str(input['name']);
  if (!inputName) failImport('the graph input has no name');
  const tensorType = isObj(input['type']) && isObj((input['type'] as Obj)['tensor_type']) ? ((input['type'] as Obj)['tensor_type'] as Obj) : null;
  if (!tensorType) failImport(`graph input ${quote(inputName)} is not a tensor`);
  const elemType = num(tensorType['elem_type']);
  if (elemType !== 1) failImport(`graph input ${quote(inputName)} has element type ${TYPE_NAMES[elemType] ?? elemType}; only FLOAT is supported`);
  const declaredDims = isObj(tensorType['shape']) ? arr((tensorType['shape'] as Obj)['dim']).map((d) => (isObj(d) && typeof d['dim_value'] === 'number' ? (d['dim_value'] as number) : null)) : [];
  let sampleShape: number[];
  if (options.inputShape) {
    sampleShape = [...options.inputShape];
    if (declaredDims.length > 0 && declaredDims.length !== sampleShape.length + 1) failImport(`the file's input ${quote(inputName)} has rank ${declaredDims.length}, but inputShape [${sampleShape.join(', ')}] makes ${sampleShape.length + 1} with the batch`);
    declaredDims.slice(1).forEach((d, i) => {
      if (d !== null && d !== sampleShape[i]) failImport(`inputShape [${sampleShape.join(', ')}] disagrees with the file's input [N, ${declaredDims.slice(1).map((e) => e ?? '?').join(', ')}]`);
    });
  } else {
    if (declaredDims.length < 2) failImport(`graph input ${quote(inputName)} has no shape with a batch and sample dimensions; pass inputShape`);
    if (declaredDims.slice(1).some((d) => d === null)) failImport(`graph input ${quote(inputName)} has symbolic sample dimensions [N, ${declaredDims.slice(1).map((d) => d ?? '?').join(', ')}]; pass inputShape`);
    sampleShape = declaredDims.slice(1) as number[];
  }
  if (sampleShape.length > MAX_RANK - 1 || sampleShape.some((d) => !Number.isInteger(d) || d < 1 || d > MAX_DIM) || numelOf(sampleShape) > maxElements) {
    failImport(`input shape [${sampleShape.join(', ')}] is not a list of positive integers within the size limit`);
  }
  const outputs = arr(graph['output']).filter(isObj);
  if (outputs.length !== 1) failImport(`expected one graph output, found ${outputs.length}`);
  const outputName = str(outputs[0]!['name']);

  // Every node input must be produced before it is read (ONNX requires topological order); no name produced twice.
  const produced = new Set<string>([inputName, ...initializers.keys()]);
  for (const node of nodes) {
    for (const name of node.inputs) if (name && !produced.has(name)) failImport(`${label(node)}: input ${quote(name)} is not produced by an earlier node, an initializer or the graph input`);
    for (const name of node.outputs) {
      if (!name) continue;
      if (produced.has(name)) failImport(`${label(node)}: output ${quote(name)} is already produced elsewhere`);
      produced.add(name);
    }
  }
  if (!produced.has(outputName)) failImport(`the graph output ${quote(outputName)} is produced by no node`);

  // Which float initializers are trained (Parameters), which are running statistics (buffers), which are settings.
  const roles = new Map<string, 'parameter' | 'buffer' | 'setting'>();
  for (const node of nodes) {
    node.inputs.forEach((name, slot) => {
      const v = initializers.get(name);
      if (!v || v.kind !== 'float') return;
      // A rank-0 operand of arithmetic is a fixed factor (a mean's 1/count, GELU's sqrt 2), not a weight.
      const fixedScalar = v.tensor.ndim === 0 && ARITHMETIC.has(node.opType);
      const role = BUFFER_SLOTS[node.opType]?.includes(slot) ? 'buffer' : SETTING_SLOTS[node.opType]?.includes(slot) || fixedScalar ? 'setting' : 'parameter';
      const previous = roles.get(name);
      // A tensor used both ways is trained (the strongest role).
      if (!previous || role === 'parameter' || (role === 'buffer' && previous === 'setting')) roles.set(name, role);
    });
  }

  // The module and its parameter tree (state-dict keys = ONNX names where they form a dotted path).
  const stateKeys: Record<string, string> = {};
  const weights = new Map<string, Tensor>();
  const constants = new Map<string, Value>();
  const metadata: Record<string, string> = {};
  for (const entry of arr(model['metadata_props'])) if (isObj(entry)) setOwn(metadata, str(entry['key']), str(entry['value']));
  const info: OnnxModelInfo = {
    source, graphName: str(graph['name']), producer: `${str(model['producer_name'])} ${str(model['producer_version'])}`.trim(), opset,
    inputName, outputName, sampleShape, outputSampleShape: [], metadata,
    normalization: parseNormalization(Object.hasOwn(metadata, 'convkit.normalization') ? metadata['convkit.normalization'] : undefined, failImport),
    classNames: parseClassNames(Object.hasOwn(metadata, 'convkit.class_names') ? metadata['convkit.class_names'] : undefined, failImport),
    operatorCounts, foldedNodes: 0, stateKeys,
  };
  const module = new OnnxModule({ info, constants, weights, maxElements });
  const used = new Map<string, 'scope' | 'leaf'>();
  const place = (name: string): string => {
    const parts = name.split('.');
    // '__proto__' would be swallowed by plain-object state dicts (stateDict() builds one): such names get a safe key.
    const fits = parts.every((p) => p.length > 0 && p !== '__proto__') && parts.every((_, i) => {
      const prefix = parts.slice(0, i + 1).join('.');
      const kind = used.get(prefix);
      return i === parts.length - 1 ? kind === undefined : kind !== 'leaf';
    });
    if (fits) {
      parts.forEach((_, i) => used.set(parts.slice(0, i + 1).join('.'), i === parts.length - 1 ? 'leaf' : 'scope'));
      return name;
    }
    const flat = name.replace(/\./g, '_');
    const base = flat === '' || flat.includes('__proto__') ? `initializer_${flat.replace(/__proto__/g, 'proto')}` : flat;
    let key = base;
    for (let k = 2; used.has(key); k++) key = `${base}_${k}`;
    used.set(key, 'leaf');
    return key;
  };
  for (const [name, value] of initializers) {
    const role = roles.get(name);
    if (value.kind !== 'float' || role === undefined || role === 'setting') { constants.set(name, value); continue; }
    const key = place(name);
    setOwn(stateKeys, name, key);
    const parts = key.split('.');
    let scope: OnnxParameterScope = module;
    for (const part of parts.slice(0, -1)) scope = scope.child(part);
    const leaf = parts[parts.length - 1]!;
    const src = value.tensor;
    if (role === 'parameter') {
      const p = Parameter.zeros(src.shape);
      p.data.set(src.data);
      scope.addParameter(leaf, p);
      weights.set(name, p);
    } else {
      const b = new Tensor(getBackend().allocState(src.numel), src.shape);
      b.data.set(src.data);
      scope.addBuffer(leaf, b);
      weights.set(name, b);
    }
  }

  // Fold nodes whose inputs are all constants (not parameters, not the input); keep the rest to run per forward.
  const foldCtx: ExecContext = { opset, training: false, batch: 1, maxElements };
  const runtime: GraphNode[] = [];
  for (const node of nodes) {
    const foldable = node.inputs.every((name) => !name || constants.has(name));
    if (!foldable) { runtime.push(node); continue; }
    let outs: (Value | undefined)[];
    try {
      outs = noGrad(() => runNode(node, node.inputs.map((name) => (name ? constants.get(name) : undefined)), foldCtx));
    } catch (e) {
      return failImport(nodeFailure(node, e));
    }
    node.outputs.forEach((name, k) => {
      if (!name) return;
      const v = outs[k];
      if (!v) failImport(`${label(node)}: output ${k} (${quote(name)}) is not supported`);
      constants.set(name, v);
    });
    info.foldedNodes++;
  }
  for (const node of runtime) {
    node.outputs.forEach((name, k) => { if (name && k > 0 && !['MaxPool', 'Dropout', 'BatchNormalization'].includes(node.opType)) failImport(`${label(node)}: a second output (${quote(name)}) is not supported`); });
  }
  module.attachNodes(runtime);

  // Probe: one forward at batch 1 (eval mode, no tape) checks that every node's shapes fit, naming the node if not.
  const wasTraining = module.training;
  module.eval();
  try {
    const probe = new Tensor(new Float32Array(numelOf(sampleShape)).fill(0.5), [1, ...sampleShape]);
    const out = noGrad(() => module.forward(probe));
    info.outputSampleShape = out.shape.slice(1);
  } catch (e) {
    return failImport(describeFailure(e));
  } finally {
    module.train(wasTraining);
  }
  return module;
}

/** A thrown error's message for an import failure (a node's own message already names the node). */
function describeFailure(e: unknown): string {
  if (e instanceof NodeError) return e.message;
  if (e instanceof OnnxImportError) return e.message.replace(/^OnnxModule\([^)]*\): /, '');
  if (e instanceof RangeError) return `the graph needs more memory or recursion than allowed: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** The message of an error thrown while running `node`, prefixed with the node unless it already names it. */
function nodeFailure(node: GraphNode, e: unknown): string {
  if (e instanceof NodeError) return e.message;
  return `${label(node)}: ${describeFailure(e)}`;
}

function parseNormalization(text: string | undefined, failImport: (m: string) => never): { mean: number[]; std: number[] } | null | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { return failImport('metadata convkit.normalization is not JSON'); }
  if (parsed === null) return null;
  const ok = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.length <= 64 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
  if (!isObj(parsed) || !ok(parsed['mean']) || !ok(parsed['std']) || (parsed['std'] as number[]).some((s) => s <= 0)) {
    return failImport('metadata convkit.normalization must be {"mean": [...], "std": [...]} with positive std');
  }
  return { mean: parsed['mean'] as number[], std: parsed['std'] as number[] };
}

function parseClassNames(text: string | undefined, failImport: (m: string) => never): string[] | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { return failImport('metadata convkit.class_names is not JSON'); }
  if (!Array.isArray(parsed) || parsed.length > 100_000 || !parsed.every((c) => typeof c === 'string')) return failImport('metadata convkit.class_names must be a list of strings');
  return parsed as string[];
}
