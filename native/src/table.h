// One ISA level's kernels as a table of function pointers: isa/table.cc fills it in each level's namespace, and
// dispatch.cc picks one table at load. The addon calls kernels only through it.
#pragma once
#include <cstdint>
#include "kernels.h"
#include "ops.h"

namespace ck {
struct KernelTable {
  const char* isa;  // "avx512", "avx2" or "baseline"
  // kernels.h
  void (*gemm)(bool, bool, int, int, int, const float*, const float*, float*, bool);
  int64_t (*gemmPackedBSize)(int, int);
  void (*gemmPackB)(bool, int, int, const float*, float*);
  void (*gemmPacked)(int, int, int, const float*, const float*, float*, const float*, Activation);
  void (*conv2d)(const float*, const float*, const float*, const ConvGeom&, float*);
  bool (*conv2dFusedSupported)(const ConvGeom&, Activation, bool);
  void (*conv2dFused)(const float*, const float*, const float*, const ConvGeom&, Activation, bool, float*, int32_t*);
  void (*conv2dBackwardInput)(const float*, const float*, const ConvGeom&, float*);
  void (*conv2dBackwardWeight)(const float*, const float*, const ConvGeom&, float*);
  void (*locallyConnected2d)(const float*, const float*, const float*, const ConvGeom&, float*);
  void (*locallyConnected2dBackwardInput)(const float*, const float*, const ConvGeom&, float*);
  void (*locallyConnected2dBackwardWeight)(const float*, const float*, const ConvGeom&, float*);
  double (*fmaPeak)(int64_t, int);
  const char* (*convAlgorithmName)(const ConvGeom&, int);
  // ops.h
  void (*unary)(int, const float*, float*, int64_t);
  void (*binary)(int, const float*, const float*, float*, const BroadcastPlan&);
  void (*reduce)(int, const float*, float*, int64_t, int64_t, int64_t, int64_t);
  void (*reduceStrided)(int, const float*, float*, int, const int64_t*, const int64_t*, int64_t);
  void (*biasActivation)(float*, const float*, int64_t, int64_t, int);
  void (*addActivation)(const float*, const float*, float*, int64_t, int);
  void (*activationBackward)(const float*, const float*, float*, int64_t, int);
  void (*logSoftmax)(const float*, int64_t, int64_t, float*);
  void (*softmaxCrossEntropy)(const float*, int64_t, int64_t, const int32_t*, const float*, double, float*, float*);
  void (*softmaxCrossEntropyBackward)(const float*, const float*, int64_t, int64_t, const int32_t*, const float*, double,
                                      const float*, float*);
  void (*maxPool2d)(const float*, const PoolGeom&, float*, int32_t*);
  void (*maxPool2dBackward)(const float*, const int32_t*, const PoolGeom&, float*);
  void (*avgPool2d)(const float*, const PoolGeom&, bool, double, float*);
  void (*avgPool2dBackward)(const float*, const PoolGeom&, bool, double, float*);
  void (*channelMoments)(const float*, int64_t, int64_t, int64_t, float*, float*);
  void (*batchNormApply)(const float*, int64_t, int64_t, int64_t, const float*, const float*, const float*, const float*,
                         float*);
  void (*batchNormBackward)(const float*, const float*, int64_t, int64_t, int64_t, const float*, const float*,
                            const float*, bool, float*, float*, float*);
  void (*sgdStep)(float*, const float*, float*, int64_t, const SgdArgs&);
  void (*adamStep)(float*, const float*, float*, float*, float*, int64_t, const AdamArgs&);
};
}  // namespace ck

// Each level's table (isa/table.cc); the x86 levels exist only in x86-64 builds (CK_X86_LEVELS).
namespace ck_base { const ck::KernelTable& kernelTable(); }
#ifdef CK_X86_LEVELS
namespace ck_avx2 { const ck::KernelTable& kernelTable(); }
namespace ck_avx512 { const ck::KernelTable& kernelTable(); }
#endif
