// Optimizer updates, one pass over a parameter, its gradient and its state, with the reference backend's
// arithmetic: every element in f64 from its f32 inputs, each stored value rounded once (so the same bits as the
// reference). Elements are independent, so tasks are element ranges.
#include <cmath>
#include "../ops.h"
#include "../parallel.h"
#include "vec.h"

namespace CK_ISA_NS {

constexpr int64_t kGrain = 16384;

// SGD (torch.optim.SGD's order): d = sign*g + wd*p; buf = first ? d : momentum*buf + (1 - dampening)*d;
// p = p - lr*(nesterov ? d + momentum*buf : buf), or p - lr*d without momentum. buf is read back as f32.
void sgdStep(float* param, const float* grad, float* buf, int64_t n, const SgdArgs& h) {
  const ck::FlatSplit s(n, kGrain);
  const double lr = h.lr, momentum = h.momentum, keep = 1 - h.dampening, wd = h.weightDecay, sign = h.sign;
  ck::parallelForWork(s.tasks, n * ck::kNsPerStreamedFloat * 5, [&](int t) {
    const int64_t i0 = s.begin(t), i1 = s.end(t);
    if (!h.useBuffer) {
      for (int64_t i = i0; i < i1; i++) {
        const double w = param[i];
        param[i] = static_cast<float>(w - lr * (sign * static_cast<double>(grad[i]) + wd * w));
      }
      return;
    }
    for (int64_t i = i0; i < i1; i++) {
      const double w = param[i];
      const double d = sign * static_cast<double>(grad[i]) + wd * w;
      buf[i] = static_cast<float>(h.firstStep ? d : momentum * static_cast<double>(buf[i]) + keep * d);
      const double b = buf[i];
      param[i] = static_cast<float>(w - lr * (h.nesterov ? d + momentum * b : b));
    }
  });
}

// Adam / AdamW (torch.optim.Adam's order; AdamW shrinks p first and has l2 = 0):
//   p' = p*shrink; g = sign*grad + l2*p'; m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g*g;
//   vMax = max(vMax, v) with AMSGrad; p = p' - stepSize*m / (sqrt(vMax or v)/bc2Sqrt + eps), m and v read back as f32.
void adamStep(float* param, const float* grad, float* m, float* v, float* vMax, int64_t n, const AdamArgs& h) {
  const ck::FlatSplit s(n, kGrain);
  const double b1 = h.beta1, b2 = h.beta2, ob1 = 1 - h.beta1, ob2 = 1 - h.beta2;
  ck::parallelForWork(s.tasks, n * ck::kNsPerStreamedFloat * 8, [&](int t) {
    for (int64_t i = s.begin(t); i < s.end(t); i++) {
      const double w = static_cast<double>(param[i]) * h.shrink;
      const double g = h.sign * static_cast<double>(grad[i]) + h.l2 * w;
      m[i] = static_cast<float>(b1 * static_cast<double>(m[i]) + ob1 * g);
      v[i] = static_cast<float>(b2 * static_cast<double>(v[i]) + ob2 * g * g);
      float second = v[i];
      if (vMax) {
        if (second > vMax[i]) vMax[i] = second;
        second = vMax[i];
      }
      param[i] = static_cast<float>(w - h.stepSize * static_cast<double>(m[i]) /
                                            (std::sqrt(static_cast<double>(second)) / h.bc2Sqrt + h.eps));
    }
  });
}

}  // namespace CK_ISA_NS
