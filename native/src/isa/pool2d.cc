// Max and average pooling, forward and backward, as the reference backend computes them. Tasks are groups of
// (N*C) planes; each plane is done by one task.
#include <algorithm>
#include <cmath>
#include <cstring>
#include "../ops.h"
#include "../parallel.h"
#include "vec.h"

namespace CK_ISA_NS {
namespace {

// The reference's scan order and NaN rule: the first maximum wins; the first NaN wins and stays.
inline bool better(float v, float best) { return v > best || (v != v && best == best); }

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

// Even and odd lanes of two vectors (a, b): the left and right columns of kLanes 2x2 windows; as index vectors, the
// windows' column offsets. (GCC's __builtin_shuffle takes the index vector; clang's __builtin_shufflevector the indices.)
#if CK_VBYTES == 64
constexpr vint kEven = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
constexpr vint kOdd = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
#define CK_EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define CK_ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif CK_VBYTES == 32
constexpr vint kEven = {0, 2, 4, 6, 8, 10, 12, 14};
constexpr vint kOdd = {1, 3, 5, 7, 9, 11, 13, 15};
#define CK_EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define CK_ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15
#else
constexpr vint kEven = {0, 2, 4, 6};
constexpr vint kOdd = {1, 3, 5, 7};
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
void maxPool2x2Row(const float* r0, int w, int base, float* out, int32_t* argmax, int outW) {
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
