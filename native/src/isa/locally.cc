// Locally connected 2-D layers (kernels.h): a convolution whose weights differ per output position,
// w (OH*OW, O, C, KH, KW), bias (O, OH, OW). One GEMM per output position over the patches of every image, as
// src/backend/reference/index.ts computes it.
#include <cstring>
#include "conv-common.h"
#include "kernels.h"
#include "simd.h"

namespace CK_ISA_NS {
namespace {

thread_local Scratch patchScratch, rowScratch;

// Patches at output position (oy, ox) of images [b0, b1): rows (images), columns (C*KH*KW), zero outside the input.
void gatherPatches(const float* x, const ConvGeom& g, int oy, int ox, int b0, int b1, float* patches) {
  float* r = patches;
  for (int b = b0; b < b1; b++)
    for (int c = 0; c < g.cIn; c++)
      for (int i = 0; i < g.kh; i++) {
        const int iy = oy * g.strideH - g.padH + i * g.dilationH;
        const float* row = x + (((long)b * g.cIn + c) * g.h + iy) * g.w;
        for (int j = 0; j < g.kw; j++) {
          const int ix = ox * g.strideW - g.padW + j * g.dilationW;
          *r++ = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? row[ix] : 0.0f;
        }
      }
}

// Rows above this many images make the input gradient image tasks; below, all images are one task.
constexpr int IMAGES_PER_TASK = 8;

}  // namespace

void locallyConnected2d(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  const int kk = g.cIn * g.kh * g.kw, p = g.outH * g.outW;
  ck::parallelFor(p, [&](int pos) {
    const int oy = pos / g.outW, ox = pos % g.outW;
    float* patches = patchScratch.get((size_t)g.n * kk);
    float* y = rowScratch.get((size_t)g.n * g.cOut);
    gatherPatches(x, g, oy, ox, 0, g.n, patches);
    gemm(false, true, g.n, g.cOut, kk, patches, w + (long)pos * g.cOut * kk, y, false);  // y (N,O) = patches @ W_pos^T
    for (int b = 0; b < g.n; b++)
      for (int o = 0; o < g.cOut; o++)
        out[((long)b * g.cOut + o) * p + pos] = y[(long)b * g.cOut + o] + (bias ? bias[(long)o * p + pos] : 0.0f);
  });
}

void locallyConnected2dBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx) {
  const int kk = g.cIn * g.kh * g.kw, p = g.outH * g.outW;
  const long inImage = (long)g.cIn * g.h * g.w;
  const int tasks = (g.n + IMAGES_PER_TASK - 1) / IMAGES_PER_TASK;
  // Each task owns the gx of its images and adds every position's patch gradient in position order.
  ck::parallelFor(tasks, [&](int t) {
    const int b0 = t * IMAGES_PER_TASK, b1 = b0 + IMAGES_PER_TASK < g.n ? b0 + IMAGES_PER_TASK : g.n, nb = b1 - b0;
    std::memset(gx + b0 * inImage, 0, sizeof(float) * nb * inImage);
    float* gyPos = rowScratch.get((size_t)nb * g.cOut);
    float* patches = patchScratch.get((size_t)nb * kk);
    for (int pos = 0; pos < p; pos++) {
      const int oy = pos / g.outW, ox = pos % g.outW;
      for (int b = 0; b < nb; b++)
        for (int o = 0; o < g.cOut; o++) gyPos[(long)b * g.cOut + o] = gy[((long)(b0 + b) * g.cOut + o) * p + pos];
      gemm(false, false, nb, kk, g.cOut, gyPos, w + (long)pos * g.cOut * kk, patches, false);  // (nb, KK)
      const float* r = patches;
      for (int b = b0; b < b1; b++)
        for (int c = 0; c < g.cIn; c++)
          for (int i = 0; i < g.kh; i++) {
            const int iy = oy * g.strideH - g.padH + i * g.dilationH;
            float* row = gx + (((long)b * g.cIn + c) * g.h + iy) * g.w;
            for (int j = 0; j < g.kw; j++, r++) {
              const int ix = ox * g.strideW - g.padW + j * g.dilationW;
              if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) row[ix] += *r;
            }
          }
    }
  });
}

void locallyConnected2dBackwardWeight(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  const int kk = g.cIn * g.kh * g.kw, p = g.outH * g.outW;
  ck::parallelFor(p, [&](int pos) {
    const int oy = pos / g.outW, ox = pos % g.outW;
    float* patches = patchScratch.get((size_t)g.n * kk);
    float* gyPos = rowScratch.get((size_t)g.n * g.cOut);
    gatherPatches(x, g, oy, ox, 0, g.n, patches);
    for (int b = 0; b < g.n; b++)
      for (int o = 0; o < g.cOut; o++) gyPos[(long)b * g.cOut + o] = gy[((long)b * g.cOut + o) * p + pos];
    gemm(true, false, g.cOut, kk, g.n, gyPos, patches, gw + (long)pos * g.cOut * kk, false);  // (O, KK) = gy^T @ patches
  });
}

}  // namespace CK_ISA_NS
