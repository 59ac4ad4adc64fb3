// convkit's wasm kernels (AssemblyScript). Built by scripts/build-wasm.mjs with
//   --runtime stub --noAssert --enable simd,threads --importMemory --sharedMemory
// The module allocates nothing: the host owns the memory layout and passes byte addresses. Every kernel
// takes (tid, nt) last and computes only thread tid's share of its output.
export { gemm, GEMM_SCRATCH } from './gemm';
export {
  conv2dForward, conv2dBackwardInput, conv2dBackwardWeight,
  locallyConnected2dForward, locallyConnected2dBackwardInput, locallyConnected2dBackwardWeight,
} from './conv';
export { winogradFilter, winogradConv, winogradScratchFloats, winogradWeightGrad, winogradWeightGradFinish, winogradWeightGradScratchFloats,
  winogradWeightGradGroups, winogradWeightGradTiles, winogradFilterPlane } from './winograd';
export { winograd4Filter, winograd4Conv, winograd4ScratchFloats, winograd4FilterPlane } from './winograd4';
export {
  directConv2dForward, directConv2dBackwardWeight, directConv2dBackwardInput,
  directForwardScratch, directWeightGradScratch, directInputGradScratch, directWeightGradFinish, directWeightGradImageGroups,
} from './direct';
export { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward } from './pool';
export { unary, binary, reduce, logSoftmax, anyNonFinite } from './elementwise';
export { channelMoments, batchNormApply, batchNormBackward } from './norm';
export { biasActivation, activationBackward } from './fused';
export { sgdStep, adamStep } from './optim';
export { softmaxCrossEntropy, softmaxCrossEntropyBackward } from './loss';
export { simdPeak } from './peak';

/**
 * The stamp of the asm/ sources and asc options this module was compiled from (scripts/kernels-stamp.mjs):
 * scripts/build-wasm.mjs defines KERNELS_SOURCE_STAMP with `--use`. The JavaScript compares it with the stamp it
 * was compiled with (src/backend/wasm/kernels-stamp.ts) and refuses kernels built from other sources.
 */
// @ts-ignore: defined on the asc command line, not in any source file
export const KERNELS_STAMP: i32 = KERNELS_SOURCE_STAMP;

/** First byte after the module's static data: the host places its own blocks above it. */
export const HEAP_BASE: usize = __heap_base;

/** Zero `bytes` bytes at `ptr` (the heap zero-fills blocks with this: TypedArray.fill is slow on shared memory). */
export function fillZero(ptr: usize, bytes: usize): void {
  memory.fill(ptr, 0, bytes);
}
