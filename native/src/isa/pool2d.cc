// Max and average pooling, forward and backward, as the reference backend computes them. Tasks are groups of
// (N*C) planes; each plane is done by one task.
#include <algorithm>
#include <cmath>
#include <cstring>
#include "../ops.h"
#include "../parallel.h"
#include "vec.h"
#include "../conv-common.h"  // maxPool2x2Row

namespace CK_ISA_NS {
namespace {

struct AvgWindow {
  int y0, x0, y1, x1;
  double divisor;
};
// The clipped window of output (oy, ox) and its divisor, as the reference's avgWindow (windows end at H + padH).
inline AvgWindow avgWindow(const ck::PoolGeom& g, int oy, int ox, bool countIncludePad, double divisorOverride) {
  int y0 = oy * g.strideH - g.padH, x0 = ox * g.strideW - g.padW;
  int y1 = std::min(y0 + g.kh, g.h + g.padH), x1 = std::min(x0 + g.kw, g.w + g.padW);
  const int poolSize = (y1 - y0) * (x1 - x0);
  y0 = std::max(y0, 0); x0 = std::max(x0, 0); y1 = std::min(y1, g.h); x1 = std::min(x1, g.w);
  const double divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? poolSize : (y1 - y0) * (x1 - x0);
  return {y0, x0, y1, x1, divisor};
}

inline int64_t planesOf(const ck::PoolGeom& g) { return static_cast<int64_t>(g.n) * g.c; }

}  // namespace

void maxPool2d(const float* x, const ck::PoolGeom& g, float* out, int32_t* argmax) {
  const int64_t hw = static_cast<int64_t>(g.h) * g.w, ohw = static_cast<int64_t>(g.outH) * g.outW;
  // The common 2x2 stride-2 window, every window inside the plane (ceil mode can clip the last row or column).
  const bool window2x2 = g.kh == 2 && g.kw == 2 && g.strideH == 2 && g.strideW == 2 && g.padH == 0 && g.padW == 0 &&
                         g.dilationH == 1 && g.dilationW == 1 && 2 * g.outH <= g.h && 2 * g.outW <= g.w;
  const ck::ItemSplit s(planesOf(g), 512);
  ck::parallelForWork(s.tasks, planesOf(g) * ohw * g.kh * g.kw * ck::kNsPerStreamedFloat * 2, [&](int t) {
    for (int64_t plane = s.begin(t); plane < s.end(t); plane++) {
      const float* xp = x + plane * hw;
      float* op = out + plane * ohw;
      int32_t* ap = argmax ? argmax + plane * ohw : nullptr;
      if (window2x2) {
        for (int oy = 0; oy < g.outH; oy++) {
          maxPool2x2Row(xp + 2 * oy * g.w, g.w, 2 * oy * g.w, op + oy * g.outW, ap ? ap + oy * g.outW : nullptr, g.outW);
        }
        continue;
      }
      for (int oy = 0; oy < g.outH; oy++) {
        for (int ox = 0; ox < g.outW; ox++) {
          float best = -INFINITY;
          int bestIdx = -1;
          for (int i = 0; i < g.kh; i++) {
            const int iy = oy * g.strideH - g.padH + i * g.dilationH;
            if (iy < 0 || iy >= g.h) continue;
            for (int j = 0; j < g.kw; j++) {
              const int ix = ox * g.strideW - g.padW + j * g.dilationW;
              if (ix < 0 || ix >= g.w) continue;
              const float v = xp[iy * g.w + ix];
              if (bestIdx < 0 || better(v, best)) { best = v; bestIdx = iy * g.w + ix; }
            }
          }
          op[oy * g.outW + ox] = best;
          if (ap) ap[oy * g.outW + ox] = bestIdx;
        }
      }
    }
  });
}

// gy, argmax (N,C,OH,OW); gx (N,C,H,W) overwritten: gx[argmax] += gy, in output order.
void maxPool2dBackward(const float* gy, const int32_t* argmax, const ck::PoolGeom& g, float* gx) {
  const int64_t hw = static_cast<int64_t>(g.h) * g.w, ohw = static_cast<int64_t>(g.outH) * g.outW;
  const ck::ItemSplit s(planesOf(g), 512);
  ck::parallelForWork(s.tasks, planesOf(g) * (hw + ohw) * ck::kNsPerStreamedFloat * 2, [&](int t) {
    for (int64_t plane = s.begin(t); plane < s.end(t); plane++) {
      float* gp = gx + plane * hw;
      std::memset(gp, 0, sizeof(float) * hw);
      const float* gyp = gy + plane * ohw;
      const int32_t* ap = argmax + plane * ohw;
      for (int64_t o = 0; o < ohw; o++) {
        if (ap[o] >= 0) gp[ap[o]] += gyp[o];
      }
    }
  });
}

// x (N,C,H,W), out (N,C,OH,OW): window sums in f64 like the reference.
void avgPool2d(const float* x, const ck::PoolGeom& g, bool countIncludePad, double divisorOverride, float* out) {
  const int64_t hw = static_cast<int64_t>(g.h) * g.w, ohw = static_cast<int64_t>(g.outH) * g.outW;
  const ck::ItemSplit s(planesOf(g), 512);
  ck::parallelForWork(s.tasks, planesOf(g) * ohw * g.kh * g.kw * ck::kNsPerStreamedFloat * 2, [&](int t) {
    for (int64_t plane = s.begin(t); plane < s.end(t); plane++) {
      const float* xp = x + plane * hw;
      float* op = out + plane * ohw;
      for (int oy = 0; oy < g.outH; oy++) {
        for (int ox = 0; ox < g.outW; ox++) {
          const AvgWindow win = avgWindow(g, oy, ox, countIncludePad, divisorOverride);
          double sum = 0;
          for (int i = win.y0; i < win.y1; i++)
            for (int j = win.x0; j < win.x1; j++) sum += xp[i * g.w + j];
          op[oy * g.outW + ox] = static_cast<float>(sum / win.divisor);
        }
      }
    }
  });
}

// gy (N,C,OH,OW), gx (N,C,H,W) overwritten: every cell of a window gets gy / divisor (added in f64, stored in f32).
void avgPool2dBackward(const float* gy, const ck::PoolGeom& g, bool countIncludePad, double divisorOverride, float* gx) {
  const int64_t hw = static_cast<int64_t>(g.h) * g.w, ohw = static_cast<int64_t>(g.outH) * g.outW;
  const ck::ItemSplit s(planesOf(g), 512);
  ck::parallelForWork(s.tasks, planesOf(g) * (hw + ohw * g.kh * g.kw) * ck::kNsPerStreamedFloat * 2, [&](int t) {
    for (int64_t plane = s.begin(t); plane < s.end(t); plane++) {
      float* gp = gx + plane * hw;
      std::memset(gp, 0, sizeof(float) * hw);
      const float* gyp = gy + plane * ohw;
      for (int oy = 0; oy < g.outH; oy++) {
        for (int ox = 0; ox < g.outW; ox++) {
          const AvgWindow win = avgWindow(g, oy, ox, countIncludePad, divisorOverride);
          const double v = gyp[oy * g.outW + ox] / win.divisor;
          for (int i = win.y0; i < win.y1; i++)
            for (int j = win.x0; j < win.x1; j++) gp[i * g.w + j] = static_cast<float>(gp[i * g.w + j] + v);
        }
      }
    }
  });
}

}  // namespace CK_ISA_NS
