// Locally connected 2-D layers (kernels.h): a convolution whose weights differ per output position,
// w (OH*OW, O, C, KH, KW), bias (O, OH, OW).
//
// Each call first transposes its batch operands once into batch-innermost layouts, rows of Np floats (N rounded up
// to whole vectors; lanes are images), so that every per-position operand is a set of contiguous rows:
//   xT (C, H, W, Np): the patch matrix of position p is the K = C*KH*KW rows xT[c][iy][ix] (a zero row outside x);
//   gyT (P, O, Np) and outT (P, O, Np): position p's output (gradient) is O consecutive rows.
// One register-tiled kernel (tile below) then computes rows of C = A @ B where B is a list of row pointers and
// every A element is broadcast: no patch gather and no packing.
//   forward:         outT_p (O, N) = W_p (O, K) @ patches_p (K, N)
//   input gradient:  gpatches (K, N) = W_p^T (K, O) @ gyT_p (O, N), added straight into the patch's rows of gxT
//   weight gradient: gW_p^T (K, O) = patches_p (K, N) @ gyPN_p (N, O), lanes are output channels (gy transposed
//                    to (P, N, Op)), then transposed into gW_p (O, K)
//
// Determinism: tasks are positions (forward, weight gradient) or bands of output rows (input gradient), all from
// the geometry. Input-gradient bands run in two phases, even bands then odd bands; the rows of one band's patches
// never meet those of another band of the same parity, so each gx element gets its terms in a fixed order: phase,
// then positions in row-major order inside the band, each term a complete sum over O.
// Zero rows stand for padding, as the reference's zero patch entries do (a NaN weight there still gives NaN).
#include <cstdint>
#include <cstring>
#include <vector>
#include "conv-common.h"
#include "kernels.h"
#include "parallel.h"
#include "simd.h"

namespace CK_ISA_NS {
namespace {

thread_local Scratch xtScratch, ytScratch, zeroScratch, gwScratch;  // the calling thread's (gwScratch: each task's)
thread_local std::vector<const float*> aTable, bTable;
thread_local std::vector<float*> cTable;

// Register tile: up to MR rows x NV vectors of C.
constexpr int MR = 6, NV = 2;

// c[r][j + lanes] (+)= sum over q < len of a[r][q * aStep] * b[q][j + lanes], for r < R, NVT vectors of lanes.
// add: add into the rows (a null row is skipped), else store.
template <int R, int NVT>
void tile(int len, const float* const* a, long aStep, const float* const* b, int j, float* const* c, bool add) {
  vf acc[R][NVT];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NVT; v++) acc[r][v] = vf{};
  const float* ap[R];
  for (int r = 0; r < R; r++) ap[r] = a[r];
  long off = 0;
  for (int q = 0; q < len; q++, off += aStep) {
    const float* bq = b[q] + j;
    vf bv[NVT];
#pragma GCC unroll 4
    for (int v = 0; v < NVT; v++) bv[v] = vload(bq + v * VL);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const vf av = vsplat(ap[r][off]);
#pragma GCC unroll 4
      for (int v = 0; v < NVT; v++) acc[r][v] = fmadd(av, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; r++) {
    float* row = c[r];
    if (add) {
      if (!row) continue;
      for (int v = 0; v < NVT; v++) vstore(row + j + v * VL, vload(row + j + v * VL) + acc[r][v]);
    } else {
      for (int v = 0; v < NVT; v++) vstore(row + j + v * VL, acc[r][v]);
    }
  }
}

typedef void (*TileFn)(int, const float* const*, long, const float* const*, int, float* const*, bool);
template <int R>
constexpr TileFn tileFor(int nv) { return nv == 1 ? tile<R, 1> : tile<R, 2>; }
static_assert(NV == 2 && MR == 6, "tileOf lists MR x NV tiles");
TileFn tileOf(int r, int nv) {
  switch (r) {
    case 1: return tileFor<1>(nv);
    case 2: return tileFor<2>(nv);
    case 3: return tileFor<3>(nv);
    case 4: return tileFor<4>(nv);
    case 5: return tileFor<5>(nv);
    default: return tileFor<6>(nv);
  }
}

// Rows [0, m) of C over `vectors` vectors of lanes: row blocks of nearly equal size (at most MR), each over every
// panel of NV vectors. a: m row pointers; b: len row pointers; c: m row pointers.
void rowsTimesRows(int m, int vectors, int len, const float* const* a, long aStep, const float* const* b,
                   float* const* c, bool add) {
  const int blocks = (m + MR - 1) / MR;
  for (int t = 0; t < blocks; t++) {
    const int r0 = (int)ck::partBegin(m, t, blocks), r1 = (int)ck::partBegin(m, t + 1, blocks);
    for (int v0 = 0; v0 < vectors; v0 += NV) {
      const int nv = vectors - v0 < NV ? vectors - v0 : NV;
      tileOf(r1 - r0, nv)(len, a + r0, aStep, b, v0 * VL, c + r0, add);
    }
  }
}

typedef float v4 __attribute__((vector_size(16)));
typedef float v4u __attribute__((vector_size(16), aligned(4)));

// Rows i0..i0+4*B of src (stride ss) at columns [j, j + 4) into dst rows j..j+3 (stride ds) at lanes [i0, i0 + 4*B),
// plus add[i] when add: B 4 x 4 blocks, each dst row's 4*B floats stored one after another.
// A v4 to 16-byte aligned p: streamed past the caches where the level can (x86), else an ordinary store.
__attribute__((always_inline)) inline void storeStream(float* p, v4 v) {
#if defined(__SSE2__)
  _mm_stream_ps(p, (__m128)v);
#else
  *reinterpret_cast<v4*>(p) = v;
#endif
}

template <int B, bool STREAM = false>
__attribute__((always_inline)) inline void transposeStrip(const float* src, long ss, float* dst, long ds, int i0, int j,
                                                          const float* add) {
  v4 c[B][4];
#pragma GCC unroll 4
  for (int s = 0; s < B; s++) {
    const float* r = src + (long)(i0 + 4 * s) * ss + j;
    const v4 r0 = *reinterpret_cast<const v4u*>(r), r1 = *reinterpret_cast<const v4u*>(r + ss);
    const v4 r2 = *reinterpret_cast<const v4u*>(r + 2 * ss), r3 = *reinterpret_cast<const v4u*>(r + 3 * ss);
    const v4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
    const v4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
    c[s][0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    c[s][1] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    c[s][2] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    c[s][3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
    if (add) {
      const v4 ad = *reinterpret_cast<const v4u*>(add + i0 + 4 * s);
      for (int t = 0; t < 4; t++) c[s][t] += ad;
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < 4; t++)
#pragma GCC unroll 4
    for (int s = 0; s < B; s++) {
      float* d = dst + (long)(j + t) * ds + i0 + 4 * s;
      if (STREAM) storeStream(d, c[s][t]);
      else *reinterpret_cast<v4u*>(d) = c[s][t];
    }
}

// dst[j * ds + i] = src[i * ss + j] (+ add[i] when add) for i in [i0, i1), j in [0, cols): strips of 16 rows (a
// whole cache line of each dst row at a time), then of 4, then single elements.
void transposeRange(const float* src, long ss, float* dst, long ds, int i0, int i1, int cols, const float* add) {
  const int j4 = cols / 4 * 4;
  int i = i0;
  for (; i + 16 <= i1; i += 16)
    for (int j = 0; j < j4; j += 4) transposeStrip<4>(src, ss, dst, ds, i, j, add);
  for (; i + 4 <= i1; i += 4)
    for (int j = 0; j < j4; j += 4) transposeStrip<1>(src, ss, dst, ds, i, j, add);
  for (int r = i0; r < i1; r++)
    for (int j = r < i ? j4 : 0; j < cols; j++) dst[(long)j * ds + r] = add ? src[(long)r * ss + j] + add[r] : src[(long)r * ss + j];
}

// transposeRange's dst[j * ds + i] = src[i * ss + j] for i < rows, j < cols, for an output that is not read again
// soon: where every dst row starts at the same 16-byte-aligned offset within a cache line, the whole lines of each
// row are streamed past the caches (no read of their old contents), in strips of 16 rows; the rest is stored as
// usual. Ends with a store fence, so the streamed stores are ordered before whatever follows.
void transposeStreamed(const float* src, long ss, float* dst, long ds, int rows, int cols) {
#if defined(__SSE2__)
  const uintptr_t misalign = reinterpret_cast<uintptr_t>(dst) % 64;
  if (misalign % 16 != 0 || ds % 16 != 0) {
    transposeRange(src, ss, dst, ds, 0, rows, cols, nullptr);
    return;
  }
  const int head = (int)((64 - misalign) % 64 / 4), j4 = cols / 4 * 4;
  if (head >= rows) {
    transposeRange(src, ss, dst, ds, 0, rows, cols, nullptr);
    return;
  }
  const int body = head + (rows - head) / 16 * 16;
  transposeRange(src, ss, dst, ds, 0, head, cols, nullptr);
  for (int i = head; i < body; i += 16)
    for (int j = 0; j < j4; j += 4) transposeStrip<4, true>(src, ss, dst, ds, i, j, nullptr);
  for (int r = head; r < body; r++)
    for (int j = j4; j < cols; j++) dst[(long)j * ds + r] = src[(long)r * ss + j];
  transposeRange(src, ss, dst, ds, body, rows, cols, nullptr);
  _mm_sfence();
#else
  transposeRange(src, ss, dst, ds, 0, rows, cols, nullptr);
#endif
}

// For each of `planes` planes (src + plane * sp, dst + plane * dp, add + plane * ap): dst[j * ds + i] =
// src[i * ss + j] (+ add[i]) for i < rows, j < cols; lanes i in [rows, padTo) of every dst row are zeroed.
// Tasks: (plane, block of rows).
void transposePlanes(int planes, const float* src, long sp, long ss, float* dst, long dp, long ds, int rows, int cols,
                     int padTo, const float* add = nullptr, long ap = 0) {
  constexpr int ROWS_PER_TASK = 32;
  const int blocks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
  ck::parallelFor(planes * blocks, [&](int t) {
    const int plane = t / blocks, b = t % blocks;
    const int i0 = b * ROWS_PER_TASK, i1 = i0 + ROWS_PER_TASK < rows ? i0 + ROWS_PER_TASK : rows;
    float* d = dst + plane * dp;
    transposeRange(src + plane * sp, ss, d, ds, i0, i1, cols, add ? add + plane * ap : nullptr);
    if (b == blocks - 1 && padTo > rows)
      for (int j = 0; j < cols; j++) std::memset(d + (long)j * ds + rows, 0, sizeof(float) * (padTo - rows));
  });
}

inline int roundUp(int n, int to) { return (n + to - 1) / to * to; }

// x (N, C, H, W) -> xT (C, H, W, Np).
void transposeInput(const float* x, const ConvGeom& g, int np, float* xT) {
  const long hw = (long)g.h * g.w;
  transposePlanes(g.cIn, x, hw, (long)g.cIn * hw, xT, hw * np, np, g.n, (int)hw, np);
}

// gy (N, O, P) -> gyT (P, O, Np).
void transposeOutputGrad(const float* gy, const ConvGeom& g, int np, float* gyT) {
  const int p = g.outH * g.outW;
  transposePlanes(g.cOut, gy, p, (long)g.cOut * p, gyT, np, (long)g.cOut * np, g.n, p, np);
}

// The K rows of position (oy, ox)'s patch matrix in xT (C, H, W, rowFloats) rows (nullptr outside the input).
template <class T>
void patchRows(T* base, const ConvGeom& g, int oy, int ox, long rowFloats, std::vector<T*>& rows, T* outside) {
  rows.resize((size_t)g.cIn * g.kh * g.kw);
  size_t k = 0;
  for (int c = 0; c < g.cIn; c++)
    for (int i = 0; i < g.kh; i++) {
      const int iy = oy * g.strideH - g.padH + i * g.dilationH;
      for (int j = 0; j < g.kw; j++, k++) {
        const int ix = ox * g.strideW - g.padW + j * g.dilationW;
        rows[k] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? base + (((long)c * g.h + iy) * g.w + ix) * rowFloats : outside;
      }
    }
}

// A row of np zeros, the calling thread's.
const float* zeroRow(int np) {
  float* z = zeroScratch.get(np);
  std::memset(z, 0, sizeof(float) * np);
  return z;
}

}  // namespace

void locallyConnected2d(const float* x, const float* w, const float* bias, const ConvGeom& g, float* out) {
  const int kk = g.cIn * g.kh * g.kw, p = g.outH * g.outW, np = roundUp(g.n, VL);
  float* xT = xtScratch.get((size_t)g.cIn * g.h * g.w * np);
  float* outT = ytScratch.get((size_t)p * g.cOut * np);
  const float* zero = zeroRow(np);
  transposeInput(x, g, np, xT);
  ck::parallelFor(p, [&](int pos) {
    std::vector<const float*>& a = aTable;
    std::vector<const float*>& b = bTable;
    std::vector<float*>& c = cTable;
    patchRows<const float>(xT, g, pos / g.outW, pos % g.outW, np, b, zero);
    a.resize(g.cOut);
    c.resize(g.cOut);
    const float* wp = w + (long)pos * g.cOut * kk;
    for (int o = 0; o < g.cOut; o++) a[o] = wp + (long)o * kk, c[o] = outT + ((long)pos * g.cOut + o) * np;
    rowsTimesRows(g.cOut, np / VL, kk, a.data(), 1, b.data(), c.data(), false);
  });
  // outT (P, O, Np) -> out (N, O, P), plus bias (O, P)
  transposePlanes(g.cOut, outT, np, (long)g.cOut * np, out, p, (long)g.cOut * p, p, g.n, 0, bias, p);
}

void locallyConnected2dBackwardInput(const float* gy, const float* w, const ConvGeom& g, float* gx) {
  const int kk = g.cIn * g.kh * g.kw, p = g.outH * g.outW, np = roundUp(g.n, VL);
  const long hw = (long)g.h * g.w, gxFloats = (long)g.cIn * hw * np;
  float* gyT = ytScratch.get((size_t)p * g.cOut * np);
  float* gxT = xtScratch.get((size_t)gxFloats);
  transposeOutputGrad(gy, g, np, gyT);
  const ck::FlatSplit zeroSplit(gxFloats, 1 << 16);
  ck::parallelFor(zeroSplit.tasks, [&](int t) {
    std::memset(gxT + zeroSplit.begin(t), 0, sizeof(float) * (zeroSplit.end(t) - zeroSplit.begin(t)));
  });
  // Bands of `band` output rows: bands two apart never touch the same input rows ((kh-1)*dh < (band+1)*sh).
  const int reach = (g.kh - 1) * g.dilationH / g.strideH, band = reach > 1 ? reach : 1;
  const int bands = (g.outH + band - 1) / band;
  for (int phase = 0; phase < 2; phase++)
    ck::parallelFor((bands - phase + 1) / 2, [&](int t) {
      const int b0 = (2 * t + phase) * band, b1 = b0 + band < g.outH ? b0 + band : g.outH;
      std::vector<const float*>& a = aTable;
      std::vector<const float*>& b = bTable;
      std::vector<float*>& c = cTable;
      a.resize(kk);
      b.resize(g.cOut);
      for (int oy = b0; oy < b1; oy++)
        for (int ox = 0; ox < g.outW; ox++) {
          const int pos = oy * g.outW + ox;
          patchRows<float>(gxT, g, oy, ox, np, c, nullptr);
          const float* wp = w + (long)pos * g.cOut * kk;
          for (int k = 0; k < kk; k++) a[k] = wp + k;
          for (int o = 0; o < g.cOut; o++) b[o] = gyT + ((long)pos * g.cOut + o) * np;
          rowsTimesRows(kk, np / VL, g.cOut, a.data(), kk, b.data(), c.data(), true);
        }
    });
  // gxT (C, H, W, Np) -> gx (N, C, H, W)
  transposePlanes(g.cIn, gxT, hw * np, np, gx, hw, (long)g.cIn * hw, (int)hw, g.n, 0);
}

void locallyConnected2dBackwardWeight(const float* x, const float* gy, const ConvGeom& g, float* gw) {
  const int kk = g.cIn * g.kh * g.kw, p = g.outH * g.outW, np = roundUp(g.n, VL), op = roundUp(g.cOut, VL);
  float* xT = xtScratch.get((size_t)g.cIn * g.h * g.w * np);
  float* gyPN = ytScratch.get((size_t)p * g.n * op);
  const float* zero = zeroRow(np);
  transposeInput(x, g, np, xT);
  // gy (N, O, P) -> gyPN (P, N, Op): image b's plane (O, P) into rows p * N + b
  transposePlanes(g.n, gy, (long)g.cOut * p, p, gyPN, op, (long)g.n * op, g.cOut, p, op);
  ck::parallelFor(p, [&](int pos) {
    std::vector<const float*>& a = aTable;
    std::vector<const float*>& b = bTable;
    std::vector<float*>& c = cTable;
    patchRows<const float>(xT, g, pos / g.outW, pos % g.outW, np, a, zero);
    b.resize(g.n);
    c.resize(kk);
    float* gwT = gwScratch.get((size_t)kk * op);  // (K, Op)
    for (int n = 0; n < g.n; n++) b[n] = gyPN + ((long)pos * g.n + n) * op;
    for (int k = 0; k < kk; k++) c[k] = gwT + (long)k * op;
    rowsTimesRows(kk, op / VL, g.n, a.data(), 1, b.data(), c.data(), false);
    // gW is next read by the optimizer, after the rest of the backward pass: past the caches
    transposeStreamed(gwT, op, gw + (long)pos * g.cOut * kk, kk, kk, g.cOut);
  });
}

}  // namespace CK_ISA_NS
