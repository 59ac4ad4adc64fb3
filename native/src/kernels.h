// The native backend's shared C++ interface (src/backend/native/ is its TypeScript side).
//
// Instruction-set levels: every kernel source (gemm.cc, conv*.cc, elementwise.cc, ...) is compiled once per level,
// with CK_ISA_NS defined to the level's namespace and CK_VBYTES to its vector width in bytes:
//   ck_avx512 (64: -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma), ck_avx2 (32: -mavx2 -mfma),
//   ck_base (16: SSE2 on x86-64, NEON on arm64).
// The addon (addon.cc, pool.cc, dispatch.cc: compiled once, baseline flags) picks one level's KernelTable at load
// (the CPU's best, or CONVKIT_NATIVE_ISA=avx512|avx2|baseline).
// No -ffast-math anywhere: NaN and infinity must propagate as in PyTorch.
//
// Determinism: threads only choose which whole tasks they run. A kernel cuts its work into tasks from the geometry
// alone (never from the thread count), every output element is written by one task, and every reduction runs in a
// fixed order inside a task, so 1 and N threads give identical bits.
#pragma once
#include <cstddef>
#include <cstdint>

#ifndef CK_VBYTES
#define CK_VBYTES 16
#endif

namespace ck {

// Geometry of a 2-D convolution, as src/backend/backend.ts's Conv2dGeometry (also locally connected, groups = 1).
struct ConvGeom {
  int n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH, outW;
};
// Geometry of a 2-D pooling window, as Pool2dGeometry.
struct PoolGeom {
  int n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW;
};
enum class Activation : int { none = 0, relu = 1, sigmoid = 2, tanh = 3 };

// ---- the thread pool (pool.cc, compiled once) ----
// Runs fn(ctx, task) for every task in [0, tasks) on the pool's threads and the calling thread; returns when all
// are done. Tasks must write disjoint outputs. Nested calls run inline on the calling thread.
void parallelFor(int tasks, void (*fn)(void* ctx, int task), void* ctx);
// Threads the pool uses now (>= 1).
int poolThreads();
template <class F>
inline void parallelFor(int tasks, const F& f) {
  parallelFor(tasks, [](void* c, int t) { (*static_cast<const F*>(c))(t); }, const_cast<F*>(&f));
}

}  // namespace ck

#ifdef CK_ISA_NS
namespace CK_ISA_NS {
using ck::ConvGeom;
using ck::PoolGeom;
using ck::Activation;

// C[m,n] (+)= op(A) @ op(B), row-major, dense: op(A) is m x k (A is [m,k], or [k,m] when transA); op(B) is k x n
// (B is [k,n], or [n,k] when transB). accumulate: add into C, else overwrite. (gemm.cc)
void gemm(bool transA, bool transB, int m, int n, int k, const float* a, const float* b, float* c, bool accumulate);
// op(B) (k x n) packed once for many products (frozen inference weights): gemmPackedBSize floats in this level's
// panel layout, written by gemmPackB. gemmPacked: C[m,n] = act(A @ op(B) + bias) with A [m,k] row-major and bias (n)
// or null, the same bits as gemm(false, transB, ...) followed by biasActivation. (gemm.cc)
int64_t gemmPackedBSize(int n, int k);
void gemmPackB(bool transB, int n, int k, const float* b, float* out);
void gemmPacked(int m, int n, int k, const float* a, const float* packedB, float* c, const float* bias, Activation act);

// x (N,C,H,W), w (O,C/g,KH,KW), bias (O) or null, out (N,O,OH,OW). (conv.cc)
void conv2d(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out);
// Whether conv2dFused takes this geometry and epilogue (else the caller runs conv2d, then its own epilogue).
bool conv2dFusedSupported(const ConvGeom& g, Activation activation, bool maxPool2x2);
// conv2d, then activation after the bias, then (maxPool2x2) 2x2 stride-2 floor-mode max pooling: out is
// (N,O,OH/2,OW/2) with pooling, else (N,O,OH,OW). Bit-identical to the separate kernels. With pooling, argmax
// (the shape of out) or null receives each maximum's flat index in its convolution plane, as maxPool2d's does; with
// ReLU the pooling runs before the activation, so where a window holds no positive value the index is that of its
// largest value rather than of the first (the gradient there is 0 either way).
void conv2dFused(const float* x, const float* w, const float* bias, const ConvGeom& g, Activation activation,
                 bool maxPool2x2, float* out, int32_t* argmax);
// gy (N,O,OH,OW), w -> gx (N,C,H,W), overwritten.
void conv2dBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx);
// x, gy -> gw (O,C/g,KH,KW), overwritten.
void conv2dBackwardWeight(const float* x, const float* gy, const ConvGeom& g, float* gw);

// Locally connected: w (OH*OW, O, C, KH, KW), bias (O,OH,OW) or null. (locally.cc)
void locallyConnected2d(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out);
void locallyConnected2dBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx);
void locallyConnected2dBackwardWeight(const float* x, const float* gy, const ConvGeom& g, float* gw);

// The FMA (or, on baseline x86, mul+add) peak: `iterations` of an unrolled independent-accumulator loop on each of
// `threads` threads; returns the flops performed (the caller times it). For bench/gemm.mjs. (peak.cc)
double fmaPeak(int64_t iterations, int threads);

// The algorithm conv2d / the backward passes choose for g, for tests and benchmarks: "gemm", "winograd", "direct", and for the forward of stride-2 layers "stride2".
// pass: 0 forward, 1 input gradient, 2 weight gradient. (conv.cc)
const char* convAlgorithmName(const ConvGeom& g, int pass);
}  // namespace CK_ISA_NS
#endif
