/**
 * Learning-rate schedules, step for step the same numbers as `torch.optim.lr_scheduler` (PyTorch's
 * chainable form, computed in float64 like Python). Call `scheduler.step()` after `optimizer.step()`.
 *
 * ```ts
 * const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
 * const sched = new optim.SequentialLR(opt, [new optim.LinearLR(opt, { startFactor: 0.1, totalIters: 5 }),
 *                                            new optim.CosineAnnealingLR(opt, { tMax: 95 })], [5]);
 * for (let epoch = 0; epoch < 100; epoch++) { trainOneEpoch(); sched.step(); }
 * ```
 *
 * A state dict is plain JSON (numbers and arrays), so it goes into a checkpoint's JSON as is.
 */
import type { Optimizer, ParamGroupBase } from './optimizer.js';

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type SchedulerStateDict = { [key: string]: JsonValue };

/** Python's `%` (the result has the sign of the divisor). */
function pyMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Python's `bisect_right`: the index after the last element <= x in a sorted array. */
function bisectRight(sorted: readonly number[], x: number): number {
  let i = 0;
  while (i < sorted.length && sorted[i]! <= x) i++;
  return i;
}

export abstract class LRScheduler {
  /** Number of `step()` calls so far minus one (PyTorch's name: the constructor's step makes it 0). */
  lastEpoch: number;
  /** Each group's starting learning rate (`initialLr`). */
  baseLrs: number[];
  protected lastLr: number[] = [];
  protected stepCount = 0;

  /**
   * Subclasses set their fields and then call `this.initialStep()` at the end of their constructor
   * (TypeScript initialises subclass fields after `super()`, so the base cannot step for them).
   */
  constructor(readonly optimizer: Optimizer<ParamGroupBase>, lastEpoch = -1) {
    const groups = optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) g.initialLr ??= g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) throw new Error(`${this.constructor.name}: resuming (lastEpoch ${lastEpoch}) needs initialLr in param group ${i}`);
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** Reset the step count and take the constructor's step (used by subclasses and SequentialLR; not for users). */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The learning rates for the new `lastEpoch`, from the current ones (chainable form). */
  protected abstract getLr(): number[];
  /** The learning rates at `lastEpoch` from scratch, used by `step(epoch)`; null when there is none. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** Advance one step (or jump to `epoch`, using the closed form where there is one) and set each group's lr. */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = values[i]!; });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of each group as last set by this scheduler. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Fields that are not state (the optimizer; SequentialLR's child schedulers, saved separately). */
  protected nonStateKeys(): string[] {
    return ['optimizer'];
  }

  /** Every field except the optimizer, as JSON (like PyTorch's `__dict__` minus the optimizer). */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    const skip = this.nonStateKeys();
    for (const [k, v] of Object.entries(this)) {
      if (skip.includes(k) || typeof v === 'function') continue;
      out[k] = JSON.parse(JSON.stringify(v)) as JsonValue;
    }
    return out;
  }

  /** Restore fields saved by `stateDict()` (the optimizer's own state dict restores the groups' lr). */
  loadStateDict(sd: SchedulerStateDict): void {
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(sd)) {
      if (!(k in self)) throw new Error(`${this.constructor.name}.loadStateDict: unknown field '${k}'`);
      self[k] = JSON.parse(JSON.stringify(v)) as unknown;
    }
  }
}

/** Multiply the lr by `gamma` every `stepSize` steps. lr_t = base * gamma^floor(t / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<ParamGroupBase>, options: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    if (!(Number.isInteger(options.stepSize) && options.stepSize > 0)) throw new Error(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`);
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.currentLrs();
    return this.currentLrs().map((lr) => lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Multiply the lr by `gamma` at each milestone (a milestone listed twice multiplies twice). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: Optimizer<ParamGroupBase>, options: { milestones: readonly number[]; gamma?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    this.milestones = [...options.milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }
  protected getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.currentLrs();
    return this.currentLrs().map((lr) => lr * this.gamma ** count);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** bisectRight(this.milestones, this.lastEpoch));
  }
}

/**
 * Cosine annealing from the base lr to `etaMin` over `tMax` steps (then back up, periodically, as PyTorch):
 * lr_t = etaMin + (base - etaMin) * (1 + cos(pi * t / tMax)) / 2.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer<ParamGroupBase>, options: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    if (!(options.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be > 0, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }
  protected getLr(): number[] {
    const { lastEpoch: t, tMax, etaMin } = this;
    const groups = this.currentLrs();
    if (t === 0) return groups;
    if (this.stepCount === 1 && t > 0) return this.baseLrs.map((b) => etaMin + (b - etaMin) * (1 + Math.cos((t * Math.PI) / tMax)) / 2);
    if (pyMod(t - 1 - tMax, 2 * tMax) === 0) return groups.map((lr, i) => lr + (this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2);
    return groups.map((lr) => (1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax)) * (lr - etaMin) + etaMin);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax)) / 2);
  }
}

/**
 * Linear change of a multiplicative factor from `startFactor` (default 1/3) to `endFactor` (default 1) over
 * `totalIters` steps (default 5): the usual linear warm-up.
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: Optimizer<ParamGroupBase>, options: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {}) {
    super(optimizer, options.lastEpoch);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    this.initialStep();
  }
  protected getLr(): number[] {
    const { lastEpoch: t, startFactor: s, endFactor: e, totalIters: n } = this;
    if (t === 0) return this.currentLrs().map((lr) => lr * s);
    if (t > n) return this.currentLrs();
    return this.currentLrs().map((lr) => lr * (1 + (e - s) / (n * s + (t - 1) * (e - s))));
  }
  protected override closedFormLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((e - s) * Math.min(n, this.lastEpoch)) / n));
  }
}

/**
 * Run schedulers one after another: `schedulers[i]` from `milestones[i-1]` on (a scheduler that takes over
 * starts from its own step 0). The classic use is a linear warm-up followed by cosine annealing.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];
  constructor(optimizer: Optimizer<ParamGroupBase>, schedulers: LRScheduler[], milestones: readonly number[], lastEpoch = -1) {
    super(optimizer, -1);
    if (schedulers.length === 0) throw new Error('SequentialLR: needs at least one scheduler');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR: scheduler ${i} belongs to a different optimizer`);
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new Error(`SequentialLR: expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${milestones.length}`);
    }
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    this.lastEpoch = lastEpoch + 1;
    // Reset the learning rates and undo the constructor step each scheduler already made; then let the first one start.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0]!.initialStep();
    this.lastLr = schedulers[0]!.getLastLr();
  }
  protected getLr(): number[] {
    return this.currentLrs();
  }
  override step(): void {
    this.lastEpoch++;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const s = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }
  protected override nonStateKeys(): string[] {
    return ['optimizer', 'schedulers'];
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }
  override loadStateDict(sd: SchedulerStateDict): void {
    const { schedulers, ...rest } = sd;
    super.loadStateDict(rest);
    if (!Array.isArray(schedulers) || schedulers.length !== this.schedulers.length) {
      throw new Error(`SequentialLR.loadStateDict: expected ${this.schedulers.length} scheduler states`);
    }
    schedulers.forEach((s, i) => this.schedulers[i]!.loadStateDict(s as SchedulerStateDict));
  }
}

export interface OneCycleOptions {
  /** Peak learning rate (one value, or one per group). */
  maxLr: number | readonly number[];
  /** Total number of steps; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD) or beta1 (Adam) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, then down to minLr) instead of two (default false). */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: 'initialLrs' | 'maxLrs' | 'minLrs';
  endLr: 'initialLrs' | 'maxLrs' | 'minLrs';
  startMomentum: 'maxMomentums' | 'baseMomentums';
  endMomentum: 'maxMomentums' | 'baseMomentums';
}

/**
 * The 1cycle policy (Smith & Topin, 2018), as `torch.optim.lr_scheduler.OneCycleLR`: the lr rises from
 * maxLr/divFactor to maxLr over the first pctStart of the steps, then anneals to initialLr/finalDivFactor,
 * while momentum (or Adam's beta1) moves the opposite way between maxMomentum and baseMomentum.
 * Step it after every batch; stepping past `totalSteps` is an error.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;
  readonly phases: Phase[];
  initialLrs: number[];
  maxLrs: number[];
  minLrs: number[];
  maxMomentums: number[];
  baseMomentums: number[];

  constructor(optimizer: Optimizer<ParamGroupBase>, options: OneCycleOptions) {
    const groups = optimizer.paramGroups;
    const perGroup = (name: string, v: number | readonly number[]): number[] => {
      if (typeof v === 'number') return groups.map(() => v);
      if (v.length !== groups.length) throw new Error(`OneCycleLR: expected ${groups.length} values for ${name}, got ${v.length}`);
      return [...v];
    };
    let totalSteps: number;
    if (options.totalSteps !== undefined) {
      if (!(Number.isInteger(options.totalSteps) && options.totalSteps > 0)) throw new Error(`OneCycleLR: totalSteps must be a positive integer, got ${options.totalSteps}`);
      totalSteps = options.totalSteps;
    } else if (options.epochs !== undefined && options.stepsPerEpoch !== undefined) {
      if (!(Number.isInteger(options.epochs) && options.epochs > 0)) throw new Error(`OneCycleLR: epochs must be a positive integer, got ${options.epochs}`);
      if (!(Number.isInteger(options.stepsPerEpoch) && options.stepsPerEpoch > 0)) throw new Error(`OneCycleLR: stepsPerEpoch must be a positive integer, got ${options.stepsPerEpoch}`);
      totalSteps = options.epochs * options.stepsPerEpoch;
    } else {
      throw new Error('OneCycleLR: give totalSteps, or epochs and stepsPerEpoch');
    }
    const pctStart = options.pctStart ?? 0.3;
    if (!(pctStart >= 0 && pctStart <= 1)) throw new Error(`OneCycleLR: pctStart must be in [0, 1], got ${pctStart}`);
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    const lastEpoch = options.lastEpoch ?? -1;
    const maxLrs = perGroup('maxLr', options.maxLr);
    const initialLrs = maxLrs.map((m) => m / divFactor);
    if (lastEpoch === -1) groups.forEach((g, i) => { g.initialLr = initialLrs[i]!; });
    const cycleMomentum = options.cycleMomentum ?? true;
    const defaults = optimizer.defaults as unknown as Record<string, unknown>;
    const useBeta1 = 'betas' in defaults;
    let maxMomentums: number[] = [];
    let baseMomentums: number[] = [];
    if (cycleMomentum) {
      if (!('momentum' in defaults) && !useBeta1) throw new Error('OneCycleLR: cycleMomentum needs an optimizer with momentum (SGD) or betas (Adam)');
      maxMomentums = perGroup('maxMomentum', options.maxMomentum ?? 0.95);
      baseMomentums = perGroup('baseMomentum', options.baseMomentum ?? 0.85);
      if (lastEpoch === -1) groups.forEach((g, i) => setMomentum(g, useBeta1, maxMomentums[i]!));
    }
    super(optimizer, lastEpoch);
    this.totalSteps = totalSteps;
    this.annealStrategy = options.annealStrategy ?? 'cos';
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.initialLrs = initialLrs;
    this.maxLrs = maxLrs;
    this.minLrs = initialLrs.map((l) => l / finalDivFactor);
    this.maxMomentums = maxMomentums;
    this.baseMomentums = baseMomentums;
    this.phases = options.threePhase
      ? [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLrs', endLr: 'maxLrs', startMomentum: 'maxMomentums', endMomentum: 'baseMomentums' },
          { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLrs', endLr: 'initialLrs', startMomentum: 'baseMomentums', endMomentum: 'maxMomentums' },
          { endStep: totalSteps - 1, startLr: 'initialLrs', endLr: 'minLrs', startMomentum: 'maxMomentums', endMomentum: 'maxMomentums' },
        ]
      : [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLrs', endLr: 'maxLrs', startMomentum: 'maxMomentums', endMomentum: 'baseMomentums' },
          { endStep: totalSteps - 1, startLr: 'maxLrs', endLr: 'minLrs', startMomentum: 'baseMomentums', endMomentum: 'maxMomentums' },
        ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) throw new Error(`OneCycleLR: tried to step ${stepNum + 1} times; the schedule has totalSteps = ${this.totalSteps}`);
    return this.optimizer.paramGroups.map((g, gi) => {
      let startStep = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i]!;
        if (stepNum <= phase.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          const lr = this.anneal(this[phase.startLr][gi]!, this[phase.endLr][gi]!, pct);
          if (this.cycleMomentum) setMomentum(g, this.useBeta1, this.anneal(this[phase.startMomentum][gi]!, this[phase.endMomentum][gi]!, pct));
          return lr;
        }
        startStep = phase.endStep;
      }
      throw new Error('OneCycleLR: unreachable');
    });
  }
}

function setMomentum(group: ParamGroupBase, useBeta1: boolean, value: number): void {
  const g = group as ParamGroupBase & { momentum?: number; betas?: readonly [number, number] };
  if (useBeta1) g.betas = [value, g.betas![1]];
  else g.momentum = value;
}
