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


// ---- forward: stride 2, ungrouped (resnet's downsampling 3x3 convolutions) ----
// im2col for stride 2 cost about as much as the GEMM (its rows gather every second column). Here each image is
// copied once into zero-padded rows split by column parity: padded column px = ix + padW lies in phase px & 1 at
// position px >> 1, so tap j of output column ox reads phase j & 1 at ox + (j >> 1), a plain vector load. Lanes are
// output columns; a register tile is S2_R output channels x S2_S row vectors (each an output row's VL columns), the
// weights packed S2_R channels per (c, i, j). Every output is 0 + fmadd over (c, i, j) in im2col's row order, then +
// bias: the same operations and order as the GEMM path (one fmadd chain per element, a k block's store and reload
// being exact), so the bits do not change. CPU time, 1 thread, batch 256 (AMD EPYC, loaded machine): resnet20's
// 16 -> 32 at 32x32 12.6 ms (GEMM path 14.2), 32 -> 64 at 16x16 11.0 ms (13.0). 1x1 stride-2 stays on the GEMM path.
namespace {
constexpr int S2_R = 6, S2_S = 2;
thread_local Scratch s2PadScratch;

struct S2Layout {
  int hp, wq, owp, vectors;  // padded rows, phase width, output row rounded to vectors, vectors per output row
  explicit S2Layout(const ConvGeom& g)
      : hp(2 * (g.outH - 1) + g.kh), wq(0), owp((g.outW + VL - 1) / VL * VL), vectors(owp / VL) {
    wq = owp + (g.kw - 1) / 2;
  }
  long plane() const { return (long)hp * 2 * wq; }
};

// image b of x (C, H, W) to xp (C, hp, 2, wq): row r, phase e, position q holds x[c, r - padH, 2q + e - padW] or 0
void s2Pad(const float* x, const ConvGeom& g, const S2Layout& L, float* xp) {
  for (int c = 0; c < g.cIn; c++)
    for (int r = 0; r < L.hp; r++) {
      float* even = xp + ((long)c * L.hp + r) * 2 * L.wq;
      float* odd = even + L.wq;
      const int iy = r - g.padH;
      if (iy < 0 || iy >= g.h) {
        std::memset(even, 0, sizeof(float) * 2 * L.wq);
        continue;
      }
      const float* src = x + ((long)c * g.h + iy) * g.w;
      // positions [q0, q1) read columns 2q - padW and 2q + 1 - padW both inside the row: a branch-free loop
      int q0 = (g.padW + 1) / 2, q1 = (g.w - 2 + g.padW) / 2 + 1;
      if (g.w - 2 + g.padW < 0 || q1 < 0) q1 = 0;
      if (q1 > L.wq) q1 = L.wq;
      if (q0 > q1) q0 = q1;
      for (int q = 0; q < q0; q++) {
        const int i0 = 2 * q - g.padW, i1 = i0 + 1;
        even[q] = i0 >= 0 && i0 < g.w ? src[i0] : 0.0f;
        odd[q] = i1 >= 0 && i1 < g.w ? src[i1] : 0.0f;
      }
      for (int q = q0; q < q1; q++) {
        even[q] = src[2 * q - g.padW];
        odd[q] = src[2 * q + 1 - g.padW];
      }
      for (int q = q1; q < L.wq; q++) {
        const int i0 = 2 * q - g.padW, i1 = i0 + 1;
        even[q] = i0 >= 0 && i0 < g.w ? src[i0] : 0.0f;
        odd[q] = i1 >= 0 && i1 < g.w ? src[i1] : 0.0f;
      }
    }
}

// S output row vectors (slot s: output row oy[s], columns q[s] * VL ...) of S2_R channels from o0
template <int S>
__attribute__((always_inline)) inline void s2Tile(const float* xp, const float* wp, const ConvGeom& g, const S2Layout& L,
                                                  const int* oy, const int* q, int o0, int nOut, const float* bias,
                                                  float* out) {
  vf acc[S2_R][S];
#pragma GCC unroll 8
  for (int o = 0; o < S2_R; o++)
#pragma GCC unroll 2
    for (int s = 0; s < S; s++) acc[o][s] = vf{};
  const long rowStride = 2L * L.wq;
  const float* base[S];
  for (int s = 0; s < S; s++) base[s] = xp + (long)(2 * oy[s]) * rowStride + q[s] * VL;
  for (int c = 0; c < g.cIn; c++) {
    for (int i = 0; i < g.kh; i++)
      for (int j = 0; j < g.kw; j++, wp += S2_R) {
        const long off = ((long)c * L.hp + i) * rowStride + (j & 1) * L.wq + (j >> 1);
        vf xv[S];
#pragma GCC unroll 2
        for (int s = 0; s < S; s++) xv[s] = vload(base[s] + off);
#pragma GCC unroll 8
        for (int o = 0; o < S2_R; o++) {
          const vf wv = vsplat(wp[o]);
#pragma GCC unroll 2
          for (int s = 0; s < S; s++) acc[o][s] = fmadd(wv, xv[s], acc[o][s]);
        }
      }
  }
  for (int s = 0; s < S; s++) {
    const int cols = g.outW - q[s] * VL < VL ? g.outW - q[s] * VL : VL;
    for (int o = 0; o < nOut; o++) {
      float* dst = out + ((long)(o0 + o) * g.outH + oy[s]) * g.outW + q[s] * VL;
      vf v = acc[o][s];
      if (bias) v += vsplat(bias[o0 + o]);
      if (cols == VL) {
        vstore(dst, v);
      } else {
        alignas(64) float lanes[VL];
        vstore(lanes, v);
        for (int l = 0; l < cols; l++) dst[l] = lanes[l];
      }
    }
  }
}
}  // namespace

bool stride2Eligible(const ConvGeom& g) {
  return g.strideH == 2 && g.strideW == 2 && g.dilationH == 1 && g.dilationW == 1 && g.groups == 1 &&
         g.kh * g.kw > 1 && g.cIn * g.kh * g.kw >= 16;
}

void stride2Forward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  const S2Layout L(g);
  const int taps = g.kh * g.kw, blocks = (g.cOut + S2_R - 1) / S2_R;
  // weights (O, C, kh, kw) to (O / S2_R, C, kh, kw, S2_R), zeros past O
  std::vector<float> wp((size_t)blocks * g.cIn * taps * S2_R, 0.0f);
  for (int o = 0; o < g.cOut; o++)
    for (int k = 0; k < g.cIn * taps; k++) wp[((size_t)(o / S2_R) * g.cIn * taps + k) * S2_R + o % S2_R] = w[(size_t)o * g.cIn * taps + k];
  const int slots = g.outH * L.vectors;
  ck::parallelFor(g.n, [&](int b) {
    float* xp = s2PadScratch.get((size_t)g.cIn * L.plane());
    s2Pad(x + (long)b * g.cIn * g.h * g.w, g, L, xp);
    float* ob = out + (long)b * g.cOut * g.outH * g.outW;
    for (int blk = 0; blk < blocks; blk++) {
      const int o0 = blk * S2_R, nOut = g.cOut - o0 < S2_R ? g.cOut - o0 : S2_R;
      const float* wb = wp.data() + (size_t)blk * g.cIn * taps * S2_R;
      int s = 0;
      for (; s + S2_S <= slots; s += S2_S) {
        int oy[S2_S], q[S2_S];
        for (int t = 0; t < S2_S; t++) oy[t] = (s + t) / L.vectors, q[t] = (s + t) % L.vectors;
        s2Tile<S2_S>(xp, wb, g, L, oy, q, o0, nOut, bias, ob);
      }
      for (; s < slots; s++) {
        const int oy = s / L.vectors, q = s % L.vectors;
        s2Tile<1>(xp, wb, g, L, &oy, &q, o0, nOut, bias, ob);
      }
    }
  });
}

namespace {
enum class ConvPath { gemm, winograd, direct, directChannels, directFlat, stride2 };
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
  if (pass == 2 && channelWeightGradEligible(g)) return ConvPath::directChannels;
  if (pass == 2 && flatWeightGradEligible(g)) return ConvPath::directFlat;
  if (pass == 2 && directWeightGradEligible(g)) return ConvPath::direct;
  if (pass == 1 && directInputGradEligible(g)) return ConvPath::direct;
  if (pass == 0 && directForwardEligible(g)) return ConvPath::direct;
  if (pass == 0 && stride2Eligible(g)) return ConvPath::stride2;
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
    case ConvPath::directChannels: return "direct-channels";
    case ConvPath::directFlat: return "direct-flat";
    case ConvPath::stride2: return "stride2";
    default: return "gemm";
  }
}

void conv2d(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  if (g.n == 0) return;  // an empty batch: nothing to write (Winograd's tiles per image would divide by zero)
  switch (choosePath(g, 0)) {
    case ConvPath::winograd: return winogradForward(x, w, bias, g, out);
    case ConvPath::direct: return directForward(x, w, bias, g, out);
    case ConvPath::stride2: return stride2Forward(x, w, bias, g, out);
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

namespace {
// The epilogue of images [b0, b1): conv (their convolution, cOut planes each) -> activation [-> 2x2 pool into out,
// whose first plane is image b0's, and the winners' indices into argmax, laid out as out, or null]. ReLU commutes with
// the max bit for bit (it keeps NaN and the order of the values it does not clamp, and every clamped value becomes
// +0), so with pooling it runs on the pooled planes.
void fusedEpilogue(float* conv, const ConvGeom& g, Activation activation, bool maxPool2x2, int images, float* out,
                   int32_t* argmax) {
  const long p = (long)g.outH * g.outW, planes = (long)images * g.cOut, pooled = (long)(g.outH / 2) * (g.outW / 2);
  if (activation == Activation::relu) {
    if (!maxPool2x2) return reluInPlace(conv, planes * p);
    for (long q = 0; q < planes; q++) maxPool2x2Plane(conv + q * p, g.outH, g.outW, out + q * pooled, argmax ? argmax + q * pooled : nullptr);
    return reluInPlace(out, planes * pooled);
  }
  for (long q = 0; q < planes; q++) {
    float* plane = conv + q * p;
    if (activation != Activation::none) withActivation(static_cast<int>(activation), [&](auto f) { for (long i = 0; i < p; i++) plane[i] = f(plane[i]); });
    if (maxPool2x2) maxPool2x2Plane(plane, g.outH, g.outW, out + q * pooled, argmax ? argmax + q * pooled : nullptr);
  }
}

// Images per fused task: about this many bytes of convolution output, so the epilogue reads it from L2.
constexpr long FUSED_BLOCK_BYTES = 128 * 1024;
}  // namespace

void conv2dFused(const float* x, const float* w, const float* bias, const ConvGeom& g, Activation activation,
                 bool maxPool2x2, float* out, int32_t* argmax) {
  if (g.n == 0) return;
  // The convolution exactly as conv2d computes it, and the epilogue of each block of images right after that
  // block's convolution, while its output is still in cache. Every path but Winograd's computes each image alone
  // (its bits do not depend on the batch), so a block is a conv2d of fewer images, run inline inside the task.
  const long p = (long)g.outH * g.outW, outImage = (long)g.cOut * p, inImage = (long)g.cIn * g.h * g.w;
  const long pooledImage = maxPool2x2 ? (long)g.cOut * (g.outH / 2) * (g.outW / 2) : outImage;
  long perBlock = FUSED_BLOCK_BYTES / (outImage * (long)sizeof(float));
  if (perBlock < 1) perBlock = 1;
  if (perBlock > (g.n + 3) / 4) perBlock = (g.n + 3) / 4;  // at least 4 tasks where there are 4 images
  const int blocks = (int)((g.n + perBlock - 1) / perBlock);
  if (blocks <= 1 || choosePath(g, 0) == ConvPath::winograd) {
    // one task (the convolution keeps its own tasks), or Winograd (tiles of several images): the whole batch, then
    // the epilogue in blocks
    // with pooling, the convolution goes to the calling thread's scratch (reused across calls, never zero-filled:
    // a fresh zeroed vector of a 256-image batch cost a pass over 25 MB)
    float* conv = maxPool2x2 ? poolInputScratch.get((size_t)g.n * outImage) : out;
    conv2d(x, w, bias, g, conv);
    ck::parallelFor(blocks, [&](int t) {
      const int b0 = (int)(t * perBlock), b1 = (int)(b0 + perBlock < g.n ? b0 + perBlock : g.n);
      fusedEpilogue(conv + b0 * outImage, g, activation, maxPool2x2, b1 - b0, out + b0 * pooledImage,
                    argmax ? argmax + b0 * pooledImage : nullptr);
    });
    return;
  }
  ck::parallelFor(blocks, [&](int t) {
    const int b0 = (int)(t * perBlock), b1 = (int)(b0 + perBlock < g.n ? b0 + perBlock : g.n);
    ConvGeom gb = g;
    gb.n = b1 - b0;
    float* conv = maxPool2x2 ? poolInputScratch.get((size_t)gb.n * outImage) : out + b0 * outImage;
    conv2d(x + b0 * inImage, w, bias, gb, conv);
    fusedEpilogue(conv, g, activation, maxPool2x2, gb.n, out + b0 * pooledImage, argmax ? argmax + b0 * pooledImage : nullptr);
  });
}

void conv2dBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx) {
  if (g.n == 0) return;
  const ConvPath path = choosePath(g, 1);
  if (path == ConvPath::winograd) return winogradBackwardInput(gy, w, g, gx);
  // the direct kernel is exact for finite inputs only (zero columns meet the weights); it reports a non-finite gx,
  // which a non-finite input always leaves, and the GEMM path below then redoes the batch
  if (path == ConvPath::direct && directInputGrad(gy, w, g, gx)) return;
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
  if (g.n == 0) {  // no images: a zero gradient (Winograd's tiles per image and the partial sums below need one)
    std::memset(gw, 0, sizeof(float) * g.groups * groupW);
    return;
  }
  const ConvPath path = choosePath(g, 2);
  if (path != ConvPath::gemm) {
    // The Winograd and direct kernels are exact for finite inputs only (a transform, or a zero padding lane, meeting
    // an infinity makes NaN). A non-finite input always leaves a non-finite value in their gw (each input value
    // reaches some output through nonzero factors, and no operation they use turns NaN or infinity finite), so
    // their gw is checked instead of both inputs (a pass over x and gy cost 7% of the 16 -> 16 weight gradient);
    // a non-finite one (or an overflow) is redone below by the GEMM path.
    if (path == ConvPath::winograd) winogradWeightGrad(x, gy, g, gw);
    else if (path == ConvPath::directChannels) channelWeightGrad(x, gy, g, gw);
    else if (path == ConvPath::directFlat) flatWeightGrad(x, gy, g, gw);
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
