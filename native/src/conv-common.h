// Helpers shared by one ISA level's convolution kernels (native/src/isa/conv.cc, locally.cc, winograd.cc, ...).
#pragma once
#include <cstring>
#include "kernels.h"

namespace CK_ISA_NS {

// Reduction length of one group: C/g * KH * KW.
inline int convReduction(const ConvGeom& g) { return g.cIn / g.groups * g.kh * g.kw; }
// A 1x1, stride-1, unpadded convolution reads its input planes as the im2col matrix itself.
inline bool convPointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.strideH == 1 && g.strideW == 1 && g.padH == 0 && g.padW == 0;
}

// x planes (cg, H, W) -> col (cg*KH*KW, OH*OW), zero outside the input.
void im2col(const float* x, int cg, const ConvGeom& g, float* col);
// col (cg*KH*KW, OH*OW) added into gx planes (cg, H, W), in a fixed order.
void col2imAdd(const float* col, int cg, const ConvGeom& g, float* gx);

// Winograd F(4x4,3x3) (winograd.cc): 3x3, stride 1, dilation 1, one group, padding 0..2.
bool winogradEligible(const ConvGeom& g);
// conv2d for an eligible g (w is (O, C, 3, 3)).
void winogradForward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out);
// conv2dBackwardInput for an eligible g.
void winogradBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx);
// conv2dBackwardWeight for an eligible g, F(3x3,2x2); exact for finite inputs only (the caller checks).
void winogradWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw);

// Direct weight gradient (direct.cc): stride 1, one group, not pointwise, rows at least half a vector wide. Exact
// for finite inputs only (the caller checks).
bool directWeightGradEligible(const ConvGeom& g);
void directWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw);

// Direct forward (direct.cc): stride 1, one group, not pointwise, reduction C*KH*KW in [16, 160], rows at least
// half a vector wide.
bool directForwardEligible(const ConvGeom& g);
void directForward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out);

// 2x2 stride-2 floor-mode max pooling of one plane (h, w) -> (h/2, w/2): NaN wins and stays, the first of equal
// values is kept (src/backend/reference/index.ts maxPool2d).
inline void maxPool2x2Plane(const float* src, int h, int w, float* dst) {
  int oh = h / 2, ow = w / 2;
  for (int oy = 0; oy < oh; oy++) {
    const float* r0 = src + (long)(2 * oy) * w;
    const float* r1 = r0 + w;
    for (int ox = 0; ox < ow; ox++) {
      float c[4] = {r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
      float best = c[0];
      for (int i = 1; i < 4; i++)
        if (c[i] > best || (c[i] != c[i] && best == best)) best = c[i];
      dst[oy * ow + ox] = best;
    }
  }
}

}  // namespace CK_ISA_NS
