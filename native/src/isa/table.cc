// This ISA level's kernel table (table.h): every kernel of kernels.h and ops.h compiled in CK_ISA_NS.
#include "../table.h"

namespace CK_ISA_NS {

#if CK_VBYTES == 64
static constexpr const char* kIsaName = "avx512";
#elif CK_VBYTES == 32
static constexpr const char* kIsaName = "avx2";
#else
static constexpr const char* kIsaName = "baseline";
#endif

const ck::KernelTable& kernelTable() {
  static const ck::KernelTable table = {
      kIsaName,
      gemm, gemmPackedBSize, gemmPackB, gemmPacked, conv2d, conv2dFusedSupported, conv2dFused, conv2dBackwardInput, conv2dBackwardWeight,
      locallyConnected2d, locallyConnected2dBackwardInput, locallyConnected2dBackwardWeight,
      fmaPeak, convAlgorithmName,
      unary, binary, reduce, reduceStrided, biasActivation, addActivation, activationBackward, logSoftmax,
      softmaxCrossEntropy, softmaxCrossEntropyBackward,
      maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
      channelMoments, batchNormApply, batchNormBackward,
      sgdStep, adamStep,
  };
  return table;
}

}  // namespace CK_ISA_NS
