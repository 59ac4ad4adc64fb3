// Batch-norm kernels, in f32 vectors with f64 only where accuracy needs it (the scheme of the wasm backend's
// asm/norm.ts). Sums add f32 partial sums over blocks of at most kBlock floats of a row in four independent vector
// accumulators, then promote each block's lanes to f64 and add them in f64 across blocks and rows: an f32 lane adds
// at most kBlock / (4 * kLanes) terms (8 with AVX2), so the rounding stays near f32's own. Per-channel constants are
// computed in f64 and rounded to f32 once. The elementwise passes work in f32 on centred values (x - mean,
// gy - mean(gy)), so their rounding is relative to the output rather than to the mean they remove, and use no FMA:
// they give the same bits at every ISA level (the sums' lane order depends on the vector width).
// Sums that overflow f32 (a diverging run's 1e37 activations) or meet a non-finite input are redone for that channel
// in f64 element by element, as the reference. Tasks are groups of channels (or of rows for batchNormApply); a
// channel's arithmetic never depends on the split, so 1 and N threads give identical bits.
// Time at (128,16,1024) (bench/native-kernels.ts, AMD EPYC, 1 thread, load average 1.3): channelMoments 0.48 ms
// (the f64 kernels 0.76), batchNormApply 0.47 (0.52, memory-bound), batchNormBackward 1.66 (2.23); wasm's 0.52,
// 0.54 and 2.17 in the same runs.
#include <cmath>
#include "../ops.h"
#include "../parallel.h"
#include "vec.h"

namespace CK_ISA_NS {
namespace {

constexpr int64_t kBlock = 256;
constexpr int kStep = 4 * kLanes;  // floats per step of the four accumulators

// The f64 lanes of a block's f32 lane sums, added into lo (the low half's lanes) and hi.
inline void addWide(vdouble& lo, vdouble& hi, vfloat v) {
  vhalf h[2];
  std::memcpy(h, &v, sizeof v);
  lo += __builtin_convertvector(h[0], vdouble);
  hi += __builtin_convertvector(h[1], vdouble);
}

// s in every lane, -0 included (vec.h's splatf adds to +0 vectors, which turns -0 into +0; s - 0 is s).
inline vfloat broadcast(float s) { return s - vfloat{}; }

inline double laneTotal(vdouble lo, vdouble hi) {
  const vdouble v = lo + hi;
  double s = 0;
  for (int l = 0; l < kDoubleLanes; l++) s += v[l];
  return s;
}

// Lanes of sum(f(p[i])) over [0, len) in f32, len a multiple of kLanes and at most kBlock.
template <class F>
inline vfloat blockSum(const float* p, int64_t len, F f) {
  vfloat a0{}, a1{}, a2{}, a3{};
  int64_t i = 0;
  for (; i + kStep <= len; i += kStep) {
    a0 += f(loadf(p + i));
    a1 += f(loadf(p + i + kLanes));
    a2 += f(loadf(p + i + 2 * kLanes));
    a3 += f(loadf(p + i + 3 * kLanes));
  }
  for (; i < len; i += kLanes) a0 += f(loadf(p + i));
  return (a0 + a1) + (a2 + a3);
}

// Channel ch of x (N,C,HW) in f64 lanes: sum of f over the vector part of every row (the first hw - hw % kLanes
// floats), then the tails of every row in f64 (g): the same sums as row by row, and short rows (BatchNorm1d's HW = 1)
// skip the vector loops' overhead.
template <class F, class G>
inline double channelSum(const float* x, int64_t n, int64_t c, int64_t hw, int64_t ch, F f, G g) {
  const int64_t hwv = hw - hw % kLanes;
  vdouble lo{}, hi{};
  for (int64_t b = 0; b < n && hwv > 0; b++) {
    const float* row = x + (b * c + ch) * hw;
    for (int64_t j = 0; j < hwv; j += kBlock) addWide(lo, hi, blockSum(row + j, std::min(kBlock, hwv - j), f));
  }
  double tail = 0;
  for (int64_t b = 0; b < n && hwv < hw; b++)
    for (int64_t i = hwv; i < hw; i++) tail += g(static_cast<double>(x[(b * c + ch) * hw + i]));
  return laneTotal(lo, hi) + tail;
}

// Channel ch summed in f64 element by element (x, or (x - m)^2 when squares): the fallback where f32 partial sums
// overflow; rare, so plain scalar code.
double channelSumF64(const float* x, int64_t n, int64_t c, int64_t hw, int64_t ch, bool squares, double m) {
  double s = 0;
  for (int64_t b = 0; b < n; b++) {
    const float* row = x + (b * c + ch) * hw;
    for (int64_t i = 0; i < hw; i++) {
      const double v = row[i];
      s += squares ? (v - m) * (v - m) : v;
    }
  }
  return s;
}

}  // namespace

// x (N,C,HW) -> mean, biased variance (C). Two passes per channel, the mean then the squared deviations (not
// sum(x^2) - sum(x)^2/M, which cancels when the mean is large against the spread). The deviations are taken from
// a = f32(mean), exact in f32 where x is near the mean, and sum((x - a)^2) = sum((x - m)^2) + M*(m - a)^2 (as
// sum(x - m) = 0) removes the shift in f64.
void channelMoments(const float* x, int64_t n, int64_t c, int64_t hw, float* mean, float* variance) {
  const double count = static_cast<double>(n) * static_cast<double>(hw);
  const ck::ItemSplit s(c, 256);
  ck::parallelForWork(s.tasks, static_cast<double>(n) * c * hw * ck::kNsPerStreamedFloat * 2, [&](int t) {
    for (int64_t ch = s.begin(t); ch < s.end(t); ch++) {
      double m = channelSum(x, n, c, hw, ch, [](vfloat v) { return v; }, [](double v) { return v; }) / count;
      if (!std::isfinite(m)) m = channelSumF64(x, n, c, hw, ch, false, 0) / count;
      const float a = static_cast<float>(m);
      const vfloat va = broadcast(a);
      const double da = a;
      const double shift = m - da;
      double v = channelSum(x, n, c, hw, ch, [va](vfloat e) { const vfloat d = e - va; return d * d; },
                            [da](double e) { return (e - da) * (e - da); }) / count - shift * shift;
      if (v < 0) v = 0;  // rounding; NaN stays NaN (and goes to the f64 sums below, as the reference)
      if (!std::isfinite(v)) v = channelSumF64(x, n, c, hw, ch, true, m) / count;
      mean[ch] = a;
      variance[ch] = static_cast<float>(v);
    }
  });
}

// out = (x - mean)*scale + bias in f32, scale = invStd*weight computed in f64 and rounded once. x - mean first, not
// x*scale + shift: the rounding is then relative to the output even where the mean is large against the spread.
void batchNormApply(const float* x, int64_t n, int64_t c, int64_t hw, const float* mean, const float* invStd,
                    const float* weight, const float* bias, float* out) {
  const ck::ItemSplit s(n * c, 1024);
  ck::parallelForWork(s.tasks, static_cast<double>(n) * c * hw * ck::kNsPerStreamedFloat * 2, [&](int t) {
    for (int64_t row = s.begin(t); row < s.end(t); row++) {
      const int64_t ch = row % c;
      const double scale = static_cast<double>(invStd[ch]) * (weight ? static_cast<double>(weight[ch]) : 1.0);
      const float sc = static_cast<float>(scale);
      const float m = mean[ch], h = bias ? bias[ch] : 0.0f;
      const float* xr = x + row * hw;
      float* orow = out + row * hw;
      if (!std::isfinite(sc) || !std::isfinite(m)) {
        // NaN or infinite statistics: the reference's formula, whose NaN and infinities the centred one does not share
        const double shift = (bias ? static_cast<double>(bias[ch]) : 0.0) - static_cast<double>(m) * scale;
        for (int64_t i = 0; i < hw; i++) orow[i] = static_cast<float>(static_cast<double>(xr[i]) * scale + shift);
        continue;
      }
      const vfloat vs = broadcast(sc), vm = broadcast(m), vh = broadcast(h);
      int64_t i = 0;
      for (; i + 2 * kLanes <= hw; i += 2 * kLanes) {
        storef(orow + i, (loadf(xr + i) - vm) * vs + vh);
        storef(orow + i + kLanes, (loadf(xr + i + kLanes) - vm) * vs + vh);
      }
      for (; i + kLanes <= hw; i += kLanes) storef(orow + i, (loadf(xr + i) - vm) * vs + vh);
      for (; i < hw; i++) orow[i] = (xr[i] - m) * sc + h;
    }
  });
}

// Training statistics: gx = invStd*w/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)); fixed statistics: gx = gy*w*invStd.
// gWeight = sum(gy*xhat), gBias = sum(gy). First pass: sum(gy) and sum(gy*(x - mean)) (times invStd in f64 at the
// end) in one read of the rows. Second pass, in f32: gx = A*(gy - gm) + (B*(x - mean) + C) with A = w*invStd,
// gm = f32(sum(gy)/M), B = -A*invStd*sum(gy*xhat)/M and C = A*(gm - sum(gy)/M) (what rounding gm left out), each
// computed in f64 and rounded once: centring gy keeps the rounding relative to gx when gy has a large mean.
void batchNormBackward(const float* x, const float* gy, int64_t n, int64_t c, int64_t hw, const float* mean,
                       const float* invStd, const float* weight, bool training, float* gx, float* gWeight, float* gBias) {
  const double count = static_cast<double>(n) * static_cast<double>(hw);
  const int64_t hwv = hw - hw % kLanes;
  const ck::ItemSplit s(c, 256);
  ck::parallelForWork(s.tasks, static_cast<double>(n) * c * hw * ck::kNsPerStreamedFloat * 5, [&](int t) {
    for (int64_t ch = s.begin(t); ch < s.end(t); ch++) {
      const float m = mean[ch];
      const double is = invStd[ch], wv = weight ? static_cast<double>(weight[ch]) : 1.0;
      const vfloat vm = broadcast(m);
      vdouble glo{}, ghi{}, plo{}, phi{};
      for (int64_t b = 0; b < n && hwv > 0; b++) {
        const float* xr = x + (b * c + ch) * hw;
        const float* gr = gy + (b * c + ch) * hw;
        for (int64_t j = 0; j < hwv; j += kBlock) {
          const int64_t end = std::min(j + kBlock, hwv);
          vfloat g0{}, g1{}, p0{}, p1{};
          int64_t i = j;
          for (; i + 2 * kLanes <= end; i += 2 * kLanes) {
            const vfloat a0 = loadf(gr + i), a1 = loadf(gr + i + kLanes);
            g0 += a0;
            g1 += a1;
            p0 += a0 * (loadf(xr + i) - vm);
            p1 += a1 * (loadf(xr + i + kLanes) - vm);
          }
          for (; i < end; i += kLanes) {
            const vfloat a0 = loadf(gr + i);
            g0 += a0;
            p0 += a0 * (loadf(xr + i) - vm);
          }
          addWide(glo, ghi, g0 + g1);
          addWide(plo, phi, p0 + p1);
        }
      }
      double gTail = 0, pTail = 0;
      for (int64_t b = 0; b < n && hwv < hw; b++) {
        const int64_t off = (b * c + ch) * hw;
        for (int64_t i = hwv; i < hw; i++) {
          const double g = gy[off + i];
          gTail += g;
          pTail += g * (static_cast<double>(x[off + i]) - m);
        }
      }
      double sumGy = laneTotal(glo, ghi) + gTail, sumGyXhat = (laneTotal(plo, phi) + pTail) * is;
      if (!std::isfinite(sumGy) || !std::isfinite(sumGyXhat)) {
        // f32 block sums overflowed (or an input is not finite): the f64 sums, element by element, as the reference
        sumGy = 0;
        sumGyXhat = 0;
        for (int64_t b = 0; b < n; b++) {
          const int64_t off = (b * c + ch) * hw;
          for (int64_t i = 0; i < hw; i++) {
            const double g = gy[off + i];
            sumGy += g;
            sumGyXhat += g * (static_cast<double>(x[off + i]) - m) * is;
          }
        }
      }
      gWeight[ch] = static_cast<float>(sumGyXhat);
      gBias[ch] = static_cast<float>(sumGy);
      if (!training) {
        const float sc = static_cast<float>(wv * is);
        const vfloat vs = broadcast(sc);
        for (int64_t b = 0; b < n; b++) {
          const int64_t off = (b * c + ch) * hw;
          const float* gr = gy + off;
          float* out = gx + off;
          int64_t i = 0;
          for (; i + kLanes <= hw; i += kLanes) storef(out + i, loadf(gr + i) * vs);
          for (; i < hw; i++) out[i] = gr[i] * sc;
        }
        continue;
      }
      const double a = wv * is, meanGy = sumGy / count;
      const float gm = static_cast<float>(meanGy);
      const float A = static_cast<float>(a), B = static_cast<float>(-a * is * sumGyXhat / count),
                  C = static_cast<float>(a * (static_cast<double>(gm) - meanGy));
      if (!std::isfinite(A) || !std::isfinite(B) || !std::isfinite(C) || !std::isfinite(gm) || !std::isfinite(m)) {
        // NaN or infinite sums or statistics: the reference's formula in f64, whose NaN and infinities the centred
        // one does not share (an infinite gy makes gy - mean(gy) NaN everywhere, the reference -infinity)
        const double factor = a / count;
        for (int64_t b = 0; b < n; b++) {
          const int64_t off = (b * c + ch) * hw;
          for (int64_t i = 0; i < hw; i++) {
            const double xhat = (static_cast<double>(x[off + i]) - m) * is;
            gx[off + i] = static_cast<float>(factor * (count * static_cast<double>(gy[off + i]) - sumGy - xhat * sumGyXhat));
          }
        }
        continue;
      }
      const vfloat vA = broadcast(A), vB = broadcast(B), vC = broadcast(C), vgm = broadcast(gm);
      // Last row first: the rows the first pass read last are the ones still in cache.
      for (int64_t b = n - 1; b >= 0; b--) {
        const int64_t off = (b * c + ch) * hw;
        const float* xr = x + off;
        const float* gr = gy + off;
        float* out = gx + off;
        int64_t i = 0;
        for (; i + kLanes <= hw; i += kLanes) storef(out + i, vA * (loadf(gr + i) - vgm) + (vB * (loadf(xr + i) - vm) + vC));
        for (; i < hw; i++) out[i] = A * (gr[i] - gm) + (B * (xr[i] - m) + C);
      }
    }
  });
}

}  // namespace CK_ISA_NS
