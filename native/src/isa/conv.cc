// 2-D convolution: forward (plain and fused with bias + activation + 2x2 max pooling), input gradient, weight
// gradient (kernels.h). The baseline is im2col + gemm (gemm.cc); convAlgorithmName reports which path a geometry
// takes. Every path cuts work into tasks from the geometry alone (see kernels.h's determinism rule).
#include <vector>
#include "vec.h"  // the activation formulas of the separate kernels (elementwise.cc)
#include "conv-common.h"
#include "kernels.h"
#include "simd.h"

namespace CK_ISA_NS {

namespace {
// The output columns [lo, hi) whose input column ox * stride + x0 lies in [0, w) (the others read padding).
inline void stridedRange(int x0, int stride, int w, int outW, int& lo, int& hi) {
  lo = x0 < 0 ? (-x0 + stride - 1) / stride : 0;
  hi = w - 1 - x0 >= 0 ? (w - 1 - x0) / stride + 1 : 0;
  if (hi > outW) hi = outW;
  if (lo > hi) lo = hi;
}
}  // namespace

void im2col(const float* x, int cg, const ConvGeom& g, float* col) {
  const int p = g.outH * g.outW;
  float* row = col;
  for (int c = 0; c < cg; c++) {
    const float* plane = x + (long)c * g.h * g.w;
    for (int i = 0; i < g.kh; i++) {
      for (int j = 0; j < g.kw; j++, row += p) {
        // ix = ox * strideW + x0 lies in [0, w) for ox in [lo, hi)
        const int x0 = j * g.dilationW - g.padW;
        int lo, hi;
        stridedRange(x0, g.strideW, g.w, g.outW, lo, hi);
        for (int oy = 0; oy < g.outH; oy++) {
          int iy = oy * g.strideH - g.padH + i * g.dilationH;
          float* dst = row + oy * g.outW;
          if (iy < 0 || iy >= g.h) {
            std::memset(dst, 0, sizeof(float) * g.outW);
            continue;
          }
          const float* src = plane + (long)iy * g.w + x0;
          for (int ox = 0; ox < lo; ox++) dst[ox] = 0;
          if (g.strideW == 1) {
            if (hi > lo) std::memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
          } else if (g.strideW == 2) {  // a constant stride: the loop vectorises
            for (int ox = lo; ox < hi; ox++) dst[ox] = src[2 * ox];
          } else {
            for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * g.strideW];
          }
          for (int ox = hi; ox < g.outW; ox++) dst[ox] = 0;
        }
      }
    }
  }
}

void col2imAdd(const float* col, int cg, const ConvGeom& g, float* gx) {
  const int p = g.outH * g.outW;
  const float* row = col;
  for (int c = 0; c < cg; c++) {
    float* plane = gx + (long)c * g.h * g.w;
    for (int i = 0; i < g.kh; i++) {
      for (int j = 0; j < g.kw; j++, row += p) {
        const int x0 = j * g.dilationW - g.padW;
        int lo, hi;
        stridedRange(x0, g.strideW, g.w, g.outW, lo, hi);
        for (int oy = 0; oy < g.outH; oy++) {
          int iy = oy * g.strideH - g.padH + i * g.dilationH;
          if (iy < 0 || iy >= g.h) continue;
          const float* src = row + oy * g.outW;
          float* dst = plane + (long)iy * g.w + x0;
          if (g.strideW == 1)
            for (int ox = lo; ox < hi; ox++) dst[ox] += src[ox];
          else if (g.strideW == 2)
            for (int ox = lo; ox < hi; ox++) dst[2 * ox] += src[ox];
          else
            for (int ox = lo; ox < hi; ox++) dst[ox * g.strideW] += src[ox];
        }
      }
    }
  }
}

namespace {

thread_local Scratch colScratch, poolInputScratch;

// Runs fn(b) for every image: as one pool task per image when there are several (the gemm inside then runs
// inline), else on the calling thread with gemm's own tasks. Either way each output element gets the same sum.
template <class F>
void forEachImage(int n, const F& fn) {
  if (n >= 2) ck::parallelFor(n, fn);
  else
    for (int b = 0; b < n; b++) fn(b);
}

// out (O, OH, OW) of image b by im2col + gemm, plus bias.
void forwardImageGemm(const float* x, const float* w, const float* bias, const ConvGeom& g, int b, float* out) {
  const int cg = g.cIn / g.groups, og = g.cOut / g.groups, kk = convReduction(g), p = g.outH * g.outW;
  const bool pointwise = convPointwise(g);
  float* col = pointwise ? nullptr : colScratch.get((size_t)kk * p);
  for (int grp = 0; grp < g.groups; grp++) {
    const float* xg = x + ((long)b * g.cIn + (long)grp * cg) * g.h * g.w;
    if (!pointwise) im2col(xg, cg, g, col);
    gemm(false, false, og, p, kk, w + (long)grp * og * kk, pointwise ? xg : col, out + (long)grp * og * p, false);
  }
  if (bias)
    for (int o = 0; o < g.cOut; o++) {
      float* row = out + (long)o * p;
      const float v = bias[o];
      for (int i = 0; i < p; i++) row[i] += v;
    }
}

}  // namespace

namespace {
enum class ConvPath { gemm, winograd, direct };
// Winograd's transforms cost per tile and channel; with fewer than this many input and output channels (a
// vector's worth) the GEMM path is as fast.
constexpr int WINOGRAD_MIN_CHANNELS = 8;

// The Winograd weight gradient's transforms cost precision: on 18 -> 16 channels (a PyTorch fixture) it was 1.1e-5
// off without FMA (SSE2), so there it starts at 32 channels. With AVX2's FMA it passes, and at 16 channels it took
// 0.81x the direct kernel's time (resnet20's 16 -> 16 at 32x32, batch 128, AMD EPYC). (NEON has FMA too but has not
// been tried: it keeps 32.)
#if CK_VBYTES >= 32
constexpr int WINOGRAD_WEIGHT_GRAD_MIN_CHANNELS = 16;
#else
constexpr int WINOGRAD_WEIGHT_GRAD_MIN_CHANNELS = 32;
#endif

ConvPath choosePath(const ConvGeom& g, int pass) {
  const int minChannels = pass == 2 ? WINOGRAD_WEIGHT_GRAD_MIN_CHANNELS : WINOGRAD_MIN_CHANNELS;
  if (winogradEligible(g) && g.cIn >= minChannels && g.cOut >= minChannels) return ConvPath::winograd;
  if (pass == 2 && directWeightGradEligible(g)) return ConvPath::direct;
  if (pass == 0 && directForwardEligible(g)) return ConvPath::direct;
  return ConvPath::gemm;
}

// True when every value is finite: no exponent field is all ones. Integer lanes, so the loop vectorises.
bool allFinite(const float* v, long count) {
  constexpr long CHUNK = 1 << 16;
  const int chunks = (int)((count + CHUNK - 1) / CHUNK);
  std::vector<char> bad(chunks, 0);
  ck::parallelFor(chunks, [&](int t) {
    const long i0 = t * CHUNK, i1 = i0 + CHUNK < count ? i0 + CHUNK : count;
    uint32_t any = 0;
    for (long i = i0; i < i1; i++) {
      uint32_t bits;
      std::memcpy(&bits, v + i, 4);
      any |= (bits & 0x7f800000u) == 0x7f800000u;
    }
    bad[t] = any != 0;
  });
  for (char b : bad)
    if (b) return false;
  return true;
}
}  // namespace

const char* convAlgorithmName(const ConvGeom& g, int pass) {
  switch (choosePath(g, pass)) {
    case ConvPath::winograd: return "winograd";
    case ConvPath::direct: return "direct";
    default: return "gemm";
  }
}

void conv2d(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  switch (choosePath(g, 0)) {
    case ConvPath::winograd: return winogradForward(x, w, bias, g, out);
    case ConvPath::direct: return directForward(x, w, bias, g, out);
    default: break;
  }
  const long outImage = (long)g.cOut * g.outH * g.outW;
  forEachImage(g.n, [&](int b) { forwardImageGemm(x, w, bias, g, b, out + b * outImage); });
}

bool conv2dFusedSupported(const ConvGeom& g, Activation activation, bool maxPool2x2) {
  (void)g;
  (void)maxPool2x2;
  return activation == Activation::none || activation == Activation::relu || activation == Activation::sigmoid ||
         activation == Activation::tanh;
}

void conv2dFused(const float* x, const float* w, const float* bias, const ConvGeom& g, Activation activation,
                 bool maxPool2x2, float* out) {
  // The convolution exactly as conv2d computes it, then the epilogue plane by plane.
  const int p = g.outH * g.outW, ph = g.outH / 2, pw = g.outW / 2;
  // with pooling, the convolution goes to the calling thread's scratch (reused across calls, never zero-filled:
  // a fresh zeroed vector of a 256-image batch cost a pass over 25 MB)
  float* conv = maxPool2x2 ? poolInputScratch.get((size_t)g.n * g.cOut * p) : out;
  conv2d(x, w, bias, g, conv);
  constexpr int PLANES_PER_TASK = 16;
  const int planes = g.n * g.cOut;
  ck::parallelFor((planes + PLANES_PER_TASK - 1) / PLANES_PER_TASK, [&](int t) {
    const int q1 = (t + 1) * PLANES_PER_TASK < planes ? (t + 1) * PLANES_PER_TASK : planes;
    for (int q = t * PLANES_PER_TASK; q < q1; q++) {
      float* plane = conv + (long)q * p;
      switch (activation) {
        case Activation::relu: for (int i = 0; i < p; i++) plane[i] = reluf(plane[i]); break;
        case Activation::sigmoid: for (int i = 0; i < p; i++) plane[i] = sigmoidf64(plane[i]); break;
        case Activation::tanh: for (int i = 0; i < p; i++) plane[i] = tanhf64(plane[i]); break;
        default: break;
      }
      if (maxPool2x2) maxPool2x2Plane(plane, g.outH, g.outW, out + (long)q * ph * pw);
    }
  });
}

void conv2dBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx) {
  if (choosePath(g, 1) == ConvPath::winograd) return winogradBackwardInput(gy, w, g, gx);
  const int cg = g.cIn / g.groups, og = g.cOut / g.groups, kk = convReduction(g), p = g.outH * g.outW;
  const long inImage = (long)g.cIn * g.h * g.w, outImage = (long)g.cOut * p;
  const bool pointwise = convPointwise(g);
  forEachImage(g.n, [&](int b) {
    float* gxb = gx + b * inImage;
    if (!pointwise) std::memset(gxb, 0, sizeof(float) * inImage);
    float* col = pointwise ? nullptr : colScratch.get((size_t)kk * p);
    for (int grp = 0; grp < g.groups; grp++) {
      const float* gyg = gy + b * outImage + (long)grp * og * p;
      float* gxg = gxb + (long)grp * cg * g.h * g.w;
      // col (kk, P) = W_g^T (kk, og) @ gy_g (og, P)
      gemm(true, false, kk, p, og, w + (long)grp * og * kk, gyg, pointwise ? gxg : col, false);
      if (!pointwise) col2imAdd(col, cg, g, gxg);
    }
  });
}

namespace {
// The weight gradient sums over images in groups of this many (fixed by n alone); each group's partial sum runs
// image by image, then the partials are added in group order.
int imagesPerPartial(int n) { return n <= 8 ? 1 : (n + 7) / 8; }
}  // namespace

void conv2dBackwardWeight(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  const int cg = g.cIn / g.groups, og = g.cOut / g.groups, kk = convReduction(g), p = g.outH * g.outW;
  const long inImage = (long)g.cIn * g.h * g.w, outImage = (long)g.cOut * p, groupW = (long)og * kk;
  const ConvPath path = choosePath(g, 2);
  if (path != ConvPath::gemm) {
    // The Winograd and direct kernels are exact for finite inputs only (a transform, or a zero padding lane, meeting
    // an infinity makes NaN). A non-finite input always leaves a non-finite value in their gw (each input value
    // reaches some output through nonzero factors, and no operation they use turns NaN or infinity finite), so
    // their gw is checked instead of both inputs (a pass over x and gy cost 7% of the 16 -> 16 weight gradient);
    // a non-finite one (or an overflow) is redone below by the GEMM path.
    if (path == ConvPath::winograd) winogradWeightGrad(x, gy, g, gw);
    else directWeightGrad(x, gy, g, gw);
    if (allFinite(gw, g.groups * groupW)) return;
  }
  const bool pointwise = convPointwise(g);
  const int per = imagesPerPartial(g.n), partials = (g.n + per - 1) / per;
  std::vector<float> partial((size_t)partials * g.groups * groupW);
  ck::parallelFor(partials * g.groups, [&](int task) {
    const int part = task / g.groups, grp = task % g.groups;
    float* dst = partial.data() + (size_t)task * groupW;
    float* col = pointwise ? nullptr : colScratch.get((size_t)kk * p);
    const int b1 = (part + 1) * per < g.n ? (part + 1) * per : g.n;
    for (int b = part * per; b < b1; b++) {
      const float* xg = x + b * inImage + (long)grp * cg * g.h * g.w;
      if (!pointwise) im2col(xg, cg, g, col);
      // (og, kk) += gy_g (og, P) @ col^T (P, kk)
      gemm(false, true, og, kk, p, gy + b * outImage + (long)grp * og * p, pointwise ? xg : col, dst, b > part * per);
    }
  });
  const long total = (long)g.groups * groupW;
  constexpr long CHUNK = 4096;
  ck::parallelFor((int)((total + CHUNK - 1) / CHUNK), [&](int t) {
    long i0 = t * CHUNK, i1 = i0 + CHUNK < total ? i0 + CHUNK : total;
    for (long i = i0; i < i1; i++) {
      // element i of gw lies in group i / groupW; partial `part` of that group is task part * groups + grp
      long grp = i / groupW, off = i % groupW;
      float s = partial[(size_t)grp * groupW + off];
      for (int part = 1; part < partials; part++) s += partial[((size_t)part * g.groups + grp) * groupW + off];
      gw[i] = s;
    }
  });
}

}  // namespace CK_ISA_NS
