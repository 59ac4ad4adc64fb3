/**
 * Which algorithm the wasm backend uses for a convolution: the im2col + packed GEMM kernels (asm/conv.ts),
 * Winograd, which pays an input and an output transform per tile (cheap per multiply only when channels are many)
 * to do fewer multiplies: F(4x4,3x3) (asm/winograd4.ts) 36 per 4x4 output tile and input channel instead of 144,
 * F(2x2,3x3) (asm/winograd.ts) 16 per 2x2 tile instead of 36 (convAlgorithm), or, where Winograd does not apply,
 * direct kernels on a zero-padded copy of the input (asm/direct.ts) for small reductions (directConvAlgorithms).
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

/** Direct kernels (asm/direct.ts) or im2col + GEMM (asm/conv.ts), for a convolution Winograd does not take. */
export type DirectOrGemm = 'direct' | 'gemm';

/** The algorithm of each pass of a convolution with geometry g on the wasm backend, where Winograd does not apply. */
export interface DirectConvAlgorithms {
  forward: DirectOrGemm;
  backwardInput: DirectOrGemm;
  backwardWeight: DirectOrGemm;
}

/**
 * For a convolution Winograd does not take (convAlgorithm is asked first): direct kernels or the GEMM path per
 * pass, from the geometry alone (never from the thread count, so 1 and N threads run the same kernels and give the
 * same bits). The direct kernels win where the reduction r = C/g*KH*KW is small, so im2col's copy is most of the
 * GEMM path's work (1.2-6x at r <= 32), and lose from r = 576 (0.62-0.93x):
 * - forward: r <= 32, or r <= 150, or r <= 288 on output rows of 16 px or more;
 * - weight gradient: 4 <= r <= 32, or r <= 150 on rows of 8 px or more, or r <= 288 on rows of 28 px (a multiple of 4);
 * - input gradient (t = O/g*KH*KW taps): depthwise with t <= 150, or stride 1 with whole 4-channel blocks (C/g a
 *   multiple of 4) on input rows of 28 px or more and t <= 288.
 * Past r = 32 (and for every input gradient) the padded copy must also fit a 1 MiB per-thread scratch. The per-layer
 * measurements behind each bound: README.md in this folder, "Direct or GEMM".
 * A first layer's input gradient is never computed (autograd skips it).
 */
export function directConvAlgorithms(g: Conv2dGeometry): DirectConvAlgorithms {
  const cg = g.cIn / g.groups, og = g.cOut / g.groups, reduction = cg * g.kh * g.kw;
  const pointwise = g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 && g.padW === 0;
  const depthwise = g.groups > 1 && cg === 1;
  // asm/direct.ts's layout of the padded input: cg planes of rows x (strideW phases of phaseLen floats).
  const phaseLen = Math.ceil((Math.ceil(g.outW / 16) * 16 + Math.floor((g.kw - 1) * g.dilationW / g.strideW)) / 4) * 4;
  const planeBytes = cg * ((g.outH - 1) * g.strideH + (g.kh - 1) * g.dilationH + 1) * g.strideW * phaseLen * 4;
  const fits = planeBytes <= 1 << 20;
  // The GEMM path reads an ungrouped pointwise conv in place (no im2col): leave it there.
  const eligible = !pointwise || g.groups > 1;
  const forward = eligible && (reduction <= 32 || (fits && (reduction <= 150 || (reduction <= 288 && g.outW >= 16))));
  // The direct weight gradient tiles 4 taps at a time, so it needs r >= 4.
  const backwardWeight = eligible && reduction >= 4 &&
    (reduction <= 32 || (fits && g.outW >= 8 && (reduction <= 150 || (reduction <= 288 && g.outW >= 28 && g.outW % 4 === 0))));
  // The input gradient as a stride-1 direct convolution of gy spread onto the input grid (og*KH*KW taps).
  const spreadPhaseLen = Math.ceil((Math.ceil(g.w / 16) * 16 + (g.kw - 1) * g.dilationW) / 4) * 4;
  const spreadBytes = og * (g.h + (g.kh - 1) * g.dilationH) * spreadPhaseLen * 4;
  const taps = og * g.kh * g.kw;
  const backwardInput = spreadBytes <= 1 << 20 && ((depthwise && taps <= 150) ||
    (g.strideH === 1 && g.strideW === 1 && cg % 4 === 0 && g.w >= 28 && taps <= 288));
  return {
    forward: forward ? 'direct' : 'gemm',
    backwardWeight: backwardWeight ? 'direct' : 'gemm',
    backwardInput: backwardInput ? 'direct' : 'gemm',
  };
}
