/**
 * Which algorithm the wasm backend uses for a convolution: the im2col + packed GEMM kernels (asm/conv.ts) or
 * Winograd F(2x2,3x3) (asm/winograd.ts), which does 16 multiplies per 2x2 output tile and input channel instead
 * of 36 but pays an input and an output transform per tile (cheap per multiply only when channels are many).
 */
import type { Conv2dGeometry } from '../backend.js';

export type ConvAlgorithm = 'gemm' | 'winograd';

/**
 * Input and output channels from which Winograd is faster than the GEMM path (both directions of a layer have the
 * same pair). Measured with bench/winograd-layers.ts on the layers of vggsmall and resnet20, 1 thread.
 */
export const WINOGRAD_MIN_CHANNELS = 4;

/** True for the convolutions asm/winograd.ts computes: 3x3, stride 1, dilation 1, one group, padding 0..2. */
export function winogradEligible(g: Conv2dGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1 &&
    g.groups === 1 && g.padH >= 0 && g.padH <= 2 && g.padW >= 0 && g.padW <= 2 && g.outH > 0 && g.outW > 0 && g.h > 0 && g.w > 0;
}

/**
 * The algorithm for a convolution's forward pass and its input gradient (the same 3x3 convolution of the output
 * gradient with channels swapped and padding 2 - pad >= 0, which winogradEligible's padding bound ensures).
 * @example convAlgorithm({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1,
 *   dilationH: 1, dilationW: 1, groups: 1, outH: 28, outW: 28 }) // 'winograd'
 */
export function convAlgorithm(g: Conv2dGeometry): ConvAlgorithm {
  if (!winogradEligible(g)) return 'gemm';
  return Math.min(g.cIn, g.cOut) >= WINOGRAD_MIN_CHANNELS ? 'winograd' : 'gemm';
}

/** Geometry of the input gradient as a forward convolution: gy (N,O,OH,OW) -> gx (N,C,H,W), padding 2 - pad. */
export function backwardInputAsForward(g: Conv2dGeometry): Conv2dGeometry {
  return {
    n: g.n, cIn: g.cOut, h: g.outH, w: g.outW, cOut: g.cIn, kh: 3, kw: 3, strideH: 1, strideW: 1,
    padH: 2 - g.padH, padW: 2 - g.padW, dilationH: 1, dilationW: 1, groups: 1, outH: g.h, outW: g.w,
  };
}
