// Elementwise unary / binary ops, reductions, the fused bias + activation epilogue and log-softmax.
// Work is cut into tasks by output ranges from the sizes alone; every output element is computed by one task with
// the same arithmetic, so 1 and N threads give identical bits. Transcendentals run in f64 (glibc) and are rounded
// once, like the reference backend's Math.exp & co.
#include <cmath>
#include "../ops.h"
#include "../parallel.h"
#include "vec.h"

namespace CK_ISA_NS {
namespace {

constexpr int64_t kGrain = 16384;  // floats per task of a streaming kernel
constexpr double kSqrtHalf = 0.7071067811865476;

// erf with |error| < 1.2e-7 (Numerical Recipes erfc): the reference backend's formula.
inline double erfNR(double x) {
  const double z = std::fabs(x), t = 1 / (1 + 0.5 * z);
  const double r = t * std::exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

// Math.pow's special cases where C's pow differs: pow(x, NaN) and pow(+-1, +-inf) are NaN in JavaScript.
inline float powJs(float a, float b) {
  const double x = a, y = b;
  if (std::isnan(y) || (std::isinf(y) && std::fabs(x) == 1.0)) return NAN;
  return static_cast<float>(std::pow(x, y));
}

template <class F>
void mapRange(const float* x, float* out, int64_t i0, int64_t i1, F f) {
  for (int64_t i = i0; i < i1; i++) out[i] = f(x[i]);
}

template <class F>
void unaryWith(const float* x, float* out, int64_t n, double nsPerElement, F f) {
  const ck::FlatSplit s(n, kGrain);
  ck::parallelForWork(s.tasks, n * nsPerElement, [&](int t) { mapRange(x, out, s.begin(t), s.end(t), f); });
}

// One segment of an output row: out[j] = f(a[j*sa], b[j*sb]) for j in [0, len), vectorisable for the common strides.
template <class F>
void binarySegment(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t len, F f) {
  if (sa == 1 && sb == 1) for (int64_t j = 0; j < len; j++) out[j] = f(a[j], b[j]);
  else if (sa == 1 && sb == 0) { const float bv = b[0]; for (int64_t j = 0; j < len; j++) out[j] = f(a[j], bv); }
  else if (sa == 0 && sb == 1) { const float av = a[0]; for (int64_t j = 0; j < len; j++) out[j] = f(av, b[j]); }
  else for (int64_t j = 0; j < len; j++) out[j] = f(a[j * sa], b[j * sb]);
}

template <class F>
void binaryWith(const float* a, const float* b, float* out, const BroadcastPlan& p, double nsPerElement, F f) {
  const int last = p.rank - 1;
  const int64_t d = p.dims[last];
  int64_t n = 1;
  for (int k = 0; k < p.rank; k++) n *= p.dims[k];
  const ck::FlatSplit s(n, kGrain);
  ck::parallelForWork(s.tasks, n * nsPerElement, [&](int t) {
    int64_t i = s.begin(t);
    const int64_t end = s.end(t);
    while (i < end) {
      int64_t row = i / d, col = i % d, len = d - col < end - i ? d - col : end - i;
      int64_t oa = col * p.sa[last], ob = col * p.sb[last];
      for (int k = last - 1; k >= 0; k--) {
        const int64_t idx = row % p.dims[k];
        row /= p.dims[k];
        oa += idx * p.sa[k];
        ob += idx * p.sb[k];
      }
      binarySegment(a + oa, p.sa[last], b + ob, p.sb[last], out + i, len, f);
      i += len;
    }
  });
}

// NaN wins (and stays) in max and min, like the reference.
inline float maxStep(float acc, float v) { return v > acc || v != v ? v : acc; }
inline float minStep(float acc, float v) { return v < acc || v != v ? v : acc; }

template <int Op>
inline float combine(float acc, float v) { return Op == 0 ? acc + v : Op == 1 ? maxStep(acc, v) : minStep(acc, v); }
template <int Op>
inline vfloat combineV(vfloat acc, vfloat v) {
  if (Op == 0) return acc + v;
  if (Op == 1) return select((v > acc) | (v != v), v, acc);
  return select((v < acc) | (v != v), v, acc);
}

// One contiguous run of r2 values reduced in 4 vectors of lanes, combined in a fixed tree, then the tail in order.
template <int Op>
float reduceRun(const float* row, int64_t r2, float init) {
  int64_t q = 0;
  float part = init;
  if (r2 >= 4 * kLanes) {
    vfloat v0 = splatf(init), v1 = v0, v2 = v0, v3 = v0;
    for (; q + 4 * kLanes <= r2; q += 4 * kLanes) {
      v0 = combineV<Op>(v0, loadf(row + q));
      v1 = combineV<Op>(v1, loadf(row + q + kLanes));
      v2 = combineV<Op>(v2, loadf(row + q + 2 * kLanes));
      v3 = combineV<Op>(v3, loadf(row + q + 3 * kLanes));
    }
    const vfloat v = combineV<Op>(combineV<Op>(v0, v1), combineV<Op>(v2, v3));
    // Lanes pairwise, always in the same tree.
    float lanes[kLanes];
    storef(lanes, v);
    for (int width = kLanes / 2; width >= 1; width /= 2)
      for (int l = 0; l < width; l++) lanes[l] = combine<Op>(lanes[l], lanes[l + width]);
    part = lanes[0];
  }
  for (; q < r2; q++) part = combine<Op>(part, row[q]);
  return part;
}

template <int Op>
void reduceOp(const float* x, float* out, int64_t k1, int64_t r1, int64_t k2, int64_t r2) {
  const float init = Op == 0 ? 0.0f : Op == 1 ? -INFINITY : INFINITY;
  // Tasks over k1 when it is large enough, else over (k1, a block of k2): output ranges either way.
  const int64_t jBlock = k1 >= 16 ? k2 : (k2 + 63) / 64 > 16 ? (k2 + 63) / 64 : 16;
  const int64_t jBlocks = (k2 + jBlock - 1) / jBlock;
  const ck::ItemSplit s(k1 * jBlocks, 256);
  const double work = static_cast<double>(k1) * r1 * k2 * r2 * ck::kNsPerStreamedFloat;
  ck::parallelForWork(s.tasks, work, [&](int t) {
    for (int64_t unit = s.begin(t); unit < s.end(t); unit++) {
      const int64_t i = unit / jBlocks, j0 = (unit % jBlocks) * jBlock, j1 = j0 + jBlock < k2 ? j0 + jBlock : k2;
      float* o = out + i * k2;
      if (r2 == 1) {
        // Columns: every output summed over r1 in order, neighbouring outputs side by side (vectorised over j).
        for (int64_t j = j0; j < j1; j++) o[j] = init;
        for (int64_t p = 0; p < r1; p++) {
          const float* xr = x + (i * r1 + p) * k2;
          for (int64_t j = j0; j < j1; j++) o[j] = combine<Op>(o[j], xr[j]);
        }
        continue;
      }
      for (int64_t j = j0; j < j1; j++) {
        float acc = init;
        for (int64_t p = 0; p < r1; p++) acc = combine<Op>(acc, reduceRun<Op>(x + ((i * r1 + p) * k2 + j) * r2, r2, init));
        o[j] = acc;
      }
    }
  });
}

}  // namespace

void unary(int op, const float* x, float* out, int64_t n) {
  const double cheap = ck::kNsPerStreamedFloat, costly = ck::kNsPerTranscendental;
  switch (op) {
    case 0: return unaryWith(x, out, n, cheap, [](float v) { return -v; });
    case 1: return unaryWith(x, out, n, costly, [](float v) { return static_cast<float>(std::exp(static_cast<double>(v))); });
    case 2: return unaryWith(x, out, n, costly, [](float v) { return static_cast<float>(std::log(static_cast<double>(v))); });
    case 3: return unaryWith(x, out, n, cheap, [](float v) { return std::sqrt(v); });  // correctly rounded, as f64 then f32
    case 4: return unaryWith(x, out, n, cheap, [](float v) { return std::fabs(v); });
    case 5: return unaryWith(x, out, n, cheap, [](float v) { return v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : 0.0f; });
    case 6: return unaryWith(x, out, n, cheap, [](float v) { return reluf(v); });
    case 7: return unaryWith(x, out, n, costly, [](float v) { return sigmoidf64(v); });
    case 8: return unaryWith(x, out, n, costly, [](float v) { return tanhf64(v); });
    case 9: return unaryWith(x, out, n, costly * 2, [](float v) {
      const double d = v;
      return static_cast<float>(0.5 * d * (1 + erfNR(d * kSqrtHalf)));
    });
    case 10: return unaryWith(x, out, n, cheap, [](float v) { return 1.0f / v; });
    default: return unaryWith(x, out, n, cheap, [](float v) { return v * v; });
  }
}

void binary(int op, const float* a, const float* b, float* out, const BroadcastPlan& p) {
  const double cheap = ck::kNsPerStreamedFloat * 2;
  switch (op) {
    case 0: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x + y; });
    case 1: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x - y; });
    case 2: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x * y; });
    case 3: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x / y; });
    case 4: return binaryWith(a, b, out, p, ck::kNsPerTranscendental * 2, [](float x, float y) { return powJs(x, y); });
    case 5: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x >= y || x != x ? x : y; });
    case 6: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x <= y || x != x ? x : y; });
    case 7: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x > y ? 1.0f : 0.0f; });
    case 8: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x >= y ? 1.0f : 0.0f; });
    case 9: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x < y ? 1.0f : 0.0f; });
    case 10: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x <= y ? 1.0f : 0.0f; });
    default: return binaryWith(a, b, out, p, cheap, [](float x, float y) { return x == y ? 1.0f : 0.0f; });
  }
}

void reduce(int op, const float* x, float* out, int64_t k1, int64_t r1, int64_t k2, int64_t r2) {
  if (op == 0) reduceOp<0>(x, out, k1, r1, k2, r2);
  else if (op == 1) reduceOp<1>(x, out, k1, r1, k2, r2);
  else reduceOp<2>(x, out, k1, r1, k2, r2);
}

void reduceStrided(int op, const float* x, float* out, int rank, const int64_t* shape, const int64_t* outStrides,
                   int64_t outLen) {
  // The reference backend's walk: x in order, every value combined into its output in f32.
  const float init = op == 0 ? 0.0f : op == 1 ? -INFINITY : INFINITY;
  for (int64_t i = 0; i < outLen; i++) out[i] = init;
  int64_t n = 1;
  for (int d = 0; d < rank; d++) n *= shape[d];
  int64_t idx[ck::kMaxRank] = {0};
  int64_t io = 0;
  for (int64_t i = 0; i < n; i++) {
    out[io] = op == 0 ? out[io] + x[i] : op == 1 ? maxStep(out[io], x[i]) : minStep(out[io], x[i]);
    for (int d = rank - 1; d >= 0; d--) {
      idx[d]++;
      io += outStrides[d];
      if (idx[d] < shape[d]) break;
      io -= outStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// out = act(a + b), elementwise over n (the residual join of a ResNet block): the bits of binary add followed by
// biasActivation's activation, in one pass.
void addActivation(const float* a, const float* b, float* out, int64_t n, int act) {
  const double cost = act >= 2 ? ck::kNsPerTranscendental : ck::kNsPerStreamedFloat * 2;
  const ck::FlatSplit s(n, kGrain);
  ck::parallelForWork(s.tasks, n * cost, [&](int t) {
    const int64_t i0 = s.begin(t), i1 = s.end(t);
    withActivation(act, [&](auto f) { for (int64_t i = i0; i < i1; i++) out[i] = f(a[i] + b[i]); });
  });
}

// out (rows, cols) in place. Without a bias there is no add at all (adding 0 would turn -0 into +0).
void biasActivation(float* out, const float* bias, int64_t rows, int64_t cols, int act) {
  const int64_t n = rows * cols;
  const double cost = act >= 2 ? ck::kNsPerTranscendental : ck::kNsPerStreamedFloat;
  const ck::FlatSplit s(n, kGrain);
  ck::parallelForWork(s.tasks, n * cost, [&](int t) {
    const int64_t i0 = s.begin(t), i1 = s.end(t);
    if (!bias) {
      if (act != 0) withActivation(act, [&](auto f) { mapRange(out, out, i0, i1, f); });
      return;
    }
    for (int64_t i = i0; i < i1;) {
      const int64_t c = i % cols, len = cols - c < i1 - i ? cols - c : i1 - i;
      float* o = out + i;
      const float* bc = bias + c;
      // The activation sees the f32 sum, as after a separate add pass.
      withActivation(act, [&](auto f) { for (int64_t j = 0; j < len; j++) o[j] = f(o[j] + bc[j]); });
      i += len;
    }
  });
}

// gx = gy * act'(x) from the saved output y; gx may alias gy.
void activationBackward(const float* y, const float* gy, float* gx, int64_t n, int act) {
  const ck::FlatSplit s(n, kGrain);
  const double cost = act >= 2 ? ck::kNsPerScalarF64 : ck::kNsPerStreamedFloat * 2;
  ck::parallelForWork(s.tasks, n * cost, [&](int t) {
    const int64_t i0 = s.begin(t), i1 = s.end(t);
    // relu: a select, as PyTorch's threshold_backward (a NaN output passes gy; y <= 0 masks even an infinite gy).
    // (gy read unconditionally, so the loop vectorises.)
    if (act == 1) for (int64_t i = i0; i < i1; i++) { const float g = gy[i]; gx[i] = y[i] <= 0.0f ? 0.0f : g; }
    else if (act == 2) for (int64_t i = i0; i < i1; i++) {
      const double g = gy[i], v = y[i];
      gx[i] = static_cast<float>(g * v * (1 - v));
    }
    else if (act == 3) for (int64_t i = i0; i < i1; i++) {
      const double g = gy[i], v = y[i];
      gx[i] = static_cast<float>(g * (1 - v * v));
    }
    else if (gx != gy) for (int64_t i = i0; i < i1; i++) gx[i] = gy[i];
  });
}

// out[r,:] = x[r,:] - (max + log(sum(exp(x[r,:] - max)))), in f64 like the reference.
void logSoftmax(const float* x, int64_t rows, int64_t cols, float* out) {
  const ck::ItemSplit s(rows, 256);
  ck::parallelForWork(s.tasks, static_cast<double>(rows) * cols * ck::kNsPerTranscendental, [&](int t) {
    for (int64_t r = s.begin(t); r < s.end(t); r++) {
      const float* xr = x + r * cols;
      const double lse = rowLogSumExp(xr, cols);
      for (int64_t j = 0; j < cols; j++) out[r * cols + j] = static_cast<float>(static_cast<double>(xr[j]) - lse);
    }
  });
}

}  // namespace CK_ISA_NS
