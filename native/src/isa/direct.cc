// Direct weight gradient for stride-1, ungrouped convolutions (conv.cc picks it; the GEMM path's im2col and packing
// cost more than the multiplies when the output channels are few):
//   gw[o, c, i, j] = sum over images b, then rows oy, of  gy[b, o, oy, :] . x[b, c, oy + i*dh - ph, j*dw - pw + :]
// Lanes are output columns. A register tile is 4 output channels x up to 3 horizontal taps (12 accumulators, 7
// loads per 12 FMAs). Per image, a task copies its input planes into zero-padded rows and its 4 output-gradient
// planes into rows padded to whole vectors (zeros past OW), then walks (c, i, tap block) with the accumulators kept
// in a per-task array between images.
//
// Determinism: a task owns a fixed block of output channels and input channels (from the geometry), and every
// accumulator lane sums its (image, row) terms in the same order; lanes are added left to right at the end.
// Zero lanes past OW multiply real inputs, which is exact only for finite inputs: conv.cc sends batches holding
// NaN or infinity to the GEMM path.
#include <cstring>
#include "conv-common.h"
#include "kernels.h"
#include "simd.h"

namespace CK_ISA_NS {
namespace {

constexpr int OB = 4;          // output channels per register tile
constexpr int C_PER_TASK = 16;  // input channels per task

thread_local Scratch xPadScratch, gyPadScratch, accScratch;

// acc[o][t] += gy rows (OB) . x row shifted by tap t (NJ taps, dw apart), over `vectors` vectors of the row.
template <int NJ>
__attribute__((always_inline)) inline void rowTile(const float* const* gyRows, const float* xRow, int dw, int vectors, vf (&acc)[OB][3]) {
  for (int q = 0; q < vectors; q++) {
    vf gv[OB];
#pragma GCC unroll 4
    for (int o = 0; o < OB; o++) gv[o] = *reinterpret_cast<const vf*>(gyRows[o] + q * VL);
#pragma GCC unroll 3
    for (int t = 0; t < NJ; t++) {
      const vf xv = vload(xRow + q * VL + t * dw);
#pragma GCC unroll 4
      for (int o = 0; o < OB; o++) acc[o][t] = fmadd(gv[o], xv, acc[o][t]);
    }
  }
}

template <int NJ>
void tapBlock(const float* const* gyPlanes, const float* xPlane, const ConvGeom& g, int i, int j0, int owp, int wp,
              float* accStore) {
  vf acc[OB][3];
  for (int o = 0; o < OB; o++)
    for (int t = 0; t < NJ; t++) acc[o][t] = *reinterpret_cast<const vf*>(accStore + (o * 3 + t) * VL);
  for (int oy = 0; oy < g.outH; oy++) {
    const float* gyRows[OB];
    for (int o = 0; o < OB; o++) gyRows[o] = gyPlanes[o] + (long)oy * owp;
    rowTile<NJ>(gyRows, xPlane + (long)(oy + i * g.dilationH) * wp + j0 * g.dilationW, g.dilationW, owp / VL, acc);
  }
  for (int o = 0; o < OB; o++)
    for (int t = 0; t < NJ; t++) *reinterpret_cast<vf*>(accStore + (o * 3 + t) * VL) = acc[o][t];
}

}  // namespace

bool directWeightGradEligible(const ConvGeom& g) {
  return g.strideH == 1 && g.strideW == 1 && g.groups == 1 && !convPointwise(g) && 2 * g.outW >= VL;
}

void directWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  const int owp = (g.outW + VL - 1) / VL * VL;
  const int hp = g.outH + (g.kh - 1) * g.dilationH, wp = owp + (g.kw - 1) * g.dilationW;
  const int oBlocks = (g.cOut + OB - 1) / OB, cChunks = (g.cIn + C_PER_TASK - 1) / C_PER_TASK;
  const int kh = g.kh, kw = g.kw, jBlocks = (kw + 2) / 3;
  ck::parallelFor(oBlocks * cChunks, [&](int task) {
    const int o0 = (task / cChunks) * OB, c0 = (task % cChunks) * C_PER_TASK;
    const int cn = g.cIn - c0 < C_PER_TASK ? g.cIn - c0 : C_PER_TASK;
    // accumulators: [c][i][jBlock][o 4][tap 3][VL]
    const size_t accPerTap = (size_t)OB * 3 * VL;
    float* acc = accScratch.get((size_t)cn * kh * jBlocks * accPerTap);
    std::memset(acc, 0, sizeof(float) * (size_t)cn * kh * jBlocks * accPerTap);
    float* xp = xPadScratch.get((size_t)cn * hp * wp);
    float* gyp = gyPadScratch.get((size_t)OB * g.outH * owp);
    std::memset(xp, 0, sizeof(float) * (size_t)cn * hp * wp);
    std::memset(gyp, 0, sizeof(float) * (size_t)OB * g.outH * owp);
    const float* gyPlanes[OB];
    for (int o = 0; o < OB; o++) gyPlanes[o] = gyp + (size_t)o * g.outH * owp;
    for (int b = 0; b < g.n; b++) {
      for (int o = 0; o < OB && o0 + o < g.cOut; o++)
        for (int oy = 0; oy < g.outH; oy++)
          std::memcpy(gyp + ((size_t)o * g.outH + oy) * owp, gy + (((long)b * g.cOut + o0 + o) * g.outH + oy) * g.outW, sizeof(float) * g.outW);
      // x rows land at padded row iy + padH, column ix + padW (rows and columns outside stay zero)
      for (int c = 0; c < cn; c++)
        for (int iy = 0; iy < g.h; iy++) {
          const int py = iy + g.padH;
          if (py < 0 || py >= hp) continue;
          const int lo = g.padW < 0 ? -g.padW : 0, hi = g.w < wp - g.padW ? g.w : wp - g.padW;
          if (hi > lo)
            std::memcpy(xp + ((size_t)c * hp + py) * wp + lo + g.padW, x + (((long)b * g.cIn + c0 + c) * g.h + iy) * g.w + lo, sizeof(float) * (hi - lo));
        }
      for (int c = 0; c < cn; c++)
        for (int i = 0; i < kh; i++)
          for (int jb = 0; jb < jBlocks; jb++) {
            float* store = acc + (((size_t)c * kh + i) * jBlocks + jb) * accPerTap;
            const float* plane = xp + (size_t)c * hp * wp;
            const int nj = kw - 3 * jb < 3 ? kw - 3 * jb : 3;
            if (nj == 3) tapBlock<3>(gyPlanes, plane, g, i, 3 * jb, owp, wp, store);
            else if (nj == 2) tapBlock<2>(gyPlanes, plane, g, i, 3 * jb, owp, wp, store);
            else tapBlock<1>(gyPlanes, plane, g, i, 3 * jb, owp, wp, store);
          }
    }
    // lanes summed left to right
    for (int c = 0; c < cn; c++)
      for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
          const float* store = acc + (((size_t)c * kh + i) * jBlocks + j / 3) * accPerTap;
          for (int o = 0; o < OB && o0 + o < g.cOut; o++) {
            const float* lanes = store + (o * 3 + j % 3) * VL;
            float s = lanes[0];
            for (int l = 1; l < VL; l++) s += lanes[l];
            gw[(((long)(o0 + o) * g.cIn + c0 + c) * kh + i) * kw + j] = s;
          }
        }
  });
}

}  // namespace CK_ISA_NS
