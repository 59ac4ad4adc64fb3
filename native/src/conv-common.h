// Helpers shared by one ISA level's convolution kernels (native/src/isa/conv.cc, locally.cc, winograd.cc, ...).
#pragma once
#include <cstring>
#include "kernels.h"
#include "isa/vec.h"

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
// Weight gradient with lanes over output channels (direct.cc): stride 1, one group, not pointwise, O a multiple of
// the vector width, rows that would leave over a quarter of the row kernel's lanes empty, 16+ taps; AVX2 only.
// Exact for finite inputs only (the caller checks).
bool channelWeightGradEligible(const ConvGeom& g);
void channelWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw);
// Weight gradient over flat output planes (direct.cc): stride 1, one group, not pointwise, rows of at least one vector
// but not whole vectors, planes of whole vectors; AVX2 only. Exact for finite inputs only.
bool flatWeightGradEligible(const ConvGeom& g);
void flatWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw);
// Direct input gradient (direct.cc): stride 1, one group, not pointwise, input rows of at most 3 vectors, padding
// within the kernel's reach; AVX2 only. Exact for finite inputs only: returns false when some output is
// non-finite, and the caller then redoes gx by GEMM.
bool directInputGradEligible(const ConvGeom& g);
bool directInputGrad(const float* gy, const float* w, const ConvGeom& g, float* gx);

// Direct forward (direct.cc): stride 1, one group, not pointwise, reduction C*KH*KW in [16, 160], rows at least
// half a vector wide.
bool directForwardEligible(const ConvGeom& g);
void directForward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out);

// The reference's scan order and NaN rule: the first maximum wins; the first NaN wins and stays.
inline bool better(float v, float best) { return v > best || (v != v && best == best); }

// Even and odd lanes of two vectors (a, b): the left and right columns of kLanes 2x2 windows; as index vectors, the
// windows' column offsets. (GCC's __builtin_shuffle takes the index vector; clang's __builtin_shufflevector the indices.)
#if CK_VBYTES == 64
inline constexpr vint kEven = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
inline constexpr vint kOdd = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
#define CK_EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define CK_ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif CK_VBYTES == 32
inline constexpr vint kEven = {0, 2, 4, 6, 8, 10, 12, 14};
inline constexpr vint kOdd = {1, 3, 5, 7, 9, 11, 13, 15};
#define CK_EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define CK_ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15
#else
inline constexpr vint kEven = {0, 2, 4, 6};
inline constexpr vint kOdd = {1, 3, 5, 7};
#define CK_EVEN_LANES 0, 2, 4, 6
#define CK_ODD_LANES 1, 3, 5, 7
#endif
#if defined(__clang__)
inline vfloat evenLanes(vfloat a, vfloat b) { return __builtin_shufflevector(a, b, CK_EVEN_LANES); }
inline vfloat oddLanes(vfloat a, vfloat b) { return __builtin_shufflevector(a, b, CK_ODD_LANES); }
#else
inline vfloat evenLanes(vfloat a, vfloat b) { return __builtin_shuffle(a, b, kEven); }
inline vfloat oddLanes(vfloat a, vfloat b) { return __builtin_shuffle(a, b, kOdd); }
#endif
inline vint betterV(vfloat v, vfloat best) { return (v > best) | ((v != v) & (best == best)); }

// One output row of 2x2 stride-2 max pooling: rows r0 and r1 = r0 + w of the plane, outputs [0, outW), argmax
// (flat index in the plane; base = r0's index) or null. kLanes outputs at a time, in the scalar order below.
// A row of at least kLanes outputs ends with one vector that overlaps the previous one (the same values written
// twice) instead of scalar outputs: LeNet's 28 -> 14 rows took 8 + 6 scalar outputs, 2.1x the time.
inline void maxPool2x2Row(const float* r0, int w, int base, float* out, int32_t* argmax, int outW) {
  const float* r1 = r0 + w;
  int ox = 0;
  for (; ox < outW && outW >= kLanes; ox += kLanes) {
    if (ox + kLanes > outW) ox = outW - kLanes;
    const int i = 2 * ox;
    const vfloat a0 = loadf(r0 + i), b0 = loadf(r0 + i + kLanes), a1 = loadf(r1 + i), b1 = loadf(r1 + i + kLanes);
    const vfloat v1 = oddLanes(a0, b0), v2 = evenLanes(a1, b1), v3 = oddLanes(a1, b1);
    vfloat best = evenLanes(a0, b0);
    vint idx = kEven + (base + i);
    vint take = betterV(v1, best);
    best = select(take, v1, best);
    idx = select(take, kOdd + (base + i), idx);
    take = betterV(v2, best);
    best = select(take, v2, best);
    idx = select(take, kEven + (base + i + w), idx);
    take = betterV(v3, best);
    best = select(take, v3, best);
    idx = select(take, kOdd + (base + i + w), idx);
    storef(out + ox, best);
    if (argmax) std::memcpy(argmax + ox, &idx, sizeof idx);
  }
  for (; ox < outW; ox++) {
    // Four candidates in the reference's scan order, selected without branches.
    const int i = 2 * ox;
    float best = r0[i];
    int idx = base + i;
    const int cand[3] = {i + 1, i + w, i + w + 1};
    for (int k = 0; k < 3; k++) {
      const float v = r0[cand[k]];
      const bool take = better(v, best);
      best = take ? v : best;
      idx = take ? base + cand[k] : idx;
    }
    out[ox] = best;
    if (argmax) argmax[ox] = idx;
  }
}


// 2x2 stride-2 floor-mode max pooling of one plane (h, w) -> (h/2, w/2): NaN wins and stays, the first of equal
// values is kept (src/backend/reference/index.ts maxPool2d).
// argmax (oh, ow) or null: each maximum's flat index in the plane.
inline void maxPool2x2Plane(const float* src, int h, int w, float* dst, int32_t* argmax = nullptr) {
  const int oh = h / 2, ow = w / 2;
  for (int oy = 0; oy < oh; oy++) {
    maxPool2x2Row(src + (long)(2 * oy) * w, w, 2 * oy * w, dst + (long)oy * ow, argmax ? argmax + (long)oy * ow : nullptr, ow);
  }
}

// v = max(v, 0) in place (reluf's bits: NaN stays, -0 becomes +0), a vector at a time.
inline void reluInPlace(float* v, long count) {
  long i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    const vfloat a = loadf(v + i);
    storef(v + i, select(a <= splatf(0.0f), splatf(0.0f), a));
  }
  for (; i < count; i++) v[i] = reluf(v[i]);
}

}  // namespace CK_ISA_NS
