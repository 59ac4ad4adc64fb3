/** Pooling layers: `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`, `AdaptiveMaxPool2d`. */
import type { Tensor } from '../../tensor/tensor.js';
import { maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d } from '../../ops/index.js';
import { Module, withModuleContext, pyBool } from '../module.js';

type Pair = number | readonly [number, number];
const fmt = (v: Pair | null | undefined): string => (v === null || v === undefined ? 'None' : typeof v === 'number' ? String(v) : `(${v[0]}, ${v[1]})`);

export interface Pool2dLayerOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  /** Implicit padding on both sides (at most half the kernel). Max pooling pads with −∞, average with zeros. */
  padding?: Pair;
  /** Round the output size up instead of down (the last window may hang over the edge). */
  ceilMode?: boolean;
}

/**
 * 2-D max pooling, as `torch.nn.MaxPool2d`.
 *
 * **Shape:** [N, C, H_in, W_in] -> [N, C, H_out, W_out] with
 * H_out = floor((H_in + 2·padding − kernel) / stride) + 1 (ceil instead of floor with ceilMode).
 *
 * ```ts
 * new nn.MaxPool2d(2);   // [N,6,28,28] -> [N,6,14,14]
 * ```
 */
export class MaxPool2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation = 1;
  readonly ceilMode: boolean;
  constructor(readonly kernelSize: Pair, options: Pool2dLayerOptions = {}) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
  }
  override get typeName(): string {
    return 'MaxPool2d';
  }
  forward(x: Tensor): Tensor {
    this.expectInput(x, 4, '[N,C,H,W]');
    return withModuleContext(this, () => maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode }));
  }
  override extraRepr(): string {
    return `kernel_size=${fmt(this.kernelSize)}, stride=${fmt(this.stride)}, padding=${fmt(this.padding)}, dilation=${this.dilation}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/**
 * 2-D average pooling, as `torch.nn.AvgPool2d`.
 *
 * **Shape:** [N, C, H_in, W_in] -> [N, C, H_out, W_out], H_out as for MaxPool2d. With `countIncludePad`
 * (the default) padded zeros count in each window's divisor.
 */
export class AvgPool2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | undefined;
  constructor(readonly kernelSize: Pair, options: Pool2dLayerOptions & { countIncludePad?: boolean; divisorOverride?: number } = {}) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride;
  }
  override get typeName(): string {
    return 'AvgPool2d';
  }
  forward(x: Tensor): Tensor {
    this.expectInput(x, 4, '[N,C,H,W]');
    return withModuleContext(this, () =>
      avgPool2d(x, {
        kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode,
        countIncludePad: this.countIncludePad, ...(this.divisorOverride !== undefined ? { divisorOverride: this.divisorOverride } : {}),
      }),
    );
  }
  override extraRepr(): string {
    return `kernel_size=${fmt(this.kernelSize)}, stride=${fmt(this.stride)}, padding=${fmt(this.padding)}`;
  }
}

type AdaptiveSize = number | readonly [number | null, number | null];
const fmtAdaptive = (v: AdaptiveSize): string => (typeof v === 'number' ? String(v) : `(${fmt(v[0])}, ${fmt(v[1])})`);

/**
 * Adaptive average pooling to a fixed output size whatever the input size (window i covers rows
 * floor(i·H/H_out) to ceil((i+1)·H/H_out)), as `torch.nn.AdaptiveAvgPool2d`. A null entry keeps that size.
 *
 * **Shape:** [N, C, H, W] -> [N, C, H_out, W_out] = outputSize.
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
  }
  override get typeName(): string {
    return 'AdaptiveAvgPool2d';
  }
  forward(x: Tensor): Tensor {
    this.expectInput(x, 4, '[N,C,H,W]');
    return withModuleContext(this, () => adaptiveAvgPool2d(x, this.outputSize));
  }
  override extraRepr(): string {
    return `output_size=${fmtAdaptive(this.outputSize)}`;
  }
}

/**
 * Adaptive max pooling to a fixed output size, as `torch.nn.AdaptiveMaxPool2d`.
 *
 * **Shape:** [N, C, H, W] -> [N, C, H_out, W_out] = outputSize.
 */
export class AdaptiveMaxPool2d extends Module {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
  }
  override get typeName(): string {
    return 'AdaptiveMaxPool2d';
  }
  forward(x: Tensor): Tensor {
    this.expectInput(x, 4, '[N,C,H,W]');
    return withModuleContext(this, () => adaptiveMaxPool2d(x, this.outputSize));
  }
  override extraRepr(): string {
    return `output_size=${fmtAdaptive(this.outputSize)}`;
  }
}
