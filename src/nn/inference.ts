/**
 * `optimizeForInference(model, example)`: a copy of a model for eval-mode inference with every eval-mode
 * BatchNorm2d folded into the Conv2d that feeds it, as PyTorch's `torch.fx` `fuse` / `optimize_for_inference`
 * and onnxruntime's graph optimizer do. Per output channel o, with s = weight[o] / sqrt(running_var[o] + eps)
 * (computed in float64):
 *
 *   conv'.weight[o] = conv.weight[o] · s,   conv'.bias[o] = (conv.bias[o] − running_mean[o]) · s + bn.bias[o]
 *
 * and the BatchNorm becomes an nn.Identity (inside an nn.Sequential it is removed, so a Conv2d, ReLU that it
 * separated fuse as one op). The copy's outputs equal the model's up to float32 rounding of the folded weights
 * (test/zoo/inference-folding.test.ts compares them on every zoo model with batch norm); its state dict has the folded
 * convolutions' `bias` keys and no BatchNorm keys. The model itself is not changed.
 *
 * Which BatchNorm follows which Conv2d is traced, not guessed from names: the copy runs `example` once with the
 * tape on (in eval mode), and a pair is folded only when every call of the BatchNorm2d takes as input a tensor that
 * a call of the same Conv2d returned, that tensor goes to no other op, and the Conv2d's every output goes to that
 * BatchNorm2d (so no code sees the pre-normalisation values, which the fold removes). Anything else (training-mode
 * batch norm, BatchNorm without running statistics, shared modules) is left as it is.
 *
 * Every nn.Linear of the copy then packs its weight once for the backend's GEMM (`Linear.packForInference`, on a
 * backend with `packGemmB`: native), as onnxruntime pre-packs its constant weights, so forwards skip that work (same
 * bits).
 *
 * The copy is for inference only: training it would train the folded parameters, not the original ones.
 */
import { Tensor } from '../tensor/tensor.js';
import { enableGrad } from '../autograd/tape.js';
import { Module, Parameter } from './module.js';
import { Conv2d } from './layers/conv.js';
import { BatchNorm2d } from './layers/normalization.js';
import { Identity, Linear } from './layers/linear.js';
import { Sequential } from './layers/container.js';

/** A structural deep copy: the same classes, fresh typed arrays, shared references kept shared. */
function deepCopy<T>(value: T, seen = new Map<unknown, unknown>()): T {
  if (value === null || typeof value !== 'object') return value;
  const known = seen.get(value);
  if (known !== undefined) return known as T;
  if (ArrayBuffer.isView(value)) {
    const copy = (value as unknown as Float32Array).slice();
    seen.set(value, copy);
    return copy as unknown as T;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const v of value) copy.push(deepCopy(v, seen));
    if (Object.isFrozen(value)) Object.freeze(copy);
    return copy as T;
  }
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [k, v] of value) copy.set(deepCopy(k, seen), deepCopy(v, seen));
    return copy as T;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    for (const v of value) copy.add(deepCopy(v, seen));
    return copy as T;
  }
  const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<PropertyKey, unknown>;
  seen.set(value, copy);
  for (const key of Reflect.ownKeys(value)) {
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    if ('value' in d) d.value = deepCopy(d.value, seen);
    Object.defineProperty(copy, key, d);
  }
  return copy as T;
}

interface Calls { inputs: Tensor[]; outputs: Tensor[] }

/** The Module internals the fold rewrites (private to Module / Sequential, reached here by design). */
interface ModuleInternals { params: Map<string, Parameter | null>; mods: Map<string, Module> }

/** A copy of `model` with eval-mode BatchNorm2d folded into the Conv2d before it; see the file comment. */
export function optimizeForInference<M extends Module>(model: M, example: Tensor): M {
  const copy = deepCopy(model);
  copy.eval();
  const all = [...copy.modules()];
  const convs = all.filter((m): m is Conv2d => m instanceof Conv2d);
  const norms = all.filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  // Trace: every call's input and output of the convolutions and batch norms, and every op's inputs (the tape).
  const calls = new Map<Module, Calls>();
  for (const m of [...convs, ...norms]) {
    const record: Calls = { inputs: [], outputs: [] };
    calls.set(m, record);
    const own = Object.getPrototypeOf(m) as { forward(x: Tensor): Tensor };
    Object.defineProperty(m, 'forward', {
      configurable: true, writable: true,
      value: (x: Tensor): Tensor => { const y = own.forward.call(m, x); record.inputs.push(x); record.outputs.push(y); return y; },
    });
  }
  // a fresh leaf that requires a gradient, so every op downstream of the input records its inputs
  const input = new Tensor(example.data, example.shape);
  input.requiresGrad = true;
  let output: Tensor;
  try {
    output = enableGrad(() => copy.forward(input));
  } finally {
    for (const m of calls.keys()) delete (m as unknown as Record<string, unknown>).forward;
  }
  const uses = new Map<Tensor, number>();
  const stack = [output];
  const visited = new Set<Tensor>();
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (visited.has(t)) continue;
    visited.add(t);
    for (const input of t.gradFn?.inputs ?? []) {
      if (input === null) continue;
      uses.set(input, (uses.get(input) ?? 0) + 1);
      stack.push(input);
    }
  }
  const producer = new Map<Tensor, Conv2d>();
  for (const conv of convs) for (const y of calls.get(conv)!.outputs) producer.set(y, conv);
  const parentOf = new Map<Module, Module[]>();
  for (const p of all) for (const child of (p as unknown as ModuleInternals).mods.values()) parentOf.set(child, [...(parentOf.get(child) ?? []), p]);

  for (const bn of norms) {
    const { inputs } = calls.get(bn)!;
    if (bn.runningMean === null || bn.runningVar === null || inputs.length === 0) continue;
    const conv = producer.get(inputs[0]!);
    if (conv === undefined) continue;
    const convOutputs = calls.get(conv)!.outputs;
    const sameCalls = convOutputs.length === inputs.length && inputs.every((x, i) => x === convOutputs[i] && uses.get(x) === 1);
    if (!sameCalls || parentOf.get(bn)?.length !== 1 || parentOf.get(conv)?.length !== 1) continue;
    fold(conv, bn);
    replaceChild(parentOf.get(bn)![0]!, bn);
  }
  for (const m of copy.modules()) if (m instanceof Linear) m.packForInference();
  return copy;
}

function fold(conv: Conv2d, bn: BatchNorm2d): void {
  const outC = conv.outChannels, per = conv.weight.numel / outC;
  const w = conv.weight.data, mean = bn.runningMean!.data, variance = bn.runningVar!.data;
  const bias = Parameter.zeros([outC]);
  for (let o = 0; o < outC; o++) {
    const s = (bn.weight ? bn.weight.data[o]! : 1) / Math.sqrt(variance[o]! + bn.eps);
    for (let i = o * per; i < (o + 1) * per; i++) w[i] = w[i]! * s;
    bias.data[o] = ((conv.bias ? conv.bias.data[o]! : 0) - mean[o]!) * s + (bn.bias ? bn.bias.data[o]! : 0);
  }
  (conv as { bias: Parameter | null }).bias = bias;
  (conv as unknown as ModuleInternals).params.set('bias', bias);
}

/** Drop `bn` from its parent: removed from a Sequential, an nn.Identity in its place elsewhere. */
function replaceChild(parent: Module, bn: BatchNorm2d): void {
  const mods = (parent as unknown as ModuleInternals).mods;
  const identity = new Identity();
  if (parent instanceof Sequential) {
    const items = (parent as unknown as { items: Module[] }).items;
    items.splice(items.indexOf(bn), 1);
    for (const [name, m] of mods) if (m === bn) mods.delete(name);
    return;
  }
  for (const [name, m] of mods) {
    if (m !== bn) continue;
    mods.set(name, identity);
    Object.assign(identity, { parentModule: parent, nameInParent: name });
  }
  const fields = parent as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (fields[key] === bn) fields[key] = identity;
}
