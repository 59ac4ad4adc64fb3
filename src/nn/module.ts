/**
 * `Module`: the base of every layer and model. A module owns parameters (trainable tensors), buffers
 * (state that is saved but not trained, e.g. BatchNorm's running mean) and child modules, all registered
 * explicitly and kept in registration order, which is also PyTorch's order, so state-dict keys match
 * (`features.0.weight`, `layer1.0.bn1.running_mean`).
 *
 * ```ts
 * class Net extends nn.Module {
 *   readonly conv = this.registerModule('conv', new nn.Conv2d(1, 8, 3, { padding: 1 }));
 *   readonly fc = this.registerModule('fc', new nn.Linear(8 * 28 * 28, 10));
 *   forward(x: Tensor): Tensor { return this.fc.forward(F.flatten(F.relu(this.conv.forward(x)), 1)); }
 * }
 * ```
 *
 * A module learns where it sits in the tree when it is registered (its parent and its name there), so a
 * layer can report a bad input as `Conv2d(3->16) in features.0: expected ...`.
 */
import { getBackend } from '../backend/registry.js';
import { Tensor } from '../tensor/tensor.js';
import { formatShape, shapesEqual, type Shape } from '../tensor/shape.js';

/**
 * A trainable tensor: a leaf that requires a gradient. Optimizers and `loadStateDict` update `data` in place (the
 * array a parameter starts with is the one it keeps).
 *
 * Where the data lives: the layers create theirs with `Parameter.zeros`, which takes the array from the active
 * backend's `allocState` (on the wasm backend a block of its heap, so kernels read the weights and the optimizer
 * updates them in place, with no copy per call). `new Parameter(array, shape)` and `Parameter.from(t)` wrap the
 * storage they are given, shared and not copied (as PyTorch's `nn.Parameter(t)` shares `t`'s storage); on wasm,
 * kernels copy such a GC-owned array in and out of the heap at every call. Either kind works on every backend.
 * A heap array is a `Float32Array` subclass (its subarrays must keep the block from being reused), so
 * `assert.deepStrictEqual`, which compares prototypes, sees it differ from a plain array of the same values:
 * compare `p.toFloat32Array()` (a plain copy) instead.
 */
export class Parameter extends Tensor {
  constructor(data: Float32Array, shape: Shape, requiresGrad = true) {
    super(data, shape);
    this.requiresGrad = requiresGrad;
  }

  /** A parameter sharing (not copying) the data of `t`. */
  static from(t: Tensor, requiresGrad = true): Parameter {
    return new Parameter(t.data, t.shape, requiresGrad);
  }

  /**
   * A zero-filled parameter whose data comes from `getBackend().allocState()`: the wasm backend's persistent heap
   * (where kernels use it without copying) or, on the reference backend or past the wasm heap's budget, a plain
   * Float32Array. Layers fill it in place with `nn.init`.
   */
  static zeros(shape: Shape, requiresGrad = true): Parameter {
    return new Parameter(getBackend().allocState(shape.reduce((a, b) => a * b, 1)), shape, requiresGrad);
  }

  override toString(): string {
    return `Parameter(shape=${formatShape(this.shape)}${this.requiresGrad ? '' : ', requiresGrad=false'})`;
  }
}

/** An error raised by a module; its message names the module and its path in the model. */
export class ModuleError extends Error {
  constructor(message: string, readonly modulePath: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModuleError';
  }
}

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shape mismatches are always errors. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** Training mode (dropout active, BatchNorm uses batch statistics). Change it with `train()` / `eval()`. */
  training = true;

  private readonly params = new Map<string, Parameter | null>();
  private readonly bufs = new Map<string, Tensor | null>();
  private readonly nonPersistent = new Set<string>();
  private readonly mods = new Map<string, Module>();
  private parentModule: Module | null = null;
  private nameInParent = '';

  /** Compute the output. Subclasses may take more inputs (e.g. a residual block's skip tensor). */
  abstract forward(input: Tensor, ...more: Tensor[]): Tensor;

  /** The class name used in messages and `toString()` (explicit so minified bundles still say `Conv2d`). */
  get typeName(): string {
    return this.constructor.name;
  }

  /** A short description for error messages, e.g. `Conv2d(3->16)`; layers override it. */
  describe(): string {
    return this.typeName;
  }

  /** Dotted path from the root module (`features.0`), or '' for the root itself. */
  get path(): string {
    const names: string[] = [];
    for (let m: Module | null = this; m !== null && m.parentModule !== null; m = m.parentModule) names.push(m.nameInParent);
    return names.reverse().join('.');
  }

  /** `describe()` plus where the module sits, e.g. `Conv2d(3->16) in features.0`. */
  where(): string {
    const p = this.path;
    return p ? `${this.describe()} in ${p}` : this.describe();
  }

  /** Throw a `ModuleError` prefixed with `where()`. */
  protected fail(message: string): never {
    throw new ModuleError(`${this.where()}: ${message}`, this.path);
  }

  /** Check an input's rank and, optionally, its channel dimension (dim 1); throws naming this layer. */
  protected expectInput(x: Tensor, rank: number, layout: string, channels?: number): void {
    if (x.ndim !== rank || (channels !== undefined && x.shape[1] !== channels)) {
      const unit = rank === 2 ? 'feature' : 'channel';
      const what = channels !== undefined ? `input with ${channels} ${unit}${channels === 1 ? '' : 's'} ${layout}` : `a ${rank}-D input ${layout}`;
      this.fail(`expected ${what}, got ${formatShape(x.shape)}`);
    }
  }

  // ---- registration

  /** Register a child module under `name`; returns it so `this.conv = this.registerModule('conv', ...)` reads well. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name, 'module');
    if (module.parentModule !== null && module.parentModule !== this) {
      // Shared modules are allowed (same weights in two places); the first registration gives the path.
    } else {
      module.parentModule = this;
      module.nameInParent = name;
    }
    this.mods.set(name, module);
    return module;
  }

  /** Register a parameter (or an absent one, e.g. `bias: null`) under `name`; returns it. */
  protected registerParameter<P extends Parameter | null>(name: string, param: P): P {
    this.checkName(name, 'parameter');
    if (param !== null && !(param instanceof Parameter)) throw new Error(`${this.describe()}.registerParameter('${name}'): expected a Parameter`);
    this.params.set(name, param);
    return param;
  }

  /**
   * Register a buffer (saved in the state dict unless `persistent` is false, never trained); returns it.
   * Buffers are updated in place (e.g. BatchNorm's running statistics).
   */
  protected registerBuffer<T extends Tensor | null>(name: string, buffer: T, persistent = true): T {
    this.checkName(name, 'buffer');
    this.bufs.set(name, buffer);
    if (!persistent) this.nonPersistent.add(name);
    else this.nonPersistent.delete(name);
    return buffer;
  }

  private checkName(name: string, kind: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${this.describe()}: ${kind} name '${name}' must be non-empty and contain no '.'`);
    const taken = (this.params.has(name) && kind !== 'parameter') || (this.bufs.has(name) && kind !== 'buffer') || (this.mods.has(name) && kind !== 'module');
    if (taken) throw new Error(`${this.describe()}: name '${name}' is already used by another parameter, buffer or module`);
  }

  // ---- traversal

  /** Direct children in registration order. */
  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this.mods.entries();
  }
  *children(): IterableIterator<Module> {
    yield* this.mods.values();
  }

  /** This module and every descendant, each once, with dotted names ('' for this module). */
  *namedModules(prefix = '', seen: Set<Module> = new Set()): IterableIterator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.mods) yield* child.namedModules(prefix ? `${prefix}.${name}` : name, seen);
  }
  *modules(): IterableIterator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Every parameter with its dotted name (own parameters first, then children's), each tensor once. */
  *namedParameters(prefix = '', recurse = true): IterableIterator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [modName, m] of mods) {
      for (const [name, p] of m.params) {
        if (p === null || seen.has(p)) continue;
        seen.add(p);
        yield [modName ? `${modName}.${name}` : name, p];
      }
    }
  }
  /** Every parameter, in `namedParameters()` order: pass this to an optimizer. */
  parameters(recurse = true): Parameter[] {
    return [...this.namedParameters('', recurse)].map(([, p]) => p);
  }

  /** Every buffer with its dotted name. */
  *namedBuffers(prefix = '', recurse = true): IterableIterator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [modName, m] of mods) {
      for (const [name, b] of m.bufs) {
        if (b === null || seen.has(b)) continue;
        seen.add(b);
        yield [modName ? `${modName}.${name}` : name, b];
      }
    }
  }
  buffers(recurse = true): Tensor[] {
    return [...this.namedBuffers('', recurse)].map(([, b]) => b);
  }

  /** The descendant at a dotted path (`'features.0'`), or throws listing the children that do exist. */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    let m: Module = this;
    for (const part of target.split('.')) {
      const next = m.mods.get(part);
      if (!next) throw new Error(`${m.where()} has no submodule '${part}' (children: ${[...m.mods.keys()].join(', ') || 'none'})`);
      m = next;
    }
    return m;
  }

  /** Total number of parameter elements (only trainable ones when `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.numel;
    return n;
  }

  // ---- modes and gradients

  /** Set training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Evaluation mode (`train(false)`); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Drop every parameter's gradient (sets `.grad = null`, like PyTorch's `set_to_none=True`). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Call `fn` on every descendant (children first) and then on this module, like PyTorch's `apply`. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.mods.values()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- state dict

  /**
   * Parameters and persistent buffers by dotted key, in PyTorch's order (per module: parameters, then
   * buffers; parent before children). Values are the live tensors, not copies: clone to snapshot.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const visit = (m: Module, prefix: string): void => {
      for (const [name, p] of m.params) if (p !== null) out[prefix + name] = p;
      for (const [name, b] of m.bufs) if (b !== null && !m.nonPersistent.has(name)) out[prefix + name] = b;
      for (const [name, child] of m.mods) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copy values from `stateDict` into this module's parameters and buffers (in place). Shape mismatches
   * are always errors; with `strict` (the default) missing and unexpected keys are too. Every problem is
   * listed in one error, e.g.
   * `loadStateDict(LeNet5): 1 mis-shaped key: features.0.weight expected [6, 1, 5, 5], got [6, 3, 5, 5]; 1 missing key: ...`.
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missingKeys: string[] = [];
    const mismatched: string[] = [];
    for (const [key, target] of Object.entries(own)) {
      const src = stateDict[key];
      if (src === undefined) missingKeys.push(key);
      else if (!shapesEqual(src.shape, target.shape)) mismatched.push(`${key} expected ${formatShape(target.shape)}, got ${formatShape(src.shape)}`);
    }
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !(k in own));
    const problems: string[] = [];
    const list = (n: number, what: string, items: string[]): string => `${n} ${what}${n === 1 ? '' : 's'}: ${items.join(', ')}`;
    if (mismatched.length) problems.push(list(mismatched.length, 'mis-shaped key', mismatched));
    if (strict && missingKeys.length) problems.push(list(missingKeys.length, 'missing key', missingKeys));
    if (strict && unexpectedKeys.length) problems.push(list(unexpectedKeys.length, 'unexpected key', unexpectedKeys));
    if (problems.length) throw new ModuleError(`loadStateDict(${this.where()}): ${problems.join('; ')}`, this.path);
    for (const [key, target] of Object.entries(own)) {
      const src = stateDict[key];
      if (src !== undefined && src !== target) target.data.set(src.data);
    }
    for (const m of this.modules()) m.parametersLoaded();
    return { missingKeys, unexpectedKeys };
  }

  /** Called on every module of the tree after loadStateDict wrote the parameters (nn.Linear drops its inference pack). */
  protected parametersLoaded(): void {}

  // ---- printing

  /** Extra text inside the parentheses of `toString()`, e.g. `1, 6, kernel_size=(5, 5)`. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's print style: `Sequential(\n  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n)`. */
  toString(): string {
    const extra = this.extraRepr();
    const lines: string[] = extra ? extra.split('\n') : [];
    for (const [name, child] of this.mods) lines.push(`(${name}): ${indent(child.toString())}`);
    if (lines.length === 0) return `${this.typeName}()`;
    if (this.mods.size === 0 && lines.length === 1) return `${this.typeName}(${lines[0]})`;
    return `${this.typeName}(\n${lines.map((l) => '  ' + l).join('\n')}\n)`;
  }
}

function indent(text: string): string {
  return text.split('\n').join('\n  ');
}

/**
 * Run `fn` (a child's forward) and, if it throws an error that does not yet name a module, re-throw it
 * prefixed with the child's description and path, so an op error deep in a model still says where it happened.
 */
export function withModuleContext<T>(module: Module, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ModuleError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new ModuleError(`${module.where()}: ${message}`, module.path, { cause: e });
  }
}

/** Format a number like Python's `repr(float)` (`1e-05`, `0.1`, `1.0`), for PyTorch-style printing. */
export function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [mant, exp] = x.toExponential().split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  return String(x);
}

/** Format a pair like Python's tuple repr: `(5, 5)`. */
export function pyPair(p: readonly [number, number]): string {
  return `(${p[0]}, ${p[1]})`;
}

/** Format a boolean like Python: `True` / `False`. */
export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}
