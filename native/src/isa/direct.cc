// Direct weight gradient for stride-1, ungrouped convolutions (conv.cc picks it; the GEMM path's im2col and packing
// cost more than the multiplies when the output channels are few):
//   gw[o, c, i, j] = sum over images b, then rows oy, of  gy[b, o, oy, :] . x[b, c, oy + i*dh - ph, j*dw - pw + :]
// Lanes are output columns. A register tile is 4 output channels x up to 3 horizontal taps (12 accumulators, 7
// loads per 12 FMAs). The batch is first copied once into zero-padded input rows and output-gradient rows padded
// to whole vectors (zeros past OW); a task (4 output channels x 8 input channels) then walks blocks of images (about 16 KB of output gradient),
// and inside a block (c, i, tap block) over every image's rows with the accumulators in registers, kept in a
// per-task array between blocks.
//
// Determinism: a task owns a fixed block of output channels and input channels (from the geometry), and every
// accumulator lane sums its (image, row) terms in the same order (in float within a block of images, then in f64);
// lanes are added left to right at the end.
// Zero lanes past OW multiply real inputs, which is exact only for finite inputs: conv.cc redoes batches holding
// NaN or infinity by the GEMM path (it checks the gw this kernel gives: a non-finite input always leaves one there).
#include <cstring>
#include <vector>
#include "conv-common.h"
#include "kernels.h"
#include "parallel.h"
#include "simd.h"

namespace CK_ISA_NS {
namespace {

constexpr int OB = 4;          // output channels per register tile
constexpr int C_PER_TASK = 8;   // input channels per task
// Images whose rows one pass of the accumulators walks: their 4 output-gradient planes stay within about 16 KB,
// so the (c, i, tap block) passes over them read L1, not L2.
constexpr long BLOCK_GY_FLOATS = 4096;

thread_local Scratch xPadScratch, gyPadScratch;  // the calling thread's, shared by its tasks

// One image's input planes (C, H, W) into zero-padded planes (C, hp, wp): input (iy, ix) at (iy + padH, ix + padW);
// every float written once, the data or zero.
void padImage(const float* x, const ConvGeom& g, int hp, int wp, float* dst) {
  const long plane = (long)hp * wp;
  const int lo = g.padW < 0 ? -g.padW : 0, hi = g.w < wp - g.padW ? g.w : wp - g.padW;
  for (int c = 0; c < g.cIn; c++)
    for (int py = 0; py < hp; py++) {
      float* row = dst + c * plane + (long)py * wp;
      const int iy = py - g.padH;
      if (iy < 0 || iy >= g.h || hi <= lo) {
        std::memset(row, 0, sizeof(float) * wp);
        continue;
      }
      std::memset(row, 0, sizeof(float) * (lo + g.padW));
      std::memcpy(row + lo + g.padW, x + ((long)c * g.h + iy) * g.w + lo, sizeof(float) * (hi - lo));
      std::memset(row + hi + g.padW, 0, sizeof(float) * (wp - hi - g.padW));
    }
}
thread_local std::vector<double> accScratch;

// The lanes of a float accumulator added into d[0, VL) in f64, by widened halves (GCC made a scalar loop of the
// lane-by-lane form; the kernels below flush 12 accumulators every image or chunk of a plane).
__attribute__((always_inline)) inline void addLanesF64(vf a, double* d) {
  alignas(64) float lanes[VL];
  vstore(lanes, a);
  for (int h = 0; h < VL; h += kDoubleLanes) {
    vdouble sum;
    std::memcpy(&sum, d + h, sizeof sum);
    sum += loadWide(lanes + h);
    std::memcpy(d + h, &sum, sizeof sum);
  }
}

// acc[o][t] += gy rows (OB) . x row shifted by tap t (NJ taps, dw apart), over `vectors` vectors of the row.
template <int NJ>
__attribute__((always_inline)) inline void rowTile(const float* const* gyRows, const float* xRow, int dw, int vectors, vf (&acc)[OB][3]) {
  // the NJ shifted x vectors, then one gy vector at a time: 12 accumulators + 3 + 1 fit AVX2's 16 registers (gy's
  // four vectors held at once spilled accumulators around every row)
  for (int q = 0; q < vectors; q++) {
    vf xv[NJ];
#pragma GCC unroll 3
    for (int t = 0; t < NJ; t++) xv[t] = vload(xRow + q * VL + t * dw);
#pragma GCC unroll 4
    for (int o = 0; o < OB; o++) {
      const vf gv = vloadAligned(gyRows[o] + q * VL);
#pragma GCC unroll 3
      for (int t = 0; t < NJ; t++) acc[o][t] = fmadd(gv, xv[t], acc[o][t]);
    }
  }
}

// The accumulators of one (c, i, tap block) tile over images [b0, b1), rows in order, from zero; then added lane
// by lane into the f64 accumulators accStore (float sums over a whole batch lost 1e-5 on a PyTorch fixture).
// Rows of float sums per accumulator lane before they go into f64: the whole image block where the level has
// FMA and vectors of 8 or 16 lanes; without FMA (SSE2) each product is rounded too, and a block's sums lost 1.1e-5
// on a PyTorch fixture; NEON has FMA but 4 lanes, so each lane sums twice AVX2's terms of a row, and the block's
// sums lost 1.17e-5 on that fixture (direct_c1_k5_p2_batch3's weight gradient).
#if CK_VBYTES >= 32
constexpr int ROWS_PER_FLUSH = 0;  // 0: only at the end
#else
constexpr int ROWS_PER_FLUSH = 2;
#endif

// The block's float sums, lane by lane, into the f64 accumulators; the registers restart from zero.
template <int NJ>
__attribute__((always_inline)) inline void flush(vf (&acc)[OB][3], double* accStore) {
  for (int o = 0; o < OB; o++)
    for (int t = 0; t < NJ; t++) {
      alignas(64) float lanes[VL];
      vstore(lanes, acc[o][t]);
      double* d = accStore + (o * 3 + t) * VL;
      for (int l = 0; l < VL; l++) d[l] += lanes[l];
      acc[o][t] = vf{};
    }
}

// The accumulators of one (c, i, tap block) tile over images [b0, b1), rows in order, from zero, added into the
// f64 accumulators accStore every ROWS_PER_FLUSH rows and at the end (float sums over a whole batch lost 1e-5 on a
// PyTorch fixture).
template <int NJ>
void tapBlock(const float* gyPad, const float* xPad, const ConvGeom& g, int oPad, int o0, int c, int i, int j0, int b0, int b1,
              int owp, int hp, int wp, double* accStore) {
  vf acc[OB][3];
  for (int o = 0; o < OB; o++)
    for (int t = 0; t < NJ; t++) acc[o][t] = vf{};
  const long gyPlane = (long)g.outH * owp, xPlane = (long)hp * wp;
  int rows = 0;
  for (int b = b0; b < b1; b++) {
    const float* gyImage = gyPad + ((long)b * oPad + o0) * gyPlane;
    const float* xRows = xPad + ((long)b * g.cIn + c) * xPlane + (long)i * g.dilationH * wp + j0 * g.dilationW;
    for (int oy = 0; oy < g.outH; oy++) {
      const float* gyRows[OB];
      for (int o = 0; o < OB; o++) gyRows[o] = gyImage + o * gyPlane + (long)oy * owp;
      rowTile<NJ>(gyRows, xRows + (long)oy * wp, g.dilationW, owp / VL, acc);
      // (a flush the compiler cannot rule out keeps the accumulators in memory around every row)
      if (ROWS_PER_FLUSH > 0 && ++rows == ROWS_PER_FLUSH) {
        flush<NJ>(acc, accStore);
        rows = 0;
      }
    }
  }
  flush<NJ>(acc, accStore);
}

}  // namespace

bool directWeightGradEligible(const ConvGeom& g) {
  return g.strideH == 1 && g.strideW == 1 && g.groups == 1 && !convPointwise(g) && 2 * g.outW >= VL;
}

void directWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  const int owp = (g.outW + VL - 1) / VL * VL;
  const int hp = g.outH + (g.kh - 1) * g.dilationH, wp = owp + (g.kw - 1) * g.dilationW;
  const int oPad = (g.cOut + OB - 1) / OB * OB;  // whole register tiles of output channels (zero planes past O)
  // Zero-padded copies of the batch, made once: x rows at (iy + padH, ix + padW) of hp x wp planes, gy rows of
  // owp floats (zeros past OW), planes of O rounded up to OB.
  const long xPlane = (long)hp * wp, gyPlane = (long)g.outH * owp;
  float* xPad = xPadScratch.get((size_t)g.n * g.cIn * xPlane);
  float* gyPad = gyPadScratch.get((size_t)g.n * oPad * gyPlane);
  ck::parallelFor(g.n, [&](int b) {
    // every float of both copies is written once: the data, or zero
    padImage(x + (long)b * g.cIn * g.h * g.w, g, hp, wp, xPad + (long)b * g.cIn * xPlane);
    float* gb = gyPad + (long)b * oPad * gyPlane;
    for (int o = 0; o < oPad; o++)
      for (int oy = 0; oy < g.outH; oy++) {
        float* row = gb + o * gyPlane + (long)oy * owp;
        int done = 0;
        if (o < g.cOut) {
          std::memcpy(row, gy + (((long)b * g.cOut + o) * g.outH + oy) * g.outW, sizeof(float) * g.outW);
          done = g.outW;
        }
        std::memset(row + done, 0, sizeof(float) * (owp - done));
      }
  });
  const int oBlocks = oPad / OB, cChunks = (g.cIn + C_PER_TASK - 1) / C_PER_TASK;
  const int kh = g.kh, kw = g.kw, jBlocks = (kw + 2) / 3;
  const int imagesPerBlock = BLOCK_GY_FLOATS / (OB * gyPlane) > 1 ? (int)(BLOCK_GY_FLOATS / (OB * gyPlane)) : 1;
  ck::parallelFor(oBlocks * cChunks, [&](int task) {
    const int o0 = (task / cChunks) * OB, c0 = (task % cChunks) * C_PER_TASK;
    const int cn = g.cIn - c0 < C_PER_TASK ? g.cIn - c0 : C_PER_TASK;
    // accumulators: [c][i][jBlock][o 4][tap 3][VL]
    const size_t accPerTap = (size_t)OB * 3 * VL;
    accScratch.assign((size_t)cn * kh * jBlocks * accPerTap, 0.0);
    double* acc = accScratch.data();
    for (int b0 = 0; b0 < g.n; b0 += imagesPerBlock) {
      const int b1 = b0 + imagesPerBlock < g.n ? b0 + imagesPerBlock : g.n;
      for (int c = 0; c < cn; c++)
        for (int i = 0; i < kh; i++)
          for (int jb = 0; jb < jBlocks; jb++) {
            double* store = acc + (((size_t)c * kh + i) * jBlocks + jb) * accPerTap;
            const int nj = kw - 3 * jb < 3 ? kw - 3 * jb : 3;
            if (nj == 3) tapBlock<3>(gyPad, xPad, g, oPad, o0, c0 + c, i, 3 * jb, b0, b1, owp, hp, wp, store);
            else if (nj == 2) tapBlock<2>(gyPad, xPad, g, oPad, o0, c0 + c, i, 3 * jb, b0, b1, owp, hp, wp, store);
            else tapBlock<1>(gyPad, xPad, g, oPad, o0, c0 + c, i, 3 * jb, b0, b1, owp, hp, wp, store);
          }
    }
    // lanes summed left to right
    for (int c = 0; c < cn; c++)
      for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
          const double* store = acc + (((size_t)c * kh + i) * jBlocks + j / 3) * accPerTap;
          for (int o = 0; o < OB && o0 + o < g.cOut; o++) {
            const double* lanes = store + (o * 3 + j % 3) * VL;
            double s = lanes[0];
            for (int l = 1; l < VL; l++) s += lanes[l];
            gw[(((long)(o0 + o) * g.cIn + c0 + c) * kh + i) * kw + j] = (float)s;
          }
        }
  });
}

}  // namespace CK_ISA_NS

// ---- forward: stride 1, ungrouped, small reductions (first layers, LeNet's 5x5) ----
// out[o, oy, :] = bias[o] + sum over (c, i, j) in that order of w[o, c, i, j] * x row (oy + i*dh - ph) shifted by
// j*dw - pw, every term one fmadd into a sum from zero, then the bias added. Two register tilings, bit-identical
// (each output element gets the same operations in the same order):
// - rows: lanes are output columns; a tile is OB output channels x NV vectors of one output row (OB 4 x NV 3, or
//   OB 3 x NV 4 where O is a multiple of 3 but not 4: LeNet's conv1, 6 channels on 28 columns, wasted 2 of 8
//   channel slots and ran a 4-accumulator tail vector with 4 x 3);
// - channels: where O is a multiple of the vector width but the rows are not (LeNet's conv2: 16 channels, rows of
//   10 filled 10 of 16 lanes), lanes are output channels: a tile is NO channel vectors x R output columns of one
//   row (NO*R <= 12), per tap NO weight loads and R broadcasts of x; the sums go out by scalar stores (R*NO*VL
//   per 150 taps there).
// A task is one image (its input copied once into zero-padded rows); an output element's sum is the same whatever
// thread runs it.
namespace CK_ISA_NS {
namespace {

thread_local Scratch fwdPadScratch;

template <int OB, int NV>
__attribute__((always_inline)) inline void forwardTile(const float* xPad, const float* w, const ConvGeom& g, int o0, int oy,
                                                       int q0, int wp, int hp, const float* bias, float* out, int nOut) {
  vf acc[OB][NV];
  for (int o = 0; o < OB; o++)
    for (int v = 0; v < NV; v++) acc[o][v] = vf{};
  const int taps = g.kh * g.kw;
  for (int c = 0; c < g.cIn; c++)
    for (int i = 0; i < g.kh; i++) {
      const float* row = xPad + ((long)c * hp + oy + i * g.dilationH) * wp + q0 * VL;
      const float* wt = w + ((long)o0 * g.cIn + c) * taps + i * g.kw;
      for (int j = 0; j < g.kw; j++) {
        // the smaller of the two operand sets held in registers beside the OB x NV accumulators (AVX2 has 16)
        if constexpr (OB < NV) {
          vf wv[OB];
#pragma GCC unroll 4
          for (int o = 0; o < OB; o++) wv[o] = vsplat(wt[(long)o * g.cIn * taps + j]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++) {
            const vf xv = vload(row + v * VL + j * g.dilationW);
#pragma GCC unroll 4
            for (int o = 0; o < OB; o++) acc[o][v] = fmadd(wv[o], xv, acc[o][v]);
          }
        } else {
          vf xv[NV];
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++) xv[v] = vload(row + v * VL + j * g.dilationW);
#pragma GCC unroll 4
          for (int o = 0; o < OB; o++) {
            const vf wv = vsplat(wt[(long)o * g.cIn * taps + j]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[o][v] = fmadd(wv, xv[v], acc[o][v]);
          }
        }
      }
    }
  const int cols = g.outW - q0 * VL < NV * VL ? g.outW - q0 * VL : NV * VL;
  for (int o = 0; o < nOut; o++) {
    float* dst = out + ((long)(o0 + o) * g.outH + oy) * g.outW + q0 * VL;
    if (bias) {
      const vf bv = vsplat(bias[o0 + o]);
      for (int v = 0; v < NV; v++) acc[o][v] += bv;
    }
    // whole vectors stored as such, a part of the last through a lane buffer
    for (int v = 0; v < NV; v++) {
      const int left = cols - v * VL;
      if (left >= VL) {
        vstore(dst + v * VL, acc[o][v]);
      } else {
        alignas(64) float lanes[VL];
        vstore(lanes, acc[o][v]);
        for (int l = 0; l < left; l++) dst[v * VL + l] = lanes[l];
      }
    }
  }
}

// One image by row tiles of OB channels x up to NVMAX vectors.
template <int OB, int NVMAX>
void forwardImageRows(const float* xp, const float* wPad, const float* bias, const ConvGeom& g, int wp, int hp, float* ob) {
  const int vectors = (g.outW + VL - 1) / VL;
  for (int o0 = 0; o0 < g.cOut; o0 += OB) {
    const int nOut = g.cOut - o0 < OB ? g.cOut - o0 : OB;
    for (int oy = 0; oy < g.outH; oy++)
      for (int q0 = 0; q0 < vectors; q0 += NVMAX) {
        const int nv = vectors - q0 < NVMAX ? vectors - q0 : NVMAX;
        if (nv == NVMAX) forwardTile<OB, NVMAX>(xp, wPad, g, o0, oy, q0, wp, hp, bias, ob, nOut);
        else if (nv == 3) forwardTile<OB, 3>(xp, wPad, g, o0, oy, q0, wp, hp, bias, ob, nOut);
        else if (nv == 2) forwardTile<OB, 2>(xp, wPad, g, o0, oy, q0, wp, hp, bias, ob, nOut);
        else forwardTile<OB, 1>(xp, wPad, g, o0, oy, q0, wp, hp, bias, ob, nOut);
      }
  }
}

// Channel tile: NO vectors of output channels from channel vector v0 x R output columns from ox0 of row oy. wT is
// (C, KH, KW, O) (O a multiple of VL).
template <int NO, int R>
void channelTile(const float* xPad, const float* wT, const ConvGeom& g, int v0, int oy, int ox0, int wp, int hp,
                 const float* bias, float* out) {
  vf acc[NO][R];
  for (int n = 0; n < NO; n++)
    for (int r = 0; r < R; r++) acc[n][r] = vf{};
  const int o = g.cOut;
  for (int c = 0; c < g.cIn; c++)
    for (int i = 0; i < g.kh; i++) {
      const float* row = xPad + ((long)c * hp + oy + i * g.dilationH) * wp + ox0;
      const float* wt = wT + ((long)c * g.kh + i) * g.kw * o + v0 * VL;
      for (int j = 0; j < g.kw; j++) {
        vf wv[NO];
#pragma GCC unroll 2
        for (int n = 0; n < NO; n++) wv[n] = vload(wt + (long)j * o + n * VL);
        const float* xr = row + j * g.dilationW;
#pragma GCC unroll 12
        for (int r = 0; r < R; r++) {
          const vf xs = vsplat(xr[r]);
#pragma GCC unroll 2
          for (int n = 0; n < NO; n++) acc[n][r] = fmadd(wv[n], xs, acc[n][r]);
        }
      }
    }
  const long plane = (long)g.outH * g.outW;
  for (int n = 0; n < NO; n++) {
    const int ch0 = (v0 + n) * VL;
    const vf bv = bias ? vload(bias + ch0) : vf{};
    for (int r = 0; r < R; r++) {
      alignas(64) float lanes[VL];
      vstore(lanes, bias ? acc[n][r] + bv : acc[n][r]);
      float* dst = out + (long)ch0 * plane + (long)oy * g.outW + ox0 + r;
      for (int l = 0; l < VL; l++) dst[l * plane] = lanes[l];
    }
  }
}

template <int NO, int R>
void channelTileUpTo(int r, const float* xPad, const float* wT, const ConvGeom& g, int v0, int oy, int ox0, int wp,
                     int hp, const float* bias, float* out) {
  if constexpr (R > 1) {
    if (r < R) return channelTileUpTo<NO, R - 1>(r, xPad, wT, g, v0, oy, ox0, wp, hp, bias, out);
  }
  channelTile<NO, R>(xPad, wT, g, v0, oy, ox0, wp, hp, bias, out);
}

// One image by channel tiles; rows cut into near-equal runs of at most 12/NO columns.
template <int NO>
void forwardImageChannels(const float* xp, const float* wT, const float* bias, const ConvGeom& g, int wp, int hp, float* ob) {
  constexpr int RMAX = 12 / NO;
  const int runs = (g.outW + RMAX - 1) / RMAX;
  for (int v0 = 0; v0 < g.cOut / VL; v0 += NO)
    for (int oy = 0; oy < g.outH; oy++)
      for (int k = 0; k < runs; k++) {
        const int ox0 = g.outW * k / runs, ox1 = g.outW * (k + 1) / runs;
        channelTileUpTo<NO, RMAX>(ox1 - ox0, xp, wT, g, v0, oy, ox0, wp, hp, bias, ob);
      }
}

// Lanes over output channels: O whole vectors, rows that leave lanes of their last vector empty, and a reduction
// long enough that the scalar stores cost little.
bool channelLanes(const ConvGeom& g) { return g.cOut % VL == 0 && g.outW % VL != 0 && convReduction(g) >= 48; }

}  // namespace

bool directForwardEligible(const ConvGeom& g) {
  // below 16 taps (vggsmall's 1 -> 32 3x3) the GEMM path was faster (0.87 against 1.15 ms), above 160 too
  const int reduction = g.cIn * g.kh * g.kw;
  return g.strideH == 1 && g.strideW == 1 && g.groups == 1 && !convPointwise(g) && 2 * g.outW >= VL &&
         reduction >= 16 && reduction <= 160;
}

void directForward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  const bool byChannels = channelLanes(g);
  // rows: whole vectors of columns; channels: the columns R x (KW-1) reaches past the last output
  const int owp = byChannels ? g.outW : (g.outW + VL - 1) / VL * VL;
  const int hp = g.outH + (g.kh - 1) * g.dilationH, wp = owp + (g.kw - 1) * g.dilationW;
  const int taps = g.kh * g.kw;
  const bool by3 = g.cOut % 3 == 0 && g.cOut % 4 != 0;
  const int tileO = by3 ? 3 : 4, oPad = (g.cOut + tileO - 1) / tileO * tileO;
  std::vector<float> wPad;
  if (byChannels) {
    // (C, KH, KW, O)
    wPad.resize((size_t)g.cIn * taps * g.cOut);
    for (int o = 0; o < g.cOut; o++)
      for (int k = 0; k < g.cIn * taps; k++) wPad[(size_t)k * g.cOut + o] = w[(size_t)o * g.cIn * taps + k];
  } else {
    // padded to whole register tiles of output channels (zeros past O)
    wPad.assign((size_t)oPad * g.cIn * taps, 0.0f);
    std::memcpy(wPad.data(), w, sizeof(float) * (size_t)g.cOut * g.cIn * taps);
  }
  const long xPlane = (long)hp * wp;
  ck::parallelFor(g.n, [&](int b) {
    float* xp = fwdPadScratch.get((size_t)g.cIn * xPlane);
    padImage(x + (long)b * g.cIn * g.h * g.w, g, hp, wp, xp);
    float* ob = out + (long)b * g.cOut * g.outH * g.outW;
    if (byChannels) {
      if (g.cOut % (2 * VL) == 0) forwardImageChannels<2>(xp, wPad.data(), bias, g, wp, hp, ob);
      else forwardImageChannels<1>(xp, wPad.data(), bias, g, wp, hp, ob);
    } else if (by3) {
      forwardImageRows<3, 4>(xp, wPad.data(), bias, g, wp, hp, ob);
    } else {
      forwardImageRows<4, 3>(xp, wPad.data(), bias, g, wp, hp, ob);
    }
  });
}

}  // namespace CK_ISA_NS

// ---- weight gradient with lanes over output channels (LeNet's conv2: 16 channels, rows of 10 columns) ----
// The row kernel above puts output columns in lanes; rows of 10 filled 10 of 16 lanes (AVX2) and every row paid a
// tile setup. Here a lane is one output channel: gw[o, tap] for VL consecutive o, every lane a real weight. An
// accumulator tile is NO channel vectors x T taps (tap = (c, i, j) in gw's order, NO*T <= 12); per output pixel it
// loads NO output-gradient vectors (the image's gy copied to (pixel, channel) order) and broadcasts T input values.
// Sums: each lane adds its (pixel) terms in row order in float over a run of rows (about 128 pixels), then into an
// f64 partial of its image group; the groups' partials are added in group order. Image groups are cut from n alone.
// Zero padding multiplies real values, so this kernel too is exact for finite inputs only (conv.cc checks gw).
namespace CK_ISA_NS {
namespace {

constexpr int CW_ACC = 12;              // accumulators per tile
constexpr int CW_PIXELS_PER_FLUSH = 128;  // float terms per lane before they go into f64
constexpr int CW_GROUPS = 8;            // image groups (tasks per channel block)
thread_local Scratch cwGyScratch, cwXScratch;

// Rows [oy0, oy1) of one image into part[(t0 + t) * ob + n * VL + lane] (f64), taps t0 .. t0 + T.
template <int NO, int T>
void channelWeightTile(const float* gyT, int ob, const float* xb, int wp, const long* tapOffset, int outW, int oy0,
                       int oy1, double* part) {
  vf acc[NO][T];
#pragma GCC unroll 2
  for (int n = 0; n < NO; n++)
#pragma GCC unroll 12
    for (int t = 0; t < T; t++) acc[n][t] = vf{};
  long off[T];
  for (int t = 0; t < T; t++) off[t] = tapOffset[t];
  for (int oy = oy0; oy < oy1; oy++) {
    const float* xr = xb + (long)oy * wp;
    const float* gr = gyT + (long)oy * outW * ob;
    for (int ox = 0; ox < outW; ox++, gr += ob) {
      vf gv[NO];
#pragma GCC unroll 2
      for (int n = 0; n < NO; n++) gv[n] = vload(gr + n * VL);
#pragma GCC unroll 12
      for (int t = 0; t < T; t++) {
        const vf xs = vsplat(xr[ox + off[t]]);
#pragma GCC unroll 2
        for (int n = 0; n < NO; n++) acc[n][t] = fmadd(gv[n], xs, acc[n][t]);
      }
    }
  }
  for (int t = 0; t < T; t++)
    for (int n = 0; n < NO; n++) addLanesF64(acc[n][t], part + (long)t * ob + n * VL);
}

template <int NO, int T>
void channelWeightTileUpTo(int taps, const float* gyT, int ob, const float* xb, int wp, const long* tapOffset, int outW,
                           int oy0, int oy1, double* part) {
  if constexpr (T > 1) {
    if (taps < T) return channelWeightTileUpTo<NO, T - 1>(taps, gyT, ob, xb, wp, tapOffset, outW, oy0, oy1, part);
  }
  channelWeightTile<NO, T>(gyT, ob, xb, wp, tapOffset, outW, oy0, oy1, part);
}

template <int NO>
void channelWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  constexpr int TMAX = CW_ACC / NO;
  const int ob = NO * VL, oBlocks = g.cOut / ob, taps = convReduction(g), p = g.outH * g.outW;
  const int hp = g.outH + (g.kh - 1) * g.dilationH, wp = g.outW + (g.kw - 1) * g.dilationW;
  const long xPlane = (long)hp * wp;
  // unpadded inputs whose rows are exactly the taps' reach are read in place
  const bool inPlace = g.padH == 0 && g.padW == 0 && hp == g.h && wp == g.w;
  std::vector<long> tapOffset(taps);
  for (int c = 0, t = 0; c < g.cIn; c++)
    for (int i = 0; i < g.kh; i++)
      for (int j = 0; j < g.kw; j++) tapOffset[t++] = c * xPlane + (long)i * g.dilationH * wp + j * g.dilationW;
  // taps cut into near-equal tiles of at most TMAX (25 taps: 6 tiles of 4 or 5, never a lone 1-tap tile)
  const int tiles = (taps + TMAX - 1) / TMAX;
  const int groups = g.n < CW_GROUPS ? g.n : CW_GROUPS;
  const int rowsPerFlush = CW_PIXELS_PER_FLUSH / g.outW > 1 ? CW_PIXELS_PER_FLUSH / g.outW : 1;
  std::vector<double> partial((size_t)groups * g.cOut * taps, 0.0);  // [group][o block][tap][o in block]
  ck::parallelFor(oBlocks * groups, [&](int task) {
    const int blk = task / groups, grp = task % groups, o0 = blk * ob;
    double* part = partial.data() + ((size_t)grp * oBlocks + blk) * taps * ob;
    float* gyT = cwGyScratch.get((size_t)p * ob);
    float* xPad = inPlace ? nullptr : cwXScratch.get((size_t)g.cIn * xPlane);
    for (int b = (int)ck::partBegin(g.n, grp, groups); b < (int)ck::partBegin(g.n, grp + 1, groups); b++) {
      // this block's output-gradient planes to (pixel, channel) order
      for (int k = 0; k < ob; k++) {
        const float* src = gy + ((long)b * g.cOut + o0 + k) * p;
        for (int q = 0; q < p; q++) gyT[(long)q * ob + k] = src[q];
      }
      const float* xb = x + (long)b * g.cIn * g.h * g.w;
      if (!inPlace) {
        padImage(xb, g, hp, wp, xPad);
        xb = xPad;
      }
      for (int oy0 = 0; oy0 < g.outH; oy0 += rowsPerFlush) {
        const int oy1 = oy0 + rowsPerFlush < g.outH ? oy0 + rowsPerFlush : g.outH;
        for (int k = 0; k < tiles; k++) {
          const int t0 = (int)ck::partBegin(taps, k, tiles), t1 = (int)ck::partBegin(taps, k + 1, tiles);
          channelWeightTileUpTo<NO, TMAX>(t1 - t0, gyT, ob, xb, wp, tapOffset.data() + t0, g.outW, oy0, oy1,
                                         part + (long)t0 * ob);
        }
      }
    }
  });
  // the groups' partials in group order
  for (int o = 0; o < g.cOut; o++)
    for (int t = 0; t < taps; t++) {
      const size_t at = ((size_t)(o / ob) * taps + t) * ob + o % ob, groupStride = (size_t)g.cOut * taps;
      double s = 0;  // (no groups, and so zero, for an empty batch)
      for (int grp = 0; grp < groups; grp++) s += partial[grp * groupStride + at];
      gw[(long)o * taps + t] = (float)s;
    }
}

}  // namespace

bool channelWeightGradEligible(const ConvGeom& g) {
  // AVX2 only: without FMA (SSE2) every product is rounded too (the row kernel flushes to f64 every 2 rows there
  // for precision); NEON and AVX-512 keep the row kernel until measured on such CPUs.
  // Rows that fill less than 3/4 of the row kernel's lanes, and at least 16 taps to share each pixel's transposed
  // output gradient: vggsmall's conv1 (9 taps, rows of 28 in 32 lanes) took 1.13-1.33x the row kernel's time.
  const int owp = (g.outW + VL - 1) / VL * VL;
  return CK_VBYTES == 32 && g.strideH == 1 && g.strideW == 1 && g.groups == 1 && !convPointwise(g) &&
         g.cOut % VL == 0 && 4 * g.outW < 3 * owp && convReduction(g) >= 16;
}

void channelWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  if ((g.cOut / VL) % 2 == 0) channelWeightGrad<2>(x, gy, g, gw);
  else channelWeightGrad<1>(x, gy, g, gw);
}

}  // namespace CK_ISA_NS

// ---- input gradient, direct (LeNet's conv2: 16 -> 6 channels, 5x5, 10x10 -> 14x14) ----
// gx[c, y, x] = sum over o, then i', then j' of w[o, c, kh-1-i', kw-1-j'] * gy[o, y + i'*dh - ah, x + j'*dw - aw]
// with ah = (kh-1)*dh - padH (and aw likewise): a stride-1 convolution of the output gradient with the flipped
// weights. The GEMM path ran a (C*KH*KW x O) @ (O x P) product per image with a reduction of only O, then col2im's
// scattered adds. Here lanes are input columns; a register tile is CB input channels x NV vectors (a whole row of
// gx, NV*CB = 12), per tap NV output-gradient loads and CB weight broadcasts. Taps whose output-gradient row lies
// outside the plane are skipped (at 10 -> 14 rows, 20 of 70); columns outside it read zeros, which is exact for
// finite inputs only: each image records whether its stored values are finite and conv.cc redoes the batch by
// GEMM otherwise (a non-finite input always leaves a non-finite value in gx). A task is one image; every gx
// element is one fmadd chain in the fixed order above, whatever thread runs it.
namespace CK_ISA_NS {
namespace {

constexpr int IG_ACC = 12;  // accumulators per tile
thread_local Scratch igGyScratch;

// Row y of gx for channels [c0, c0 + cn): gyRows (O, outH, wq) holds the image's output gradient with aw zero
// columns before each row and zeros after; wBlock (O, KH, KW, CB) the flipped weights of this channel block.
template <int CB, int NV>
void inputGradRow(const float* gyRows, const float* wBlock, const ConvGeom& g, int wq, int ah, int y, int c0, int cn,
                  float* gxb, vf& check) {
  vf acc[CB][NV];
#pragma GCC unroll 12
  for (int k = 0; k < CB; k++)
#pragma GCC unroll 3
    for (int v = 0; v < NV; v++) acc[k][v] = vf{};
  const long gyPlane = (long)g.outH * wq;
  for (int o = 0; o < g.cOut; o++)
    for (int i = 0; i < g.kh; i++) {
      const int r = y + i * g.dilationH - ah;
      if (r < 0 || r >= g.outH) continue;  // a row of zeros
      const float* row = gyRows + o * gyPlane + (long)r * wq;
      const float* wt = wBlock + ((long)o * g.kh + i) * g.kw * CB;
      for (int j = 0; j < g.kw; j++, wt += CB) {
        vf gv[NV];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) gv[v] = vload(row + v * VL + j * g.dilationW);
#pragma GCC unroll 12
        for (int k = 0; k < CB; k++) {
          const vf wv = vsplat(wt[k]);
#pragma GCC unroll 3
          for (int v = 0; v < NV; v++) acc[k][v] = fmadd(wv, gv[v], acc[k][v]);
        }
      }
    }
  for (int k = 0; k < cn; k++) {
    float* dst = gxb + ((long)(c0 + k) * g.h + y) * g.w;
    for (int v = 0; v < NV; v++) {
      check += acc[k][v] - acc[k][v];  // 0 for finite lanes, NaN otherwise
      const int left = g.w - v * VL;
      if (left >= VL) {
        vstore(dst + v * VL, acc[k][v]);
      } else {
        alignas(64) float lanes[VL];
        vstore(lanes, acc[k][v]);
        for (int l = 0; l < left; l++) dst[v * VL + l] = lanes[l];
      }
    }
  }
}

template <int NV>
bool directInputGrad(const float* gy, const float* w, const ConvGeom& g, float* gx) {
  constexpr int CB = IG_ACC / NV;
  const int ah = (g.kh - 1) * g.dilationH - g.padH, aw = (g.kw - 1) * g.dilationW - g.padW;
  const int wq = NV * VL + (g.kw - 1) * g.dilationW, taps = g.kh * g.kw, cBlocks = (g.cIn + CB - 1) / CB;
  // flipped weights (C blocks, O, KH, KW, CB), zeros past C
  std::vector<float> wFlip((size_t)cBlocks * g.cOut * taps * CB, 0.0f);
  for (int o = 0; o < g.cOut; o++)
    for (int c = 0; c < g.cIn; c++)
      for (int i = 0; i < g.kh; i++)
        for (int j = 0; j < g.kw; j++)
          wFlip[((((size_t)(c / CB) * g.cOut + o) * g.kh + (g.kh - 1 - i)) * g.kw + (g.kw - 1 - j)) * CB + c % CB] =
              w[(((size_t)o * g.cIn + c) * g.kh + i) * g.kw + j];
  std::vector<char> finite(g.n);
  ck::parallelFor(g.n, [&](int b) {
    // the image's output-gradient rows, column s holding gy column s - aw (zeros outside)
    float* gyRows = igGyScratch.get((size_t)g.cOut * g.outH * wq);
    for (int o = 0; o < g.cOut; o++)
      for (int r = 0; r < g.outH; r++) {
        float* dst = gyRows + ((long)o * g.outH + r) * wq;
        const float* src = gy + (((long)b * g.cOut + o) * g.outH + r) * g.outW;
        const int lo = aw < 0 ? -aw : 0, hi = g.outW < wq - aw ? g.outW : wq - aw;  // gy columns that land in the row
        for (int s = 0; s < wq; s++) dst[s] = 0.0f;
        for (int q = lo; q < hi; q++) dst[q + aw] = src[q];
      }
    float* gxb = gx + (long)b * g.cIn * g.h * g.w;
    vf check = vf{};
    for (int cb = 0; cb < cBlocks; cb++) {
      const int c0 = cb * CB, cn = g.cIn - c0 < CB ? g.cIn - c0 : CB;
      const float* wBlock = wFlip.data() + (size_t)cb * g.cOut * taps * CB;
      for (int y = 0; y < g.h; y++) inputGradRow<CB, NV>(gyRows, wBlock, g, wq, ah, y, c0, cn, gxb, check);
    }
    alignas(64) float lanes[VL];
    vstore(lanes, check);
    bool ok = true;
    for (int l = 0; l < VL; l++) ok = ok && lanes[l] == 0.0f;
    finite[b] = ok;
  });
  for (char f : finite)
    if (!f) return false;
  return true;
}

}  // namespace

bool directInputGradEligible(const ConvGeom& g) {
  // AVX2 only: measured there (SSE2's and NEON's 4 lanes and AVX-512's 16 keep the GEMM path)
  if (CK_VBYTES != 32 || g.strideH != 1 || g.strideW != 1 || g.groups != 1 || convPointwise(g)) return false;
  // every output-gradient column shift is non-negative (padding within the kernel's reach)
  if (g.padH > (g.kh - 1) * g.dilationH || g.padW > (g.kw - 1) * g.dilationW) return false;
  const int nv = (g.w + VL - 1) / VL;
  if (nv > 3 || g.cOut * g.kh * g.kw < 16) return false;
  // at least 3/4 of the tile's lanes are real outputs (input channels padded to the tile, columns to vectors)
  const int cb = IG_ACC / nv, cPad = (g.cIn + cb - 1) / cb * cb;
  return 4L * g.cIn * g.w >= 3L * cPad * nv * VL;
}

bool directInputGrad(const float* gy, const float* w, const ConvGeom& g, float* gx) {
  const int nv = (g.w + VL - 1) / VL;
  if (nv == 1) return directInputGrad<1>(gy, w, g, gx);
  if (nv == 2) return directInputGrad<2>(gy, w, g, gx);
  return directInputGrad<3>(gy, w, g, gx);
}

}  // namespace CK_ISA_NS

// ---- weight gradient over flat planes (LeNet's conv1: 6 channels on 28x28 outputs) ----
// Rows of 28 columns filled 28 of 32 lanes in the row kernel, and its 4-channel tiles ran 6 channels as 8. Here a
// vector is VL consecutive pixels of the flattened output plane, which holds whole vectors (28 x 28 = 98 x 8), so
// every lane is real: the output gradient is read in place, and each image's input is copied once into KW
// column-shifted planes of OW columns (plane j, row r, column ox: the padded input at row r, column ox + j*dw), in
// which tap (c, i, j) of pixel p sits at p + i*dh*OW. A register tile is OB output channels x T taps (OB*T <= 12;
// 6 x 2 for LeNet, so no channel slot is empty).
// Sums: each lane adds its vectors' terms in order in float over a chunk of at most FLAT_CHUNK_VECTORS vectors
// (49 for LeNet), then into an f64 partial of its image group; at the end each weight is the groups'
// partials in group order, each group's lanes left to right. Image groups are cut from n alone.
// Zero padding multiplies real values: exact for finite inputs only (conv.cc checks gw).
namespace CK_ISA_NS {
namespace {

// Keeps v in a vector register: without it GCC folded each output-gradient load into both of its tap's FMAs
// (14 loads per 12 FMAs instead of 8); LeNet's conv1 took 0.71-0.76x the time with it (in-process A/B). Not in the
// tests' emulated avx512 level (simd.h): no register holds a 64-byte vector there ("impossible constraint").
__attribute__((always_inline)) inline void inRegister(vf& v) {
#if defined(CK_VF_EMULATED)
  (void)v;
#elif defined(__x86_64__) || defined(__i386__)
  asm("" : "+x"(v));
#elif defined(__aarch64__)
  asm("" : "+w"(v));
#endif
}

constexpr int FLAT_ACC = 12;
// Vectors of the plane one pass of the tiles walks, so that its output-gradient vectors of every channel and the
// shifted input rows they reach fit a 32 KB L1 (a whole 28x28 plane, 6 channels and 5 shifted planes, is 37 KB).
// Each lane's float sum is flushed to f64 after a chunk. LeNet's conv1, 1 thread, against chunks of 64: whole
// planes 0.93-1.01x the time, chunks of 32 1.16-1.23x (twice the flushes).
constexpr int FLAT_CHUNK_VECTORS = 64;
constexpr int FLAT_GROUPS = 8;
thread_local Scratch flatPadScratch, flatShiftScratch;

// Vectors [v0, v1) of the plane, output channels o0 .. o0 + OB (gyImage's planes), taps t0 .. t0 + T (offsets in
// the shifted planes), into part[((o * taps) + t) * VL + lane].
template <int OB, int T>
void flatWeightTile(const float* gyImage, long p, const float* shifted, const long* tapOffset, int v0, int v1, int taps,
                    int o0, int t0, double* part) {
  vf acc[OB][T];
#pragma GCC unroll 6
  for (int o = 0; o < OB; o++)
#pragma GCC unroll 12
    for (int t = 0; t < T; t++) acc[o][t] = vf{};
  const float* xt[T];
  for (int t = 0; t < T; t++) xt[t] = shifted + tapOffset[t];
  const float* gyo[OB];
  for (int o = 0; o < OB; o++) gyo[o] = gyImage + (o0 + o) * p;
  for (int v = v0; v < v1; v++) {
    vf xv[T];
#pragma GCC unroll 12
    for (int t = 0; t < T; t++) xv[t] = vload(xt[t] + v * VL);
#pragma GCC unroll 6
    for (int o = 0; o < OB; o++) {
      vf gv = vload(gyo[o] + v * VL);
      inRegister(gv);
#pragma GCC unroll 12
      for (int t = 0; t < T; t++) acc[o][t] = fmadd(gv, xv[t], acc[o][t]);
    }
  }
  for (int o = 0; o < OB; o++)
    for (int t = 0; t < T; t++) addLanesF64(acc[o][t], part + ((long)(o0 + o) * taps + t0 + t) * VL);
}

template <int OB, int T>
void flatWeightTileUpTo(int nt, const float* gyImage, long p, const float* shifted, const long* tapOffset, int v0,
                        int v1, int taps, int o0, int t0, double* part) {
  if constexpr (T > 1) {
    if (nt < T) return flatWeightTileUpTo<OB, T - 1>(nt, gyImage, p, shifted, tapOffset, v0, v1, taps, o0, t0, part);
  }
  flatWeightTile<OB, T>(gyImage, p, shifted, tapOffset, v0, v1, taps, o0, t0, part);
}

// Every tap tile of output channels o0 .. o0 + OB over vectors [v0, v1).
template <int OB>
void flatWeightBlock(const float* gyImage, long p, const float* shifted, const long* tapOffset, int v0, int v1, int taps,
                     int o0, double* part) {
  constexpr int TMAX = FLAT_ACC / OB;
  const int tiles = (taps + TMAX - 1) / TMAX;  // near-equal tiles: 25 taps by 2 is 12 of 2 and one of 1
  for (int k = 0; k < tiles; k++) {
    const int t0 = (int)ck::partBegin(taps, k, tiles), t1 = (int)ck::partBegin(taps, k + 1, tiles);
    flatWeightTileUpTo<OB, TMAX>(t1 - t0, gyImage, p, shifted, tapOffset + t0, v0, v1, taps, o0, t0, part);
  }
}

}  // namespace

bool flatWeightGradEligible(const ConvGeom& g) {
  // AVX2 only, as the channel kernel; rows that leave lanes empty, planes of whole vectors
  return CK_VBYTES == 32 && g.strideH == 1 && g.strideW == 1 && g.groups == 1 && !convPointwise(g) &&
         g.outW >= VL && g.outW % VL != 0 && (g.outH * g.outW) % VL == 0;
}

void flatWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  const long p = (long)g.outH * g.outW;
  const int vectors = (int)(p / VL), taps = convReduction(g);
  const int hp = g.outH + (g.kh - 1) * g.dilationH, wp = g.outW + (g.kw - 1) * g.dilationW;
  const long shiftedPlane = (long)hp * g.outW;
  std::vector<long> tapOffset(taps);
  for (int c = 0, t = 0; c < g.cIn; c++)
    for (int i = 0; i < g.kh; i++)
      for (int j = 0; j < g.kw; j++) tapOffset[t++] = ((long)c * g.kw + j) * shiftedPlane + (long)i * g.dilationH * g.outW;
  // channel blocks of 6 where O is a multiple of 6, else of 4 and a smaller last block
  const int obMax = g.cOut % 6 == 0 ? 6 : 4;
  // the plane in near-equal chunks of at most FLAT_CHUNK_VECTORS (LeNet: 2 of 49)
  const int chunks = (vectors + FLAT_CHUNK_VECTORS - 1) / FLAT_CHUNK_VECTORS;
  const int groups = g.n < FLAT_GROUPS ? g.n : FLAT_GROUPS;
  const size_t groupFloats = (size_t)g.cOut * taps * VL;
  std::vector<double> partial((size_t)groups * groupFloats, 0.0);  // [group][o][tap][lane]
  ck::parallelFor(groups, [&](int grp) {
    double* part = partial.data() + grp * groupFloats;
    float* xPad = flatPadScratch.get((size_t)g.cIn * hp * wp);
    float* shifted = flatShiftScratch.get((size_t)g.cIn * g.kw * shiftedPlane);
    for (int b = (int)ck::partBegin(g.n, grp, groups); b < (int)ck::partBegin(g.n, grp + 1, groups); b++) {
      padImage(x + (long)b * g.cIn * g.h * g.w, g, hp, wp, xPad);
      // the shifted planes, a row at a time by vectors (the last one overlapping: OW >= VL)
      for (int c = 0; c < g.cIn; c++)
        for (int j = 0; j < g.kw; j++)
          for (int r = 0; r < hp; r++) {
            const float* src = xPad + ((long)c * hp + r) * wp + j * g.dilationW;
            float* dst = shifted + ((long)c * g.kw + j) * shiftedPlane + (long)r * g.outW;
            int q = 0;
            for (; q + VL <= g.outW; q += VL) vstore(dst + q, vload(src + q));
            if (q < g.outW) vstore(dst + g.outW - VL, vload(src + g.outW - VL));
          }
      const float* gyImage = gy + (long)b * g.cOut * p;
      for (int k = 0; k < chunks; k++) {
        const int v0 = (int)ck::partBegin(vectors, k, chunks), v1 = (int)ck::partBegin(vectors, k + 1, chunks);
        for (int o0 = 0; o0 < g.cOut;) {
          const int ob = g.cOut - o0 < obMax ? g.cOut - o0 : obMax;
          switch (ob) {
            case 6: flatWeightBlock<6>(gyImage, p, shifted, tapOffset.data(), v0, v1, taps, o0, part); break;
            case 4: flatWeightBlock<4>(gyImage, p, shifted, tapOffset.data(), v0, v1, taps, o0, part); break;
            case 3: flatWeightBlock<3>(gyImage, p, shifted, tapOffset.data(), v0, v1, taps, o0, part); break;
            case 2: flatWeightBlock<2>(gyImage, p, shifted, tapOffset.data(), v0, v1, taps, o0, part); break;
            default: flatWeightBlock<1>(gyImage, p, shifted, tapOffset.data(), v0, v1, taps, o0, part); break;
          }
          o0 += ob;
        }
      }
    }
  });
  // each weight: the groups' partials in group order, each group's lanes left to right
  for (long k = 0; k < (long)g.cOut * taps; k++) {
    double s = 0;
    for (int grp = 0; grp < groups; grp++) {
      const double* lanes = partial.data() + grp * groupFloats + k * VL;
      for (int l = 0; l < VL; l++) s += lanes[l];
    }
    gw[k] = (float)s;
  }
}

}  // namespace CK_ISA_NS
