/**
 * Which algorithm the wasm backend uses for a convolution: the im2col + packed GEMM kernels (asm/conv.ts) or
 * Winograd, which pays an input and an output transform per tile (cheap per multiply only when channels are many)
 * to do fewer multiplies: F(4x4,3x3) (asm/winograd4.ts) 36 per 4x4 output tile and input channel instead of 144,
 * F(2x2,3x3) (asm/winograd.ts) 16 per 2x2 tile instead of 36.
 */
import type { Conv2dGeometry } from '../backend.js';

/**
 * 'winograd' is F(2x2,3x3) for the forward pass and the input gradient and F(3x3,2x2) for the weight gradient;
 * 'winograd4x4' is F(4x4,3x3) for the forward pass and the input gradient (asm/winograd4.ts) and F(3x3,2x2) for the
 * weight gradient.
 */
export const CONV_ALGORITHMS = ['gemm', 'winograd', 'winograd4x4'] as const;
export type ConvAlgorithm = (typeof CONV_ALGORITHMS)[number];
/**
 * The forward pass; the input gradient (the same 3x3 convolution of the output gradient with the channels swapped,
 * rotated filters and padding 2 - pad); the weight gradient (Winograd F(3x3,2x2) over the same 2x2 output tiles).
 */
export type ConvPass = 'forward' | 'inputGradient' | 'weightGradient';

/**
 * Input and output channels from which Winograd is faster than the GEMM path for the forward pass and the input
 * gradient (both have the same pair), and for the weight gradient, whose f64 partial sums and two transforms per
 * tile cost more. Measured per layer with bench/winograd-layers.ts (1 thread, batch 32): forward and input gradient
 * win 1.3-2x from 4 channels up with F(2x2,3x3) (3 input channels lose); the weight gradient ties at 8-12 and wins
 * 1.5-2x from 16. F(4x4,3x3) is faster than F(2x2,3x3) on every layer measured from 4 channels (2026-11-25: 1.2x at
 * 4->4 32x32, 1.33x on resnet20's 16->16 32x32 and 32->32 16x16, 1.1-1.2x on its 64->64 8x8, 1.15-1.4x on
 * vggsmall's layers), so it takes the forward pass and input gradient wherever Winograd does. Its rounding error
 * is larger (about 2e-6 of the largest output on 64 channels against 6e-7; see asm/winograd4.ts).
 */
export const WINOGRAD_MIN_CHANNELS = 4;
export const WINOGRAD_WEIGHT_GRAD_MIN_CHANNELS = 16;

/** True for the convolutions asm/winograd.ts and asm/winograd4.ts compute: 3x3, stride 1, dilation 1, one group, padding 0..2. */
export function winogradEligible(g: Conv2dGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1 &&
    g.groups === 1 && g.padH >= 0 && g.padH <= 2 && g.padW >= 0 && g.padW <= 2 && g.outH > 0 && g.outW > 0 && g.h > 0 && g.w > 0;
}

/**
 * The algorithm for one pass of a convolution with geometry g (always the forward geometry).
 * @example convAlgorithm({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1,
 *   dilationH: 1, dilationW: 1, groups: 1, outH: 28, outW: 28 }, 'weightGradient') // 'winograd'
 */
export function convAlgorithm(g: Conv2dGeometry, pass: ConvPass = 'forward'): ConvAlgorithm {
  if (!winogradEligible(g)) return 'gemm';
  const minChannels = pass === 'weightGradient' ? WINOGRAD_WEIGHT_GRAD_MIN_CHANNELS : WINOGRAD_MIN_CHANNELS;
  if (Math.min(g.cIn, g.cOut) < minChannels) return 'gemm';
  return pass === 'weightGradient' ? 'winograd' : 'winograd4x4';
}

/** Geometry of the input gradient as a forward convolution: gy (N,O,OH,OW) -> gx (N,C,H,W), padding 2 - pad. */
export function backwardInputAsForward(g: Conv2dGeometry): Conv2dGeometry {
  return {
    n: g.n, cIn: g.cOut, h: g.outH, w: g.outW, cOut: g.cIn, kh: 3, kw: 3, strideH: 1, strideW: 1,
    padH: 2 - g.padH, padW: 2 - g.padW, dilationH: 1, dilationW: 1, groups: 1, outH: g.h, outW: g.w,
  };
}
