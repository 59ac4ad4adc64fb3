/**
 * The optimizer base: parameter groups with per-group options, per-parameter state, `zeroGrad()` and a
 * state dict for exact resume. Optimizers update `param.data` in place from `param.grad.data` (no autograd
 * is recorded) and allocate their state buffers once, on a parameter's first step, never per step.
 */
import type { Tensor } from '../tensor/tensor.js';
import { getBackend } from '../backend/registry.js';

/** A trainable tensor as optimizers see it (an `nn.Parameter`, or any tensor with `requiresGrad`). */
export type Param = Tensor;

/** What every parameter group has; each optimizer adds its own options (momentum, betas, ...). */
export interface ParamGroupBase {
  params: Param[];
  lr: number;
  /** The learning rate a scheduler started from (set by the first scheduler attached, as in PyTorch). */
  initialLr?: number;
}

/** A group as given to a constructor: its parameters plus any options overriding the defaults. */
export type ParamGroupSpec<O> = { params: Iterable<Param> } & Partial<O>;

/** Per-parameter state: a step count and/or float32 buffers of the parameter's size. */
export type ParamState = Record<string, number | Float32Array>;

/** A JSON-serialisable option value. */
export type OptionValue = number | boolean | readonly number[];

/**
 * The optimizer's state dict, PyTorch's layout:
 * - `state[i]`: the state of the i-th parameter, counting through the groups in order (PyTorch's ids);
 *   numbers (`step`) and `Float32Array` buffers (`momentumBuffer`, `expAvg`, `expAvgSq`, `maxExpAvgSq`).
 *   The arrays are copies; a checkpoint writer stores each one as a tensor (e.g. in safetensors, named
 *   `state.<i>.<name>`) and the rest as JSON.
 * - `paramGroups[g]`: the group's options (JSON values) and `params`, the indices of its parameters.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Array<Record<string, OptionValue> & { params: number[] }>;
}

export abstract class Optimizer<G extends ParamGroupBase = ParamGroupBase> {
  /** The groups; schedulers change `lr` (and momentum / betas) here between steps. */
  readonly paramGroups: G[] = [];
  /** Options of a group that does not override them. */
  readonly defaults: Readonly<Omit<G, 'params'>>;
  protected readonly state = new Map<Param, ParamState>();

  constructor(params: Iterable<Param> | ReadonlyArray<ParamGroupSpec<Omit<G, 'params'>>>, defaults: Omit<G, 'params'>) {
    this.defaults = defaults;
    const list = [...(params as Iterable<Param | ParamGroupSpec<Omit<G, 'params'>>>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const isGroupSpec = (x: Param | ParamGroupSpec<Omit<G, 'params'>>): x is ParamGroupSpec<Omit<G, 'params'>> =>
      typeof x === 'object' && x !== null && 'params' in x && !('data' in x);
    if (list.every(isGroupSpec)) for (const g of list) this.addParamGroup(g);
    else if (list.some(isGroupSpec)) throw new Error(`${this.constructor.name}: pass either parameters or parameter groups ({ params, ...options }), not a mix`);
    else this.addParamGroup({ params: list as Param[] } as unknown as ParamGroupSpec<Omit<G, 'params'>>);
  }

  /** Add a group (e.g. a new head when fine-tuning); options not given fall back to the defaults. */
  addParamGroup(spec: ParamGroupSpec<Omit<G, 'params'>>): void {
    const params = [...spec.params];
    const seen = new Set<Param>(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears in more than one group (or twice in one)`);
      seen.add(p);
    }
    const group = { ...this.defaults, ...spec, params } as unknown as G;
    this.validateGroup(group);
    this.paramGroups.push(group);
  }

  /** Throw if a group's options are invalid (message names the optimizer and the option). */
  protected validateGroup(group: G): void {
    if (!(group.lr >= 0)) throw new Error(`${this.constructor.name}: invalid learning rate ${group.lr} (must be >= 0)`);
  }

  /** Drop every parameter's gradient (`grad = null`, like PyTorch's `set_to_none=True`). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** Update every parameter that has a gradient, once. */
  abstract step(): void;

  /** The state of a parameter, created with zeroed buffers on first use. */
  protected stateOf(p: Param): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * A state buffer of the parameter's size, allocated once, by the backend (the wasm backend keeps it in its heap,
   * where the update kernels read and write it without copying).
   */
  protected buffer(s: ParamState, name: string, n: number): Float32Array {
    let b = s[name];
    if (!(b instanceof Float32Array)) {
      b = getBackend().allocState(n);
      s[name] = b;
    }
    return b;
  }

  /** See `OptimizerStateDict`. Buffers are copied, so the result is a snapshot. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s !== undefined) {
          const copy: ParamState = {};
          for (const [k, v] of Object.entries(s)) copy[k] = v instanceof Float32Array ? copyOf(v) : v;
          state[index] = copy;
        }
        ids.push(index++);
      }
      const options: Record<string, OptionValue> = {};
      for (const [k, v] of Object.entries(g)) {
        if (k === 'params') continue;
        options[k] = Array.isArray(v) ? [...(v as number[])] : (v as OptionValue);
      }
      paramGroups.push({ ...options, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restore options and state saved by `stateDict()`. The groups must hold the same number of parameters
   * of the same sizes; buffers are copied into this optimizer's own arrays.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') throw new Error(`${name}.loadStateDict: expected { state, paramGroups }`);
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: the state dict has ${sd.paramGroups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Param>();
    sd.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi]!;
      if (saved.params.length !== group.params.length) {
        throw new Error(`${name}.loadStateDict: group ${gi} has ${saved.params.length} parameters in the state dict but ${group.params.length} here`);
      }
      saved.params.forEach((id, j) => byIndex.set(id, group.params[j]!));
    });
    const restored = new Map<Param, ParamState>();
    for (const [key, s] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw new Error(`${name}.loadStateDict: state for parameter ${key}, which no group lists`);
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Float32Array) {
          if (v.length !== p.numel) throw new Error(`${name}.loadStateDict: state ${key}.${k} has ${v.length} values, the parameter has ${p.numel}`);
          const own = getBackend().allocState(v.length);
          own.set(v);
          copy[k] = own;
        } else if (k === 'step') {
          // A step count read from a file: a string or a huge number would turn the bias correction into NaN.
          if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`${name}.loadStateDict: state ${key}.step must be a non-negative integer, got ${JSON.stringify(v)}`);
          copy[k] = v;
        } else {
          throw new Error(`${name}.loadStateDict: state ${key}.${k} must be a tensor of ${p.numel} values, got ${typeof v === 'object' ? 'an object' : JSON.stringify(v)}`);
        }
      }
      restored.set(p, copy);
    }
    // Hyperparameters are checked as a new group's are (a file must not smuggle in betas = 5000000), before any change.
    const groups = sd.paramGroups.map((saved, gi) => {
      const group = { ...(this.paramGroups[gi]! as unknown as Record<string, unknown>) };
      for (const [k, v] of Object.entries(saved)) {
        if (k !== 'params') group[k] = Array.isArray(v) ? [...(v as number[])] : v;
      }
      try {
        this.validateGroup(group as unknown as G);
      } catch (e) {
        throw new Error(`${name}.loadStateDict: group ${gi}: ${(e as Error).message}`);
      }
      return group;
    });
    groups.forEach((group, gi) => Object.assign(this.paramGroups[gi]! as unknown as Record<string, unknown>, group));
    this.state.clear();
    for (const [p, s] of restored) this.state.set(p, s);
  }
}

/** A plain copy (buffers may be views of the wasm heap's shared memory, which `slice()` would keep as that class). */
function copyOf(v: Float32Array): Float32Array {
  const copy = new Float32Array(v.length);
  copy.set(v);
  return copy;
}
