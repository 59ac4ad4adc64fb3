// Fused softmax cross-entropy over rows of logits with class-index targets, in f64 per element like the reference
// backend. Tasks are groups of rows; each row is computed by one task in a fixed order.
#include <cmath>
#include "../ops.h"
#include "../parallel.h"
#include "vec.h"

namespace CK_ISA_NS {

// x is (rows, cols), target (rows) (< 0: an ignored row, loss 0), weight (cols) or null; lse is (2 rows):
//   l = max + log(sum(exp(x[r,:] - max))), logp[j] = f32(x[r,j] - l) (as logSoftmax stores it),
//   loss[r] = -(1 - eps) w[t] logp[t] - eps/cols sum_j w[j] logp[j]; lse[2r] + lse[2r+1] = l (hi and the rest).
void softmaxCrossEntropy(const float* x, int64_t rows, int64_t cols, const int32_t* target, const float* weight,
                         double eps, float* loss, float* lse) {
  const ck::ItemSplit s(rows, 256);
  ck::parallelForWork(s.tasks, static_cast<double>(rows) * cols * ck::kNsPerTranscendental, [&](int t) {
    for (int64_t r = s.begin(t); r < s.end(t); r++) {
      const float* xr = x + r * cols;
      const double l = rowLogSumExp(xr, cols);
      const float hi = static_cast<float>(l);
      lse[2 * r] = hi;
      lse[2 * r + 1] = static_cast<float>(l - hi);
      const int32_t tr = target[r];
      if (tr < 0) { loss[r] = 0; continue; }  // an ignored row
      auto logp = [&](int64_t j) { return static_cast<double>(static_cast<float>(static_cast<double>(xr[j]) - l)); };
      double value = -(weight ? static_cast<double>(weight[tr]) : 1.0) * logp(tr);
      if (eps != 0) {
        // Label smoothing: the cross-entropy against the uniform distribution, mixed in with weight eps.
        double smooth = 0;
        for (int64_t j = 0; j < cols; j++) smooth -= (weight ? static_cast<double>(weight[j]) : 1.0) * logp(j);
        value = (1 - eps) * value + eps / static_cast<double>(cols) * smooth;
      }
      loss[r] = static_cast<float>(value);
    }
  });
}

// gx[r,j] = rowScale[r] (p[r,j] a - (1-eps) w[t] [j = t] - eps/cols w[j]), a = (1-eps) w[t] + eps/cols sum(w),
// p[r,j] = exp(f32(x[r,j] - l)) with the forward's l = lse[2r] + lse[2r+1].
void softmaxCrossEntropyBackward(const float* x, const float* lse, int64_t rows, int64_t cols, const int32_t* target,
                                 const float* weight, double eps, const float* rowScale, float* gx) {
  const double spread = eps / static_cast<double>(cols);
  double weightSum = static_cast<double>(cols);
  if (weight) {
    weightSum = 0;
    for (int64_t j = 0; j < cols; j++) weightSum += weight[j];
  }
  const ck::ItemSplit s(rows, 256);
  ck::parallelForWork(s.tasks, static_cast<double>(rows) * cols * ck::kNsPerTranscendental, [&](int t) {
    for (int64_t r = s.begin(t); r < s.end(t); r++) {
      const float* xr = x + r * cols;
      float* gr = gx + r * cols;
      const double l = static_cast<double>(lse[2 * r]) + static_cast<double>(lse[2 * r + 1]);
      const double scale = rowScale[r];
      const int32_t tr = target[r];
      if (tr < 0) {  // an ignored row
        for (int64_t j = 0; j < cols; j++) gr[j] = 0;
        continue;
      }
      const double hit = (1 - eps) * (weight ? static_cast<double>(weight[tr]) : 1.0);
      const double a = hit + spread * weightSum;
      for (int64_t j = 0; j < cols; j++) {
        double g = std::exp(static_cast<double>(static_cast<float>(static_cast<double>(xr[j]) - l))) * a -
                   spread * (weight ? static_cast<double>(weight[j]) : 1.0);
        if (j == tr) g -= hit;
        gr[j] = static_cast<float>(scale * g);
      }
    }
  });
}

}  // namespace CK_ISA_NS
