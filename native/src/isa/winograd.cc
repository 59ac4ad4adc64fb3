// Winograd minimal filtering for 3x3, stride-1, dilation-1, ungrouped convolutions: F(4x4,3x3) (36 multiplies per
// 4x4 output tile and channel pair instead of 144) for the forward pass and, as a forward convolution of the output
// gradient with rotated, transposed filters and padding 2 - pad, for the input gradient.
//
// Layout: lanes are channels. A task takes a fixed group of images, or a band of tile rows of one large image (from
// the geometry alone), copies them to a zero-padded channels-last buffer (channels rounded up to whole vectors), transforms each 6x6 input patch into
// V[p] (tiles x C) for the 36 positions p, runs 36 GEMMs M[p] (tiles x O) = V[p] @ U[p] (smallGemm: the sum over
// input channels in a fixed order), and transforms M back to 4x4 output tiles (A^T M A) plus bias. A tile's outputs
// depend on its own inputs and U only, so the task split never changes a bit.
//
// Points: 0, 1, -1, 1/2, -2 and infinity, as asm/winograd4.ts (the rows of B^T scaled to integers, their factors
// moved into G, applied in f64 and rounded once): rounding error about 2e-6 of the largest output on 64 channels
// against 6e-6 with the usual 0, +-1, +-2.
//
// Non-finite values: a transform mixes a patch's values, so one infinity in the input can make NaN of outputs the
// direct sum gives as infinity. Outputs that come out non-finite are recomputed by the direct sum (as the wasm
// backend does), so NaN and infinity land where PyTorch puts them.
#include <cmath>
#include <cstring>
#include <vector>
#include "conv-common.h"
#include "kernels.h"
#include "simd.h"

namespace CK_ISA_NS {
namespace {

constexpr int TM = 4, TA = 6;  // output tile and input patch side
constexpr float BT[TA][TA] = {{2, -3, -4, 3, 2, 0}, {0, -2, 1, 5, 2, 0}, {0, 2, -5, 1, 2, 0},
                              {0, -2, -1, 2, 1, 0}, {0, 1, -2, -1, 2, 0}, {0, 2, -3, -4, 3, 2}};
constexpr double GM[TA][3] = {{0.5, 0, 0},          {1.0 / 6, 1.0 / 6, 1.0 / 6},    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                              {-16.0 / 15, -8.0 / 15, -4.0 / 15}, {1.0 / 30, -1.0 / 15, 2.0 / 15}, {0, 0, 0.5}};
constexpr float AT[TM][TA] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 0.5f, -2, 0}, {0, 1, 1, 0.25f, 4, 0}, {0, 1, -1, 0.125f, -8, 1}};

// sum_k coef[k] * v[k * stride], skipping zero coefficients and multiplies by +-1 (folded at compile time once
// the loops are unrolled).
template <int N, class T>
__attribute__((always_inline)) inline T combine(const float (&coef)[N], const T* v, int stride) {
  T s{};
  bool first = true;
#pragma GCC unroll 8
  for (int k = 0; k < N; k++) {
    const float c = coef[k];
    if (c == 0) continue;
    T term = c == 1 ? v[k * stride] : c == -1 ? -v[k * stride] : v[k * stride] * c;
    s = first ? term : s + term;
    first = false;
  }
  return s;
}

// o = B^T d for one column d of a patch: BT's rows evaluated with shared terms (a = d4 - d2, b = d3 - d1; factors 2
// as additions, exact), 22 operations where the row-by-row sums take about 40.
__attribute__((always_inline)) inline void inputTransform(const vf (&d)[TA], vf (&o)[TA]) {
  const vf three = vsplat(3.0f);
  const vf a = d[4] - d[2], b = d[3] - d[1], a2 = a + a, b2 = b + b;
  const vf e = a2 + d[3] * three, q = b2 + d[2] * three;  // the even and odd parts of rows 1 and 2
  const vf c0 = d[0] - d[2], c5 = d[5] - d[3];
  o[0] = ((c0 + c0) + a2) + b * three;  // 2 d0 - 3 d1 - 4 d2 + 3 d3 + 2 d4
  o[1] = e + q;                         // -2 d1 + d2 + 5 d3 + 2 d4
  o[2] = e - q;                         // 2 d1 - 5 d2 + d3 + 2 d4
  o[3] = a + b2;                        // -2 d1 - d2 + 2 d3 + d4
  o[4] = a2 - b;                        // d1 - 2 d2 - d3 + 2 d4
  o[5] = ((c5 + c5) - b2) + a * three;  // 2 d1 - 3 d2 - 4 d3 + 3 d4 + 2 d5
}

// A task's share: images [b0, b1), tile rows [ty0, ty1) of each. Tasks hold some 64 tiles (the GEMMs' rows):
// several small images, or bands of tile rows of a large one (so one big image still spreads over threads).
struct TaskShare { int b0, b1, ty0, ty1; };
constexpr int TASK_TILES = 64;
struct TaskSplit {
  int imagesPer, bands, rowsPerBand;
  TaskSplit(const ConvGeom& g, int tilesH, int tilesW) {
    const int tilesPerImage = tilesH * tilesW;
    if (tilesPerImage >= 2 * TASK_TILES) {
      imagesPer = 1;
      rowsPerBand = (TASK_TILES + tilesW - 1) / tilesW;
      bands = (tilesH + rowsPerBand - 1) / rowsPerBand;
    } else {
      imagesPer = (TASK_TILES + tilesPerImage - 1) / tilesPerImage;
      if (imagesPer > g.n) imagesPer = g.n;
      rowsPerBand = tilesH;
      bands = 1;
    }
  }
  int tasks(int n) const { return (n + imagesPer - 1) / imagesPer * bands; }
  TaskShare share(int task, int n, int tilesH) const {
    const int group = task / bands, band = task % bands;
    const int b0 = group * imagesPer, b1 = b0 + imagesPer < n ? b0 + imagesPer : n;
    const int ty0 = band * rowsPerBand, ty1 = ty0 + rowsPerBand < tilesH ? ty0 + rowsPerBand : tilesH;
    return {b0, b1, ty0, ty1};
  }
};

int roundUp(int v, int to) { return (v + to - 1) / to * to; }

// Columns [q0, q1) of one row of `count` planes (plane c's row at row + c * plane) to channels-last: column q of
// plane c at out[q * lanes + c]. On x86, 4 planes x 4 columns at a time, transposed in SSE registers.
void rowToChannelsLast(const float* row, long plane, int count, int q0, int q1, float* out, int lanes) {
  int c = 0;
#ifdef __SSE2__
  for (; c + 4 <= count; c += 4) {
    const float* s0 = row + c * plane;
    int q = q0;
    for (; q + 4 <= q1; q += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + q), r1 = _mm_loadu_ps(s0 + plane + q), r2 = _mm_loadu_ps(s0 + 2 * plane + q),
             r3 = _mm_loadu_ps(s0 + 3 * plane + q);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      float* d = out + (long)q * lanes + c;
      _mm_storeu_ps(d, r0);
      _mm_storeu_ps(d + lanes, r1);
      _mm_storeu_ps(d + 2 * lanes, r2);
      _mm_storeu_ps(d + 3 * lanes, r3);
    }
    for (; q < q1; q++)
      for (int k = 0; k < 4; k++) out[(long)q * lanes + c + k] = s0[k * plane + q];
  }
#endif
  for (; c < count; c++)
    for (int q = q0; q < q1; q++) out[(long)q * lanes + c] = row[c * plane + q];
}

thread_local Scratch paddedScratch, vScratch, mScratch;

// c (m x n) = A (m x k) @ b (k x n), n a multiple of VL, A's element (r, p) at a[r * ars + p * aks] (either
// layout): R rows x NV vectors of c per register tile, A's values broadcast straight from memory (no packing: with k
// a few vectors long, gemm.cc's packing cost as much as the multiply-adds). Each element is one fmadd chain from 0
// over p in order, as gemm.cc's micro-kernel runs it (its k blocks store and reload C exactly), so the bits are gemm's.
template <int R, int NV>
__attribute__((always_inline)) inline void smallTile(int k, const float* __restrict a, long ars, long aks,
                                                     const float* __restrict b, long ldb, float* c, long ldc) {
  vf acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int q = 0; q < NV; q++) acc[r][q] = vf{};
  for (int p = 0; p < k; p++) {
    vf bv[NV];
#pragma GCC unroll 2
    for (int q = 0; q < NV; q++) bv[q] = vload(b + (size_t)p * ldb + q * VL);
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const vf av = vsplat(a[r * ars + p * aks]);
#pragma GCC unroll 2
      for (int q = 0; q < NV; q++) acc[r][q] = fmadd(av, bv[q], acc[r][q]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int q = 0; q < NV; q++) vstore(c + r * ldc + q * VL, acc[r][q]);
}

#if CK_VBYTES == 64
constexpr int PR = 12;  // rows of a register tile: 12 x 2 accumulators of AVX-512's 32 registers
#else
constexpr int PR = 6;  // 6 x 2 of 16
#endif

template <int NV>
void smallRows(int m, int k, const float* a, long ars, long aks, const float* b, long ldb, float* c, long ldc) {
  int r = 0;
  for (; r + PR <= m; r += PR) smallTile<PR, NV>(k, a + r * ars, ars, aks, b, ldb, c + r * ldc, ldc);
  switch (m - r) {
#define CK_SMALL_EDGE(R) case R: smallTile<R, NV>(k, a + r * ars, ars, aks, b, ldb, c + r * ldc, ldc); break;
    CK_SMALL_EDGE(1) CK_SMALL_EDGE(2) CK_SMALL_EDGE(3) CK_SMALL_EDGE(4) CK_SMALL_EDGE(5)
#if CK_VBYTES == 64
    CK_SMALL_EDGE(6) CK_SMALL_EDGE(7) CK_SMALL_EDGE(8) CK_SMALL_EDGE(9) CK_SMALL_EDGE(10) CK_SMALL_EDGE(11)
#endif
#undef CK_SMALL_EDGE
    default: break;
  }
}

void smallGemm(int m, int n, int k, const float* a, long ars, long aks, const float* b, long ldb, float* c, long ldc) {
  int j = 0;
  for (; j + 2 * VL <= n; j += 2 * VL) smallRows<2>(m, k, a, ars, aks, b + j, ldb, c + j, ldc);
  if (j < n) smallRows<1>(m, k, a, ars, aks, b + j, ldb, c + j, ldc);
}

// One output of the convolution by the direct sum (for the non-finite fix-up): x (N,C,H,W), w (O,C,3,3).
float directOutput(const float* x, const float* w, const float* bias, const ConvGeom& g, int b, int o, int oy, int ox) {
  float s = 0;
  for (int c = 0; c < g.cIn; c++)
    for (int i = 0; i < 3; i++) {
      const int iy = oy - g.padH + i;
      if (iy < 0 || iy >= g.h) continue;
      for (int j = 0; j < 3; j++) {
        const int ix = ox - g.padW + j;
        if (ix >= 0 && ix < g.w) s += x[(((long)b * g.cIn + c) * g.h + iy) * g.w + ix] * w[((long)o * g.cIn + c) * 9 + i * 3 + j];
      }
    }
  return bias ? s + bias[o] : s;
}

// y = conv(x, w) + bias for a Winograd-eligible forward geometry g; w is (O, C, 3, 3).
void winogradConv(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  const int cp = roundUp(g.cIn, VL), op = roundUp(g.cOut, VL);
  const int tilesH = (g.outH + TM - 1) / TM, tilesW = (g.outW + TM - 1) / TM;
  const int wp = tilesW * TM + 2;  // padded input row: every patch lies inside
  // U[p] (cp x op) = (G w[o,c] G^T)[p], in f64, rounded once; zero in the padding rows and columns.
  std::vector<float> u((size_t)TA * TA * cp * op, 0.0f);
  ck::parallelFor(g.cOut, [&](int o) {
    for (int c = 0; c < g.cIn; c++) {
      const float* f = w + ((long)o * g.cIn + c) * 9;
      double t[TA][3];  // G g
      for (int i = 0; i < TA; i++)
        for (int j = 0; j < 3; j++) t[i][j] = GM[i][0] * f[j] + GM[i][1] * f[3 + j] + GM[i][2] * f[6 + j];
      for (int i = 0; i < TA; i++)
        for (int j = 0; j < TA; j++)
          u[((size_t)(i * TA + j) * cp + c) * op + o] = (float)(t[i][0] * GM[j][0] + t[i][1] * GM[j][1] + t[i][2] * GM[j][2]);
    }
  });
  const TaskSplit split(g, tilesH, tilesW);
  const long outPlane = (long)g.outH * g.outW;
  ck::parallelFor(split.tasks(g.n), [&](int task) {
    const TaskShare sh = split.share(task, g.n, tilesH);
    const int b0 = sh.b0, b1 = sh.b1, nb = b1 - b0, bandTiles = (sh.ty1 - sh.ty0) * tilesW, tiles = nb * bandTiles;
    // channels-last padded copy of the task's rows: padded row py = ty0 * TM + r (input row py - padH)
    const int bandRows = (sh.ty1 - sh.ty0) * TM + 2;
    float* xp = paddedScratch.get((size_t)nb * bandRows * wp * cp);
    std::memset(xp, 0, sizeof(float) * (size_t)nb * bandRows * wp * cp);
    const int cols = g.w < wp - g.padW ? g.w : wp - g.padW;
    for (int b = 0; b < nb; b++)
      for (int r = 0; r < bandRows; r++) {
        const int iy = sh.ty0 * TM + r - g.padH;
        if (iy < 0 || iy >= g.h) continue;
        const float* src = x + (long)(b0 + b) * g.cIn * g.h * g.w + (long)iy * g.w;
        float* dst = xp + (((size_t)b * bandRows + r) * wp + g.padW) * cp;
        rowToChannelsLast(src, (long)g.h * g.w, g.cIn, 0, cols, dst, cp);
      }
    // V[p] (tiles x cp)
    // positions' arrays a cache line more than their size apart: at exactly 4 KiB (64 tiles x 16 channels) the 36
    // streams of the transforms all fell in the same L1 set
    const size_t vStride = (size_t)tiles * cp + 16, mStride = (size_t)tiles * op + 16;
    float* v = vScratch.get(TA * TA * vStride);
    for (int t = 0; t < tiles; t++) {
      const int b = t / bandTiles, ty = (t % bandTiles) / tilesW, tx = t % tilesW;  // ty within the band
      const float* patch = xp + (((size_t)b * bandRows + ty * TM) * wp + tx * TM) * cp;
      for (int cb = 0; cb < cp; cb += VL) {
        // r = B^T d column by column (straight from the patch), then V = r B row by row
        vf r[TA][TA];
#pragma GCC unroll 6
        for (int j = 0; j < TA; j++) {
          vf d[TA], o[TA];
#pragma GCC unroll 6
          for (int i = 0; i < TA; i++) d[i] = vload(patch + ((size_t)i * wp + j) * cp + cb);
          inputTransform(d, o);
#pragma GCC unroll 6
          for (int i = 0; i < TA; i++) r[i][j] = o[i];
        }
#pragma GCC unroll 6
        for (int i = 0; i < TA; i++) {
          vf o[TA];
          inputTransform(r[i], o);
#pragma GCC unroll 6
          for (int j = 0; j < TA; j++) vstore(v + (size_t)(i * TA + j) * vStride + (size_t)t * cp + cb, o[j]);
        }
      }
    }
    // M[p] (tiles x op) = V[p] @ U[p]
    float* m = mScratch.get(TA * TA * mStride);
    for (int p = 0; p < TA * TA; p++)
      smallGemm(tiles, op, cp, v + p * vStride, cp, 1, u.data() + (size_t)p * cp * op, op, m + p * mStride, op);
    // Y = A^T M A + bias, scattered to (N, O, OH, OW)
    bool nonFinite = false;
    for (int t = 0; t < tiles; t++) {
      const int b = b0 + t / bandTiles, ty = sh.ty0 + (t % bandTiles) / tilesW, tx = t % tilesW;
      const int oy0 = ty * TM, ox0 = tx * TM;
      const int rows = g.outH - oy0 < TM ? g.outH - oy0 : TM, cols = g.outW - ox0 < TM ? g.outW - ox0 : TM;
      for (int ob = 0; ob < op; ob += VL) {
        vf mv[TA][TA], r[TM][TA];
        alignas(64) float y[TM][TM][VL];
        for (int i = 0; i < TA; i++)
          for (int j = 0; j < TA; j++) mv[i][j] = vload(m + (size_t)(i * TA + j) * mStride + (size_t)t * op + ob);
#pragma GCC unroll 4
        for (int i = 0; i < TM; i++)
#pragma GCC unroll 6
          for (int j = 0; j < TA; j++) r[i][j] = combine(AT[i], &mv[0][j], TA);
        vf bv{};
        if (bias) {
          alignas(64) float bl[VL] = {};
          for (int l = 0; l < VL && ob + l < g.cOut; l++) bl[l] = bias[ob + l];
          bv = vload(bl);
        }
#pragma GCC unroll 4
        for (int i = 0; i < TM; i++)
#pragma GCC unroll 4
          for (int j = 0; j < TM; j++) {
            vf s = combine(AT[j], &r[i][0], 1);
            vstore(y[i][j], bias ? s + bv : s);
          }
        const int lanes = g.cOut - ob < VL ? g.cOut - ob : VL;
        int l = 0;
#ifdef __SSE2__
        if (rows == TM && cols == TM) {
          // whole tiles: 4 channels' rows at a time, transposed in registers; the non-finite check on all 16 values
          __m128 check = _mm_setzero_ps();
          for (; l + 4 <= lanes; l += 4) {
            float* dst = out + ((long)b * g.cOut + ob + l) * outPlane + (long)oy0 * g.outW + ox0;
            for (int i = 0; i < TM; i++) {
              __m128 a0 = _mm_load_ps(&y[i][0][l]), a1 = _mm_load_ps(&y[i][1][l]), a2 = _mm_load_ps(&y[i][2][l]),
                     a3 = _mm_load_ps(&y[i][3][l]);
              check = _mm_add_ps(check, _mm_mul_ps(_mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3)), _mm_setzero_ps()));
              _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
              float* d = dst + (long)i * g.outW;
              _mm_storeu_ps(d, a0);
              _mm_storeu_ps(d + outPlane, a1);
              _mm_storeu_ps(d + 2 * outPlane, a2);
              _mm_storeu_ps(d + 3 * outPlane, a3);
            }
          }
          // x * 0 is 0 for finite x, NaN for infinity and NaN; a sum of finite values can overflow to infinity, which
          // only sends the band to the exact per-output check below
          nonFinite |= _mm_movemask_ps(_mm_cmpunord_ps(check, check)) != 0;
        }
#endif
        for (; l < lanes; l++) {
          float* dst = out + ((long)b * g.cOut + ob + l) * outPlane + (long)oy0 * g.outW + ox0;
          for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
              const float val = y[i][j][l];
              nonFinite |= !std::isfinite(val);
              dst[(long)i * g.outW + j] = val;
            }
        }
      }
    }
    const int oyEnd = sh.ty1 * TM < g.outH ? sh.ty1 * TM : g.outH;
    if (nonFinite)
      for (int b = b0; b < b1; b++)
        for (int o = 0; o < g.cOut; o++)
          for (int oy = sh.ty0 * TM; oy < oyEnd; oy++)
            for (int ox = 0; ox < g.outW; ox++) {
              float& val = out[((long)b * g.cOut + o) * outPlane + (long)oy * g.outW + ox];
              if (!std::isfinite(val)) val = directOutput(x, w, bias, g, b, o, oy, ox);
            }
  });
}

// ---- weight gradient: F(3x3,2x2) ----
// gw[o, c] (3x3) = sum over 2x2 tiles t of gy[o] and their 4x4 input patches d_t[c]:
//   A^T [ sum_t (G gy_t G^T) (.) (B^T d_t B) ] A,
// points 0, 1, -1 and infinity (exact factors 1 and 1/2): 16 multiplies per tile and channel pair instead of 36.
// The inner sum is 16 GEMMs over chunks of 32 tiles (smallGemm: a fixed order per element) whose results are added
// in f64: a long float sum over tiles, then the cancellation in A^T M A, lost 1e-5 of the result on 16 channels
// (a PyTorch fixture's tolerance). Tasks take fixed groups of images; their f64 partial sums are added in task
// order. Like the direct weight gradient, exact only for finite inputs
// (a transform of an infinity makes NaN): conv.cc checks.
constexpr int WA = 4;
constexpr float WBT[WA][WA] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, -1, 0, 1}};
constexpr float WG[WA][2] = {{1, 0}, {0.5f, 0.5f}, {0.5f, -0.5f}, {0, 1}};
constexpr double WAT[3][WA] = {{1, 1, 1, 0}, {0, 1, -1, 0}, {0, 1, 1, 1}};
constexpr int WG_TASK_TILES = 256;
constexpr int WG_CHUNK_TILES = 32;

thread_local Scratch wgXScratch, wgGyScratch, wgXtScratch, wgGtScratch, wgMScratch;

// Copies planes (count, rows, cols) of image data into a zero-padded channels-last block (padRows, padCols,
// lanes): element (r, q, c) = src[c][r - top][q - left] where inside, else 0.
void toChannelsLast(const float* src, int count, int rows, int cols, int top, int left, int padRows, int padCols,
                    int lanes, float* dst) {
  std::memset(dst, 0, sizeof(float) * (size_t)padRows * padCols * lanes);
  const int q0 = left < 0 ? -left : 0, q1 = cols < padCols - left ? cols : padCols - left;
  const long plane = (long)rows * cols;
  for (int r = 0; r < rows; r++) {
    const int pr = r + top;
    if (pr < 0 || pr >= padRows) continue;
    const float* row = src + (long)r * cols;
    float* out = dst + ((size_t)pr * padCols + left) * lanes;  // column q at out + q * lanes
    rowToChannelsLast(row, plane, count, q0, q1, out, lanes);
  }
}

}  // namespace

void winogradWeightGrad(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  const int cp = roundUp(g.cIn, VL), op = roundUp(g.cOut, VL);
  const int tilesH = (g.outH + 1) / 2, tilesW = (g.outW + 1) / 2, tilesPerImage = tilesH * tilesW;
  const int xRows = 2 * tilesH + 2, xCols = 2 * tilesW + 2, gRows = 2 * tilesH, gCols = 2 * tilesW;
  int imagesPer = (WG_TASK_TILES + tilesPerImage - 1) / tilesPerImage;
  if (imagesPer > g.n) imagesPer = g.n;
  const int tasks = (g.n + imagesPer - 1) / imagesPer;
  const size_t partialFloats = (size_t)WA * WA * cp * op;
  std::vector<double> partial((size_t)tasks * partialFloats, 0.0);
  ck::parallelFor(tasks, [&](int task) {
    const int b0 = task * imagesPer, b1 = b0 + imagesPer < g.n ? b0 + imagesPer : g.n, tiles = (b1 - b0) * tilesPerImage;
    // [xi][tile][c] and [xi][tile][o], positions a cache line more than their size apart (not in one L1 set)
    const size_t xtStride = (size_t)tiles * cp + 16, gtStride = (size_t)tiles * op + 16;
    float* xt = wgXtScratch.get(WA * WA * xtStride);
    float* gt = wgGtScratch.get(WA * WA * gtStride);
    float* xp = wgXScratch.get((size_t)xRows * xCols * cp);
    float* gp = wgGyScratch.get((size_t)gRows * gCols * op);
    for (int b = b0; b < b1; b++) {
      toChannelsLast(x + (long)b * g.cIn * g.h * g.w, g.cIn, g.h, g.w, g.padH, g.padW, xRows, xCols, cp, xp);
      toChannelsLast(gy + (long)b * g.cOut * g.outH * g.outW, g.cOut, g.outH, g.outW, 0, 0, gRows, gCols, op, gp);
      for (int ty = 0; ty < tilesH; ty++)
        for (int tx = 0; tx < tilesW; tx++) {
          const size_t t = (size_t)(b - b0) * tilesPerImage + ty * tilesW + tx;
          for (int cb = 0; cb < cp; cb += VL) {
            vf d[WA][WA], r[WA][WA];
            for (int i = 0; i < WA; i++)
              for (int j = 0; j < WA; j++) d[i][j] = vload(xp + ((size_t)(2 * ty + i) * xCols + 2 * tx + j) * cp + cb);
#pragma GCC unroll 4
            for (int i = 0; i < WA; i++)
#pragma GCC unroll 4
              for (int j = 0; j < WA; j++) r[i][j] = combine(WBT[i], &d[0][j], WA);
#pragma GCC unroll 4
            for (int i = 0; i < WA; i++)
#pragma GCC unroll 4
              for (int j = 0; j < WA; j++) vstore(xt + (i * WA + j) * xtStride + t * cp + cb, combine(WBT[j], &r[i][0], 1));
          }
          for (int ob = 0; ob < op; ob += VL) {
            vf e[2][2], r[WA][2];
            for (int a = 0; a < 2; a++)
              for (int q = 0; q < 2; q++) e[a][q] = vload(gp + ((size_t)(2 * ty + a) * gCols + 2 * tx + q) * op + ob);
#pragma GCC unroll 4
            for (int i = 0; i < WA; i++)
#pragma GCC unroll 2
              for (int q = 0; q < 2; q++) r[i][q] = combine(WG[i], &e[0][q], 2);
#pragma GCC unroll 4
            for (int i = 0; i < WA; i++)
#pragma GCC unroll 4
              for (int j = 0; j < WA; j++) vstore(gt + (i * WA + j) * gtStride + t * op + ob, combine(WG[j], &r[i][0], 1));
          }
        }
    }
    // partial[xi] (cp x op) = sum over chunks of X[xi]^T (cp x chunk) @ GY[xi] (chunk x op), in f64
    double* dst = partial.data() + (size_t)task * partialFloats;
    float* m = wgMScratch.get((size_t)cp * op);
    for (int t0 = 0; t0 < tiles; t0 += WG_CHUNK_TILES) {
      const int k = tiles - t0 < WG_CHUNK_TILES ? tiles - t0 : WG_CHUNK_TILES;
      for (int xi = 0; xi < WA * WA; xi++) {
        smallGemm(cp, op, k, xt + xi * xtStride + (size_t)t0 * cp, 1, cp, gt + xi * gtStride + (size_t)t0 * op, op, m, op);
        double* d = dst + (size_t)xi * cp * op;
        for (size_t i = 0; i < (size_t)cp * op; i++) d[i] += m[i];
      }
    }
  });
  // the partials added in task order (into the first), then gw = A^T M A in f64, rounded once
  constexpr size_t SUM_CHUNK = 4096;
  ck::parallelFor((int)((partialFloats + SUM_CHUNK - 1) / SUM_CHUNK), [&](int t) {
    const size_t i0 = t * SUM_CHUNK, i1 = i0 + SUM_CHUNK < partialFloats ? i0 + SUM_CHUNK : partialFloats;
    for (int task = 1; task < tasks; task++) {
      const double* src = partial.data() + (size_t)task * partialFloats;
      for (size_t i = i0; i < i1; i++) partial[i] += src[i];
    }
  });
  const int pairs = g.cOut * g.cIn;
  constexpr int PAIRS_PER_TASK = 64;
  ck::parallelFor((pairs + PAIRS_PER_TASK - 1) / PAIRS_PER_TASK, [&](int t) {
    const int q1 = (t + 1) * PAIRS_PER_TASK < pairs ? (t + 1) * PAIRS_PER_TASK : pairs;
    for (int q = t * PAIRS_PER_TASK; q < q1; q++) {
      const int o = q / g.cIn, c = q % g.cIn;
      double m[WA][WA];
      for (int xi = 0; xi < WA * WA; xi++) {
        m[xi / WA][xi % WA] = partial[(size_t)xi * cp * op + (size_t)c * op + o];
      }
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
          double v = 0;
          for (int a = 0; a < WA; a++) {
            double row = 0;
            for (int b = 0; b < WA; b++) row += m[a][b] * WAT[j][b];
            v += WAT[i][a] * row;
          }
          gw[((long)o * g.cIn + c) * 9 + i * 3 + j] = (float)v;
        }
    }
  });
}

bool winogradEligible(const ConvGeom& g) {
  return g.kh == 3 && g.kw == 3 && g.strideH == 1 && g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1 &&
         g.groups == 1 && g.padH >= 0 && g.padH <= 2 && g.padW >= 0 && g.padW <= 2 && g.outH > 0 && g.outW > 0;
}

void winogradForward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  winogradConv(x, w, bias, g, out);
}

void winogradBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx) {
  // gx = conv(gy, w') with w'[c, o] = w[o, c] rotated 180 degrees, padding 2 - pad
  std::vector<float> rotated((size_t)g.cIn * g.cOut * 9);
  for (int o = 0; o < g.cOut; o++)
    for (int c = 0; c < g.cIn; c++)
      for (int k = 0; k < 9; k++) rotated[((size_t)c * g.cOut + o) * 9 + k] = w[((size_t)o * g.cIn + c) * 9 + 8 - k];
  ConvGeom f{g.n, g.cOut, g.outH, g.outW, g.cIn, 3, 3, 1, 1, 2 - g.padH, 2 - g.padW, 1, 1, 1, g.h, g.w};
  winogradConv(gy, rotated.data(), nullptr, f, gx);
}

}  // namespace CK_ISA_NS
