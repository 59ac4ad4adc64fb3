// The native backend's kernels other than GEMM and convolution (those are in kernels.h): elementwise, reductions,
// pooling, batch norm, losses and optimizer updates. Compiled once per ISA level into CK_ISA_NS, like kernels.h's.
// Semantics are the reference backend's (src/backend/reference/index.ts): transcendentals in f64 rounded once,
// NaN and infinity as in PyTorch, f64 sums where the reference sums in f64.
#pragma once
#include <cstdint>
#include "kernels.h"

namespace ck {
// Hyper-parameters of one SGD / Adam update (src/backend/backend.ts SgdHyper / AdamHyper, with the scalars the
// reference derives in JavaScript passed in: stepSize = lr / (1 - beta1^step), bc2Sqrt = sqrt(1 - beta2^step)).
struct SgdArgs {
  double lr, momentum, dampening, weightDecay, sign;
  bool nesterov, firstStep, useBuffer;
};
struct AdamArgs {
  double beta1, beta2, eps, stepSize, bc2Sqrt, l2, shrink, sign;
};
// An elementwise binary op over an output of `rank` dims (rank <= kMaxRank, the last one the fastest), with the
// inputs' strides in floats (0 on broadcast dims).
constexpr int kMaxRank = 8;
struct BroadcastPlan {
  int rank;
  int64_t dims[kMaxRank], sa[kMaxRank], sb[kMaxRank];
};
}  // namespace ck

#ifdef CK_ISA_NS
namespace CK_ISA_NS {
using ck::AdamArgs;
using ck::BroadcastPlan;
using ck::SgdArgs;

// ---- elementwise.cc
// op codes in src/backend/backend.ts order: neg exp log sqrt abs sign relu sigmoid tanh gelu reciprocal square
void unary(int op, const float* x, float* out, int64_t n);
// op codes: add sub mul div pow max min gt ge lt le eq; out is the plan's dims, dense.
void binary(int op, const float* a, const float* b, float* out, const BroadcastPlan& plan);
// op codes: sum max min. x is (k1, r1, k2, r2), out is (k1, k2).
void reduce(int op, const float* x, float* out, int64_t k1, int64_t r1, int64_t k2, int64_t r2);
// The reference's flat walk for any other pattern: outStrides are the output's strides over x's dims (0 = reduced).
void reduceStrided(int op, const float* x, float* out, int rank, const int64_t* shape, const int64_t* outStrides, int64_t outLen);
// out (rows, cols) in place: act(out + bias[c]); activation codes none relu sigmoid tanh.
void biasActivation(float* out, const float* bias, int64_t rows, int64_t cols, int act);
// out = act(a + b) over n elements (act: 0 none, 1 relu, 2 sigmoid, 3 tanh).
void addActivation(const float* a, const float* b, float* out, int64_t n, int act);
void activationBackward(const float* y, const float* gy, float* gx, int64_t n, int act);
// x, out (rows, cols)
void logSoftmax(const float* x, int64_t rows, int64_t cols, float* out);

// ---- loss.cc: x (rows, cols), target (rows), weight (cols) or null, loss (rows), lse (2 rows)
void softmaxCrossEntropy(const float* x, int64_t rows, int64_t cols, const int32_t* target, const float* weight,
                         double eps, float* loss, float* lse);
void softmaxCrossEntropyBackward(const float* x, const float* lse, int64_t rows, int64_t cols, const int32_t* target,
                                 const float* weight, double eps, const float* rowScale, float* gx);

// ---- pool2d.cc: x (N,C,H,W); out, argmax (N,C,OH,OW); argmax may be null
void maxPool2d(const float* x, const ck::PoolGeom& g, float* out, int32_t* argmax);
void maxPool2dBackward(const float* gy, const int32_t* argmax, const ck::PoolGeom& g, float* gx);
void avgPool2d(const float* x, const ck::PoolGeom& g, bool countIncludePad, double divisorOverride, float* out);
void avgPool2dBackward(const float* gy, const ck::PoolGeom& g, bool countIncludePad, double divisorOverride, float* gx);

// ---- norm.cc: x (N,C,HW); per-channel vectors (C)
void channelMoments(const float* x, int64_t n, int64_t c, int64_t hw, float* mean, float* variance);
void batchNormApply(const float* x, int64_t n, int64_t c, int64_t hw, const float* mean, const float* invStd,
                    const float* weight, const float* bias, float* out);
void batchNormBackward(const float* x, const float* gy, int64_t n, int64_t c, int64_t hw, const float* mean,
                       const float* invStd, const float* weight, bool training, float* gx, float* gWeight, float* gBias);

// ---- optim.cc: param, grad and state of length n, updated in place
void sgdStep(float* param, const float* grad, float* momentumBuffer, int64_t n, const SgdArgs& h);
void adamStep(float* param, const float* grad, float* expAvg, float* expAvgSq, float* maxExpAvgSq, int64_t n,
              const AdamArgs& h);
}  // namespace CK_ISA_NS
#endif
