// GEMM: C (+)= op(A) @ op(B), row-major (kernels.h).
//
// Both operands are packed once per call into micro-panels (A: MR rows interleaved per k, B: NR columns per k,
// zero-padded at the edges), then C is cut into MC x NC tiles: one pool task per tile. A task walks k in KC blocks
// in order, and inside a block every MR x NR register tile of C runs the micro-kernel over the block's k (so for
// each C element the sum is always: C (or 0), + block 0's k in order, + block 1's, ...). Tiles and blocks come
// from m, n, k alone, never from the thread count, so 1 and N threads give the same bits.
#include "kernels.h"
#include "parallel.h"
#include "simd.h"
#include "vec.h"

namespace CK_ISA_NS {
namespace {

// Register tile: MR rows x NV vectors (NR = NV * VL columns). AVX-512 has 32 vector registers: 14 x 2 accumulators
// + 2 B vectors + 1 broadcast A. AVX2 and SSE2 have 16: 6 x 2 + 2 + 1.
#if CK_VBYTES == 64
constexpr int MR = 14, NV = 2, KC = 384, MC = 14 * 8;
#else
constexpr int MR = 6, NV = 2, KC = 1024, MC = 6 * 8;
#endif
constexpr int NR = NV * VL;
constexpr int NC = 256;  // columns of a task's tile (a multiple of every level's NR)
static_assert(NC % NR == 0, "NC must hold whole panels");

// Where the micro-kernel reads A's MR rows: a packed panel (MR values per k, contiguous), or, for a row-major A
// that needs no transposing (the forward of every linear layer), straight from A's rows: `lda` apart, the last
// valid row repeated for the rows of an edge tile past m (their results are never stored). The same values in the
// same order either way, so the same bits. AVX-512's 14-row tile would need 14 row pointers (16 general registers),
// so that level always packs.
struct APanel {
  const float* p;  // packed panel at its first k, or row 0 of the tile at its first k
  long lda;        // 0: packed
  int rows;        // valid rows (for the unpacked form)
};
constexpr bool kDirectA = MR <= 8;

// acc = (load ? C : 0) + A panel (kc x MR) @ B panel (kc x NR), stored to C (ldc) for the full MR x NR tile.
template <bool Packed>
__attribute__((always_inline)) inline void microFull(int kc, APanel a, const float* __restrict bp, float* c, long ldc,
                                                     bool load) {
  vf acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[r][v] = load ? vload(c + r * ldc + v * VL) : vf{};
  const float* __restrict ap = a.p;
  const float* rows[Packed ? 1 : MR];
  if constexpr (!Packed)
    for (int r = 0; r < MR; r++) rows[r] = a.p + (r < a.rows ? r : a.rows - 1) * a.lda;
#pragma GCC unroll 4
  for (int p = 0; p < kc; p++) {
    vf bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) bv[v] = vloadAligned(bp + v * VL);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      vf av;
      if constexpr (Packed) av = vsplat(ap[r]);
      else av = vsplat(rows[r][p]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[r][v] = fmadd(av, bv[v], acc[r][v]);
    }
    if constexpr (Packed) ap += MR;
    bp += NR;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) vstore(c + r * ldc + v * VL, acc[r][v]);
}

inline void micro(int kc, APanel a, const float* bp, float* c, long ldc, bool load) {
  if (a.lda == 0) microFull<true>(kc, a, bp, c, ldc, load);
  else microFull<false>(kc, a, bp, c, ldc, load);
}

// An edge tile (mr < MR or nr < NR): the full kernel on a local tile, then the valid part copied.
void microEdge(int kc, APanel a, const float* bp, float* c, long ldc, bool load, int mr, int nr) {
  alignas(64) float tile[MR * NR];
  if (load)
    for (int r = 0; r < mr; r++)
      for (int j = 0; j < nr; j++) tile[r * NR + j] = c[r * ldc + j];
  micro(kc, a, bp, tile, NR, load);
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nr; j++) c[r * ldc + j] = tile[r * NR + j];
}

// Packs rows [i0, i0 + MR) of op(A) (zero past m) over all k: out[p * MR + r] = op(A)[i0 + r, p].
void packA(bool transA, int m, int k, const float* a, int i0, float* out) {
  int rows = m - i0 < MR ? m - i0 : MR;
  if (transA) {  // A is [k, m]: row p holds op(A)[., p]
    for (int p = 0; p < k; p++) {
      const float* src = a + (long)p * m + i0;
      float* dst = out + (long)p * MR;
      int r = 0;
      for (; r < rows; r++) dst[r] = src[r];
      for (; r < MR; r++) dst[r] = 0;
    }
  } else if (rows == MR) {  // A is [m, k]: MR rows read side by side, each k's MR values written together
    const float* src[MR];
    for (int r = 0; r < MR; r++) src[r] = a + (long)(i0 + r) * k;
    for (int p = 0; p < k; p++) {
#pragma GCC unroll 16
      for (int r = 0; r < MR; r++) out[(long)p * MR + r] = src[r][p];
    }
  } else {
    for (int r = 0; r < MR; r++) {
      if (r < rows) {
        const float* src = a + (long)(i0 + r) * k;
        for (int p = 0; p < k; p++) out[(long)p * MR + r] = src[p];
      } else {
        for (int p = 0; p < k; p++) out[(long)p * MR + r] = 0;
      }
    }
  }
}

// Packs columns [j0, j0 + NR) of op(B) (zero past n) over all k: out[p * NR + j] = op(B)[p, j0 + j].
void packB(bool transB, int n, int k, const float* b, int j0, float* out) {
  int cols = n - j0 < NR ? n - j0 : NR;
  if (!transB) {  // B is [k, n]
    if (cols == NR) {
      for (int p = 0; p < k; p++) {
        const float* src = b + (long)p * n + j0;
        float* dst = out + (long)p * NR;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) vstoreAligned(dst + v * VL, vload(src + v * VL));
      }
    } else {
      for (int p = 0; p < k; p++) {
        const float* src = b + (long)p * n + j0;
        float* dst = out + (long)p * NR;
        int j = 0;
        for (; j < cols; j++) dst[j] = src[j];
        for (; j < NR; j++) dst[j] = 0;
      }
    }
  } else {  // B is [n, k]: row j holds op(B)[., j]
    // in blocks of k whose NR-float rows (8 KB) stay in L1 while the NR source rows fill them a column at a time
    // (over all of k = 784, 50 KB, every column re-read its lines from L2)
    constexpr int PB = 128;
    for (int p0 = 0; p0 < k; p0 += PB) {
      const int p1 = p0 + PB < k ? p0 + PB : k;
      for (int j = 0; j < NR; j++) {
        if (j < cols) {
          const float* src = b + (long)(j0 + j) * k;
          for (int p = p0; p < p1; p++) out[(long)p * NR + j] = src[p];
        } else {
          for (int p = p0; p < p1; p++) out[(long)p * NR + j] = 0;
        }
      }
    }
  }
}

struct GemmCall {
  int m, n, k;
  const float* ap;  // packed A: panel i at ap + i * k * MR; or, unpacked (directA), A itself ([m, k])
  bool directA;
  const float* bp;  // packed B: panel j at bp + j * k * NR
  float* c;
  bool accumulate;
  int nTiles;
  int mPanels, mTiles;  // row tiles: whole MR panels, spread evenly over mTiles
  const float* bias;    // gemmPacked's epilogue: bias[j] added (or null) and then `act`, on each finished tile
  Activation act;
};

// activation(c + bias[j]) over a finished mr x nr tile (bias already offset to the tile's first column), with the
// bits of biasActivation's separate pass: the activation sees the f32 sum.
void epilogue(float* c, long ldc, int mr, int nr, const float* bias, Activation act) {
  withActivation(static_cast<int>(act), [&](auto f) {
    for (int r = 0; r < mr; r++) {
      float* o = c + r * ldc;
      if (bias) for (int j = 0; j < nr; j++) o[j] = f(o[j] + bias[j]);
      else for (int j = 0; j < nr; j++) o[j] = f(o[j]);  // (no add: -0 stays -0)
    }
  });
}

void runTile(const GemmCall& g, int task) {
  const int ti = task / g.nTiles, j0 = (task % g.nTiles) * NC;
  const int i0 = (int)ck::partBegin(g.mPanels, ti, g.mTiles) * MR;
  const int iEnd = (int)ck::partBegin(g.mPanels, ti + 1, g.mTiles) * MR;
  const int i1 = iEnd < g.m ? iEnd : g.m, j1 = j0 + NC < g.n ? j0 + NC : g.n;
  const bool withEpilogue = g.bias != nullptr || g.act != Activation::none;
  for (int p0 = 0; p0 < g.k; p0 += KC) {
    int kc = g.k - p0 < KC ? g.k - p0 : KC;
    bool load = g.accumulate || p0 > 0;
    const bool last = p0 + kc >= g.k;
    for (int j = j0; j < j1; j += NR) {
      const float* bPanel = g.bp + (long)(j / NR) * g.k * NR + (long)p0 * NR;
      int nr = j1 - j < NR ? j1 - j : NR;
      for (int i = i0; i < i1; i += MR) {
        int mr = i1 - i < MR ? i1 - i : MR;
        APanel aPanel = g.directA ? APanel{g.ap + (long)i * g.k + p0, g.k, mr}
                                  : APanel{g.ap + (long)(i / MR) * g.k * MR + (long)p0 * MR, 0, MR};
        float* cTile = g.c + (long)i * g.n + j;
        if (mr == MR && nr == NR) micro(kc, aPanel, bPanel, cTile, g.n, load);
        else microEdge(kc, aPanel, bPanel, cTile, g.n, load, mr, nr);
        if (last && withEpilogue) epilogue(cTile, g.n, mr, nr, g.bias ? g.bias + j : nullptr, g.act);
      }
    }
  }
}

// Below this many multiply-adds a call runs its tasks on the calling thread (waking the pool costs microseconds).
// The tasks and their order per element are the same either way.
constexpr double SERIAL_MACS = 1 << 17;
constexpr int PANELS_PER_PACK_TASK = 8;

thread_local Scratch packedA, packedBScratch;

}  // namespace

namespace {

// The product of gemm and gemmPacked: B packed here (bp == nullptr) or already (gemmPackB's layout).
void gemmDriver(bool transA, bool transB, int m, int n, int k, const float* a, const float* b, const float* packedB,
                float* c, bool accumulate, const float* bias, Activation act) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) std::memset(c, 0, sizeof(float) * (size_t)m * n);
    if (bias || act != Activation::none) epilogue(c, n, m, n, bias, act);
    return;
  }
  int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
  // A row-major A is read in place (APanel) when packing it costs more than it saves: with one column tile (n <= NC)
  // every A panel is read once per NR columns, so packing is a large share of the call (256x256x784: 0.92-0.95 of
  // the packed time; 256x10x256, the MLP's last layer: 0.57), while with many column tiles the packed panel's
  // locality pays (10x1024x1024: 1.41 unpacked). Rows 4 KB apart share their L1 sets: packed too (64x256x1024: 1.02).
  // (A/B in one process, AMD EPYC, 2 threads, medians of 60 alternating blocks.)
  const bool directA = kDirectA && !transA && n <= NC && k % 1024 != 0;
  float* ap = directA ? nullptr : packedA.get((size_t)mPanels * MR * k);
  float* bp = packedB ? nullptr : packedBScratch.get((size_t)nPanels * NR * k);
  // Row tiles of at most MC rows, in an even count when there are few tiles: m = 256 in tiles of 48 rows
  // (5 x 48 + 16) left one of 2 threads 144 rows and the other 112; 6 tiles of 7-8 panels split it 21:22 panels.
  int mTiles = (mPanels + MC / MR - 1) / (MC / MR);
  const int nTiles = (n + NC - 1) / NC;
  if (mTiles > 1 && mTiles * nTiles < 16 && mTiles % 2 == 1) mTiles++;
  if (mTiles > mPanels) mTiles = mPanels;
  GemmCall call{m, n, k, directA ? a : ap, directA, packedB ? packedB : bp, c, accumulate, nTiles, mPanels, mTiles, bias, act};
  int tiles = mTiles * nTiles;
  int aPackTasks = directA ? 0 : (mPanels + PANELS_PER_PACK_TASK - 1) / PANELS_PER_PACK_TASK;
  int bPackTasks = packedB ? 0 : (nPanels + PANELS_PER_PACK_TASK - 1) / PANELS_PER_PACK_TASK;
  auto packTask = [&](int t) {
    if (t < aPackTasks) {
      int end = (t + 1) * PANELS_PER_PACK_TASK < mPanels ? (t + 1) * PANELS_PER_PACK_TASK : mPanels;
      for (int i = t * PANELS_PER_PACK_TASK; i < end; i++) packA(transA, m, k, a, i * MR, ap + (long)i * k * MR);
    } else {
      t -= aPackTasks;
      int end = (t + 1) * PANELS_PER_PACK_TASK < nPanels ? (t + 1) * PANELS_PER_PACK_TASK : nPanels;
      for (int j = t * PANELS_PER_PACK_TASK; j < end; j++) packB(transB, n, k, b, j * NR, bp + (long)j * k * NR);
    }
  };
  auto tileTask = [&](int t) { runTile(call, t); };
  const int packTasks = aPackTasks + bPackTasks;
  if ((double)m * n * k < SERIAL_MACS) {
    for (int t = 0; t < packTasks; t++) packTask(t);
    for (int t = 0; t < tiles; t++) tileTask(t);
  } else {
    if (packTasks > 0) ck::parallelFor(packTasks, packTask);
    ck::parallelFor(tiles, tileTask);
  }
}

}  // namespace

void gemm(bool transA, bool transB, int m, int n, int k, const float* a, const float* b, float* c, bool accumulate) {
  gemmDriver(transA, transB, m, n, k, a, b, nullptr, c, accumulate, nullptr, Activation::none);
}

int64_t gemmPackedBSize(int n, int k) { return (int64_t)((n + NR - 1) / NR) * NR * (k > 0 ? k : 0); }

void gemmPackB(bool transB, int n, int k, const float* b, float* out) {
  if (n <= 0 || k <= 0) return;
  const int nPanels = (n + NR - 1) / NR;
  const int tasks = (nPanels + PANELS_PER_PACK_TASK - 1) / PANELS_PER_PACK_TASK;
  auto packTask = [&](int t) {
    int end = (t + 1) * PANELS_PER_PACK_TASK < nPanels ? (t + 1) * PANELS_PER_PACK_TASK : nPanels;
    for (int j = t * PANELS_PER_PACK_TASK; j < end; j++) packB(transB, n, k, b, j * NR, out + (long)j * k * NR);
  };
  if ((double)n * k < SERIAL_MACS) for (int t = 0; t < tasks; t++) packTask(t);
  else ck::parallelFor(tasks, packTask);
}

void gemmPacked(int m, int n, int k, const float* a, const float* packedB, float* c, const float* bias, Activation act) {
  gemmDriver(false, false, m, n, k, a, nullptr, packedB, c, false, bias, act);
}

}  // namespace CK_ISA_NS
