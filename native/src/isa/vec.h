// Helpers shared by this ISA level's kernel files: GCC vector types of the level's width (CK_VBYTES), unaligned
// loads and stores, JavaScript's Math.max, and the f64 activation formulas of the reference backend.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include "../kernels.h"

namespace CK_ISA_NS {

constexpr int kLanes = CK_VBYTES / 4;  // floats per vector
typedef float vfloat __attribute__((vector_size(CK_VBYTES)));
typedef double vdouble __attribute__((vector_size(CK_VBYTES)));
typedef float vhalf __attribute__((vector_size(CK_VBYTES / 2)));  // as many floats as vdouble has doubles
typedef int32_t vint __attribute__((vector_size(CK_VBYTES)));      // comparison masks (0 or -1 per lane)
constexpr int kDoubleLanes = CK_VBYTES / 8;

inline vfloat loadf(const float* p) { vfloat v; std::memcpy(&v, p, sizeof v); return v; }
inline void storef(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
inline vfloat splatf(float s) { return vfloat{} + s; }
// Lanes of a where mask is set, else of b (bit operations: portable across GCC and clang, unlike ?: on vectors).
inline vfloat select(vint mask, vfloat a, vfloat b) { return (vfloat)((mask & (vint)a) | (~mask & (vint)b)); }
inline vint select(vint mask, vint a, vint b) { return (mask & a) | (~mask & b); }
// kDoubleLanes floats from p, widened to f64.
inline vdouble loadWide(const float* p) { vhalf h; std::memcpy(&h, p, sizeof h); return __builtin_convertvector(h, vdouble); }

// JavaScript's Math.max(m, v): NaN if either is NaN, and +0 above -0.
inline double jsMax(double m, double v) {
  if (std::isnan(m) || std::isnan(v)) return NAN;
  return v > m || (v == m && std::signbit(m)) ? v : m;
}

// log(sum(exp(x[0..cols)))) in f64, shifted by the row's maximum so no exp overflows (the reference's rowLogSumExp).
inline double rowLogSumExp(const float* x, int64_t cols) {
  double m = -INFINITY;
  for (int64_t j = 0; j < cols; j++) m = jsMax(m, x[j]);
  double sum = 0;
  for (int64_t j = 0; j < cols; j++) sum += std::exp(static_cast<double>(x[j]) - m);
  return m + std::log(sum);
}

// The reference backend's formulas, in f64 and rounded once.
inline float reluf(float v) { return v <= 0.0f ? 0.0f : v; }  // NaN stays NaN, as torch.relu
inline float sigmoidf64(float v) {
  const double x = v;
  return static_cast<float>(x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)));
}
inline float tanhf64(float v) { return static_cast<float>(std::tanh(static_cast<double>(v))); }

// The one switch over the fused activations (native/src/kernels.h's Activation codes: 0 none, 1 relu, 2 sigmoid,
// 3 tanh): calls body with the activation as a function object, so the loops in body are compiled once per
// activation (relu's vectorise) and every fused epilogue applies the same formula.
template <class Body>
inline void withActivation(int act, Body&& body) {
  switch (act) {
    case 1: return body([](float v) { return reluf(v); });
    case 2: return body([](float v) { return sigmoidf64(v); });
    case 3: return body([](float v) { return tanhf64(v); });
    default: return body([](float v) { return v; });
  }
}

}  // namespace CK_ISA_NS
