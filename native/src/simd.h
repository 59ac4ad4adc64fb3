// (native/src/simd.h) A float vector of CK_VBYTES bytes (GCC vector extensions) and the few operations the conv/GEMM kernels use, for
// the instruction-set level being compiled (see kernels.h). Included by native/src/isa/*.cc only.
//
// fmadd is an explicit fused multiply-add where the level has one (AVX2/AVX-512 FMA, NEON) and mul + add on SSE2:
// the compiler is never left to decide (binding.gyp and native/test/run.sh compile with -ffp-contract=off; g++ would
// otherwise fuse a*b + c in C++ even with -std=c++17), so a kernel's rounding is fixed per level.
//
// The 64-byte vector without AVX-512 (CK_VBYTES == 64 compiled with -mavx2 -mfma, no -mavx512f): the tests'
// emulated avx512 level (native/test/run.sh's avx512-emulated, the conformance suite's emulated addon), so the
// avx512 level's kernel logic (16 lanes: blocking, tails, lane-dependent code) runs on a CPU without AVX-512. GCC
// splits the vector-extension code into 256-bit halves; vsplat and fmadd, the only AVX-512 intrinsics, are built
// from two AVX2 halves here, and FMA rounds once per lane either way, so every lane gets the bits AVX-512 gives.
// A real AVX-512 build (__AVX512F__ defined) compiles the intrinsics as before.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#if CK_VBYTES >= 32
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#else
#include <emmintrin.h>
#endif

#if CK_VBYTES == 64 && !defined(__AVX512F__)
#define CK_VF_EMULATED 1
#if !defined(__AVX2__) || !defined(__FMA__)
#error "the 64-byte vector without AVX-512 is built from AVX2 + FMA halves: compile with -mavx2 -mfma"
#endif
#endif

namespace CK_ISA_NS {

// Floats per vector.
constexpr int VL = CK_VBYTES / 4;
typedef float vf __attribute__((vector_size(CK_VBYTES)));
#ifdef CK_VF_EMULATED
// Half of vf: one AVX2 register.
typedef float vf8 __attribute__((vector_size(32)));
static inline vf8 vlow(vf v) { return __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7); }
static inline vf8 vhigh(vf v) { return __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15); }
static inline vf vjoin(vf8 lo, vf8 hi) { return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
#endif
// The same vector at any 4-byte alignment, for loads and stores.
typedef float vfu __attribute__((vector_size(CK_VBYTES), aligned(4)));

static inline vf vload(const float* p) { return *reinterpret_cast<const vfu*>(p); }
static inline void vstore(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }
// The emulated level's check that p is CK_VBYTES-aligned, where a kernel reads or writes a whole vf in place: its
// AVX2 halves need only 32 bytes, so a 64-byte vector 32 bytes off would pass the tests and fault (or be undefined)
// on AVX-512. Elsewhere nothing.
static inline void vassumeAligned(const float* p) {
#ifdef CK_VF_EMULATED
  if (reinterpret_cast<std::uintptr_t>(p) % CK_VBYTES != 0) {
    std::fprintf(stderr, "convkit: a 64-byte vector at %p, not 64-byte aligned (the avx512 level would fault)\n", static_cast<const void*>(p));
    std::abort();
  }
#else
  (void)p;
#endif
}
// A vector from / to p, which is CK_VBYTES-aligned (packed panels, padded rows): the compiler may fold the load.
static inline vf vloadAligned(const float* p) {
  vassumeAligned(p);
  return *reinterpret_cast<const vf*>(p);
}
static inline void vstoreAligned(float* p, vf v) {
  vassumeAligned(p);
  *reinterpret_cast<vf*>(p) = v;
}
// x in every lane (an intrinsic: `vf{} + x` would cost an add and turn -0 into +0).
static inline vf vsplat(float x) {
#ifdef CK_VF_EMULATED
  const vf8 h = (vf8)_mm256_set1_ps(x);
  return vjoin(h, h);
#elif CK_VBYTES == 64
  return (vf)_mm512_set1_ps(x);
#elif CK_VBYTES == 32
  return (vf)_mm256_set1_ps(x);
#elif defined(__aarch64__)
  return (vf)vdupq_n_f32(x);
#else
  return (vf)_mm_set1_ps(x);
#endif
}
// a * b + c
static inline vf fmadd(vf a, vf b, vf c) {
#ifdef CK_VF_EMULATED
  return vjoin((vf8)_mm256_fmadd_ps((__m256)vlow(a), (__m256)vlow(b), (__m256)vlow(c)),
               (vf8)_mm256_fmadd_ps((__m256)vhigh(a), (__m256)vhigh(b), (__m256)vhigh(c)));
#elif CK_VBYTES == 64
  return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif CK_VBYTES == 32
  return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#elif defined(__aarch64__)
  return (vf)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
#else
  return a * b + c;
#endif
}
// Scalar a * b + c rounded as fmadd rounds it (one rounding where the level has FMA), for tails.
static inline float fmadd1(float a, float b, float c) {
#if CK_VBYTES >= 32 || defined(__aarch64__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

// A growable 64-byte-aligned float buffer, one per thread and purpose (thread_local at the call site): kernels
// called from pool tasks each get their own.
struct Scratch {
  float* data = nullptr;
  size_t capacity = 0;
  float* get(size_t floats) {
    if (floats > capacity) {
      std::free(data);
      size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
      data = static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64));
      if (!data) std::abort();
      capacity = floats;
    }
    return data;
  }
  ~Scratch() { std::free(data); }
};

}  // namespace CK_ISA_NS
