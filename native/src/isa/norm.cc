// Batch-norm kernels with the reference backend's precision: per-channel sums in f64 (in kDoubleLanes x 4
// independent accumulators rather than one chain, so only the order of the f64 additions differs), elementwise
// formulas in f64 rounded once (the same bits as the reference). Tasks are groups of channels (or of rows for
// batchNormApply); a channel's arithmetic never depends on the split.
#include <cmath>
#include "../ops.h"
#include "../parallel.h"
#include "vec.h"

namespace CK_ISA_NS {
namespace {

// Sum of f(x[i]) over i in [0, len) into four f64 lane accumulators and a scalar tail, for a vectorisable f (f64
// adds have a latency of several cycles: independent accumulators keep the adder busy).
template <class F>
inline void accumulateRow(const float* x, int64_t len, vdouble* acc, double& tail, F f) {
  int64_t i = 0;
  for (; i + 4 * kDoubleLanes <= len; i += 4 * kDoubleLanes) {
    acc[0] += f(loadWide(x + i));
    acc[1] += f(loadWide(x + i + kDoubleLanes));
    acc[2] += f(loadWide(x + i + 2 * kDoubleLanes));
    acc[3] += f(loadWide(x + i + 3 * kDoubleLanes));
  }
  for (; i < len; i++) tail += f(vdouble{} + static_cast<double>(x[i]))[0];
}

inline double laneTotal(const vdouble* acc, double tail) {
  const vdouble v = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  double s = 0;
  for (int l = 0; l < kDoubleLanes; l++) s += v[l];
  return s + tail;
}

// Two inputs at once: sums of g and of g*(x - m)*is over a row (the batch-norm backward's first pass), in four
// accumulators each (acc[0..3] and acc[4..7]).
inline void accumulateBackwardRow(const float* x, const float* gy, int64_t len, double m, double is, vdouble* acc,
                                  double* tail) {
  int64_t i = 0;
  for (; i + 4 * kDoubleLanes <= len; i += 4 * kDoubleLanes) {
    for (int k = 0; k < 4; k++) {
      const vdouble g = loadWide(gy + i + k * kDoubleLanes);
      acc[k] += g;
      acc[4 + k] += g * (loadWide(x + i + k * kDoubleLanes) - m) * is;
    }
  }
  for (; i < len; i++) {
    const double g = gy[i];
    tail[0] += g;
    tail[1] += g * (static_cast<double>(x[i]) - m) * is;
  }
}

}  // namespace

// x (N,C,HW) -> mean, variance (C): the mean, then the mean squared deviation from it (two passes, as the reference).
void channelMoments(const float* x, int64_t n, int64_t c, int64_t hw, float* mean, float* variance) {
  const double count = static_cast<double>(n) * static_cast<double>(hw);
  const ck::ItemSplit s(c, 256);
  ck::parallelForWork(s.tasks, static_cast<double>(n) * c * hw * ck::kNsPerStreamedFloat * 4, [&](int t) {
    for (int64_t ch = s.begin(t); ch < s.end(t); ch++) {
      vdouble acc[4] = {};
      double tail = 0;
      for (int64_t b = 0; b < n; b++) accumulateRow(x + (b * c + ch) * hw, hw, acc, tail, [](vdouble v) { return v; });
      const double m = laneTotal(acc, tail) / count;
      for (vdouble& a : acc) a = vdouble{};
      tail = 0;
      // Last row first (the rows still in cache), each row's squares added in the same order as forwards.
      for (int64_t b = n - 1; b >= 0; b--)
        accumulateRow(x + (b * c + ch) * hw, hw, acc, tail, [m](vdouble v) { const vdouble d = v - m; return d * d; });
      mean[ch] = static_cast<float>(m);
      variance[ch] = static_cast<float>(laneTotal(acc, tail) / count);
    }
  });
}

// out = x * scale + shift in f64 with scale = invStd * weight, shift = bias - mean * scale (the reference's formula).
void batchNormApply(const float* x, int64_t n, int64_t c, int64_t hw, const float* mean, const float* invStd,
                    const float* weight, const float* bias, float* out) {
  const ck::ItemSplit s(n * c, 1024);
  ck::parallelForWork(s.tasks, static_cast<double>(n) * c * hw * ck::kNsPerStreamedFloat * 2, [&](int t) {
    for (int64_t row = s.begin(t); row < s.end(t); row++) {
      const int64_t ch = row % c;
      const double scale = static_cast<double>(invStd[ch]) * (weight ? static_cast<double>(weight[ch]) : 1.0);
      const double shift = (bias ? static_cast<double>(bias[ch]) : 0.0) - static_cast<double>(mean[ch]) * scale;
      const float* xr = x + row * hw;
      float* orow = out + row * hw;
      for (int64_t i = 0; i < hw; i++) orow[i] = static_cast<float>(static_cast<double>(xr[i]) * scale + shift);
    }
  });
}

// Training statistics: gx = invStd*w/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)); fixed statistics: gx = gy*w*invStd.
// gWeight = sum(gy*xhat), gBias = sum(gy), all in f64 as the reference.
void batchNormBackward(const float* x, const float* gy, int64_t n, int64_t c, int64_t hw, const float* mean,
                       const float* invStd, const float* weight, bool training, float* gx, float* gWeight, float* gBias) {
  const double count = static_cast<double>(n) * static_cast<double>(hw);
  const ck::ItemSplit s(c, 256);
  ck::parallelForWork(s.tasks, static_cast<double>(n) * c * hw * ck::kNsPerStreamedFloat * 6, [&](int t) {
    for (int64_t ch = s.begin(t); ch < s.end(t); ch++) {
      const double m = mean[ch], is = invStd[ch], wv = weight ? static_cast<double>(weight[ch]) : 1.0;
      vdouble acc[8] = {};
      double tail[2] = {0, 0};
      for (int64_t b = 0; b < n; b++) accumulateBackwardRow(x + (b * c + ch) * hw, gy + (b * c + ch) * hw, hw, m, is, acc, tail);
      const double sumGy = laneTotal(acc, tail[0]), sumGyXhat = laneTotal(acc + 4, tail[1]);
      gWeight[ch] = static_cast<float>(sumGyXhat);
      gBias[ch] = static_cast<float>(sumGy);
      const double factor = wv * is / count;
      // Last row first: the rows the first pass read last are the ones still in cache.
      for (int64_t b = n - 1; b >= 0; b--) {
        const int64_t off = (b * c + ch) * hw;
        const float* xr = x + off;
        const float* gr = gy + off;
        float* out = gx + off;
        if (training) {
          for (int64_t i = 0; i < hw; i++) {
            const double xhat = (static_cast<double>(xr[i]) - m) * is;
            out[i] = static_cast<float>(factor * (count * static_cast<double>(gr[i]) - sumGy - xhat * sumGyXhat));
          }
        } else {
          for (int64_t i = 0; i < hw; i++) out[i] = static_cast<float>(static_cast<double>(gr[i]) * wv * is);
        }
      }
    }
  });
}

}  // namespace CK_ISA_NS
