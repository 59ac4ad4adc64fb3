// Standalone tests of one ISA level's GEMM / convolution / locally connected kernels against double-precision
// loops, and 1 vs N threads bit for bit. Built and run by native/test/run.sh (no Node needed):
//   kernels-test           every case; exit status 1 on a failure
//   kernels-test bench     GEMM 1024^3 and fmaPeak, 1 and 2 threads
//   kernels-test bench-conv  the three passes of three 3x3 layers, 1 thread
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>
#include "kernels.h"

using namespace CK_ISA_NS;
using ck::ConvGeom;

namespace {

int failures = 0, checks = 0;
std::mt19937 rng(12345);

std::vector<float> randomVec(size_t n) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void setThreads(int t) { setenv("CK_TEST_THREADS", std::to_string(t).c_str(), 1); }

// Max |got - want| against tol * (1 + max |want|) * sqrt(reduction).
void expectClose(const char* what, const std::vector<float>& got, const std::vector<double>& want, int reduction) {
  double maxErr = 0, maxWant = 0;
  size_t worst = 0;
  for (size_t i = 0; i < want.size(); i++) {
    double e = std::fabs(got[i] - want[i]);
    if (!(e <= maxErr)) { maxErr = e; worst = i; }
    maxWant = std::fmax(maxWant, std::fabs(want[i]));
  }
  double tol = 2e-6 * (1 + maxWant) * std::sqrt((double)reduction + 1) * 4;
  checks++;
  if (!(maxErr <= tol)) {
    failures++;
    std::printf("FAIL %s: max error %g at %zu (got %g, want %g), tolerance %g\n", what, maxErr, worst, got[worst],
                want[worst], tol);
  }
}

void expectSameBits(const char* what, const std::vector<float>& a, const std::vector<float>& b) {
  checks++;
  if (a.size() != b.size() || std::memcmp(a.data(), b.data(), a.size() * 4) != 0) {
    failures++;
    std::printf("FAIL %s: 1 and 2 threads differ\n", what);
  }
}

// Runs fn (which fills out) with 1 and 2 threads and checks both give the same bits; returns the 1-thread result.
std::vector<float> runBothThreadCounts(const char* what, size_t outSize, const std::function<void(float*)>& fn) {
  std::vector<float> one(outSize, NAN), two(outSize, NAN);
  setThreads(1);
  fn(one.data());
  setThreads(2);
  fn(two.data());
  setThreads(1);
  expectSameBits(what, one, two);
  return one;
}

void testGemm(bool tA, bool tB, int m, int n, int k, bool acc) {
  auto a = randomVec((size_t)m * k), b = randomVec((size_t)k * n), c0 = randomVec((size_t)m * n);
  std::vector<double> want((size_t)m * n);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = acc ? c0[(size_t)i * n + j] : 0;
      for (int p = 0; p < k; p++) s += (double)(tA ? a[(size_t)p * m + i] : a[(size_t)i * k + p]) * (tB ? b[(size_t)j * k + p] : b[(size_t)p * n + j]);
      want[(size_t)i * n + j] = s;
    }
  char what[128];
  std::snprintf(what, sizeof what, "gemm tA=%d tB=%d %dx%dx%d acc=%d", tA, tB, m, n, k, acc);
  auto got = runBothThreadCounts(what, want.size(), [&](float* c) {
    std::memcpy(c, c0.data(), c0.size() * 4);
    gemm(tA, tB, m, n, k, a.data(), b.data(), c, acc);
  });
  expectClose(what, got, want, k);
}

ConvGeom geom(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups) {
  ConvGeom g{n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, 0, 0};
  g.outH = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
  g.outW = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  return g;
}

// Calls f(b, o, c (absolute input channel), i, j, oy, ox, iy, ix) for every term of the convolution sum.
template <class F>
void forEachTerm(const ConvGeom& g, const F& f) {
  int cg = g.cIn / g.groups, og = g.cOut / g.groups;
  for (int b = 0; b < g.n; b++)
    for (int o = 0; o < g.cOut; o++)
      for (int oy = 0; oy < g.outH; oy++)
        for (int ox = 0; ox < g.outW; ox++)
          for (int cl = 0; cl < cg; cl++)
            for (int i = 0; i < g.kh; i++)
              for (int j = 0; j < g.kw; j++) {
                int iy = oy * g.strideH - g.padH + i * g.dilationH, ix = ox * g.strideW - g.padW + j * g.dilationW;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                f(b, o, (o / og) * cg + cl, cl, i, j, oy, ox, iy, ix);
              }
}

float actRef(Activation a, float v) {
  switch (a) {
    case Activation::relu: return v <= 0 ? 0.0f : v;
    case Activation::sigmoid: { double d = v; return (float)(d >= 0 ? 1 / (1 + std::exp(-d)) : std::exp(d) / (1 + std::exp(d))); }
    case Activation::tanh: return (float)std::tanh((double)v);
    default: return v;
  }
}

void testConv(const ConvGeom& g) {
  int cg = g.cIn / g.groups;
  size_t xs = (size_t)g.n * g.cIn * g.h * g.w, ws = (size_t)g.cOut * cg * g.kh * g.kw, ys = (size_t)g.n * g.cOut * g.outH * g.outW;
  auto x = randomVec(xs), w = randomVec(ws), bias = randomVec(g.cOut), gy = randomVec(ys);
  std::vector<double> y(ys), gx(xs), gw(ws);
  auto X = [&](int b, int c, int iy, int ix) { return (size_t)((b * g.cIn + c) * g.h + iy) * g.w + ix; };
  auto W = [&](int o, int cl, int i, int j) { return (size_t)((o * cg + cl) * g.kh + i) * g.kw + j; };
  auto Y = [&](int b, int o, int oy, int ox) { return (size_t)((b * g.cOut + o) * g.outH + oy) * g.outW + ox; };
  forEachTerm(g, [&](int b, int o, int c, int cl, int i, int j, int oy, int ox, int iy, int ix) {
    y[Y(b, o, oy, ox)] += (double)x[X(b, c, iy, ix)] * w[W(o, cl, i, j)];
    gx[X(b, c, iy, ix)] += (double)gy[Y(b, o, oy, ox)] * w[W(o, cl, i, j)];
    gw[W(o, cl, i, j)] += (double)gy[Y(b, o, oy, ox)] * x[X(b, c, iy, ix)];
  });
  for (int b = 0; b < g.n; b++)
    for (int o = 0; o < g.cOut; o++)
      for (int p = 0; p < g.outH * g.outW; p++) y[((size_t)b * g.cOut + o) * g.outH * g.outW + p] += bias[o];
  char what[256];
  int n = std::snprintf(what, sizeof what, "n%d c%d %dx%d o%d k%dx%d s%d,%d p%d,%d d%d,%d g%d", g.n, g.cIn, g.h, g.w,
                        g.cOut, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW, g.dilationH, g.dilationW, g.groups);
  std::string base(what, n);
  std::string f = base + " forward [" + convAlgorithmName(g, 0) + "]";
  auto yGot = runBothThreadCounts(f.c_str(), ys, [&](float* out) { conv2d(x.data(), w.data(), bias.data(), g, out); });
  expectClose(f.c_str(), yGot, y, cg * g.kh * g.kw);
  std::string bi = base + " input gradient [" + convAlgorithmName(g, 1) + "]";
  expectClose(bi.c_str(), runBothThreadCounts(bi.c_str(), xs, [&](float* out) { conv2dBackwardInput(gy.data(), w.data(), g, out); }),
              gx, g.cOut / g.groups * g.kh * g.kw);
  std::string bw = base + " weight gradient [" + convAlgorithmName(g, 2) + "]";
  expectClose(bw.c_str(), runBothThreadCounts(bw.c_str(), ws, [&](float* out) { conv2dBackwardWeight(x.data(), gy.data(), g, out); }),
              gw, g.n * g.outH * g.outW);
  // Fused: bit-identical to conv2d + the activation + pooling done here.
  for (int a = 0; a < 4; a++)
    for (int pool = 0; pool < 2; pool++) {
      Activation act = (Activation)a;
      if (!conv2dFusedSupported(g, act, pool)) continue;
      int ph = pool ? g.outH / 2 : g.outH, pw = pool ? g.outW / 2 : g.outW;
      std::vector<float> want((size_t)g.n * g.cOut * ph * pw);
      std::vector<int32_t> wantIndex(want.size());  // maxPool2d's winner (the first of equal values), in the plane
      for (int bo = 0; bo < g.n * g.cOut; bo++)
        for (int oy = 0; oy < ph; oy++)
          for (int ox = 0; ox < pw; ox++) {
            const float* plane = yGot.data() + (size_t)bo * g.outH * g.outW;
            float best = 0;
            int bestIndex = 0;
            for (int t = 0; t < (pool ? 4 : 1); t++) {
              int iy = pool ? 2 * oy + t / 2 : oy, ix = pool ? 2 * ox + t % 2 : ox;
              float v = actRef(act, plane[iy * g.outW + ix]);
              if (t == 0 || v > best || (std::isnan(v) && !std::isnan(best))) { best = v; bestIndex = iy * g.outW + ix; }
            }
            want[((size_t)bo * ph + oy) * pw + ox] = best;
            wantIndex[((size_t)bo * ph + oy) * pw + ox] = bestIndex;
          }
      std::string fu = base + " fused act " + std::to_string(a) + " pool " + std::to_string(pool);
      auto got = runBothThreadCounts(fu.c_str(), want.size(), [&](float* out) {
        conv2dFused(x.data(), w.data(), bias.data(), g, act, pool, out, nullptr);
      });
      expectSameBits((fu + " vs conv2d + epilogue").c_str(), got, want);
      if (!pool) continue;
      // With winner indices: the same outputs, and maxPool2d's indices wherever the gradient can reach (ReLU pools
      // before the activation, so a window without a positive value may name another of its cells).
      std::vector<float> out2(want.size());
      std::vector<int32_t> index(want.size(), -1);
      conv2dFused(x.data(), w.data(), bias.data(), g, act, pool, out2.data(), index.data());
      expectSameBits((fu + " with argmax").c_str(), out2, want);
      int wrong = 0;
      for (size_t i = 0; i < want.size(); i++) {
        const bool reachable = act != Activation::relu || !(want[i] <= 0);
        const int oy = (int)(i / pw % ph), ox = (int)(i % pw), iy = index[i] / g.outW, ix = index[i] % g.outW;
        const bool inWindow = index[i] >= 0 && iy / 2 == oy && ix / 2 == ox && iy < 2 * ph && ix < 2 * pw;
        if (!inWindow || (reachable && index[i] != wantIndex[i])) wrong++;
      }
      checks++;
      if (wrong) {
        failures++;
        std::printf("FAIL %s with argmax: %d wrong winner indices\n", fu.c_str(), wrong);
      }
    }
}

// Infinity and NaN in the input: every output is non-finite exactly where the f64 direct sum is, with the same
// infinity sign (Winograd recomputes such outputs directly).
void testNonFinite(const ConvGeom& g) {
  int cg = g.cIn / g.groups;
  size_t xs = (size_t)g.n * g.cIn * g.h * g.w, ws = (size_t)g.cOut * cg * g.kh * g.kw, ys = (size_t)g.n * g.cOut * g.outH * g.outW;
  auto x = randomVec(xs), w = randomVec(ws), bias = randomVec(g.cOut);
  x[xs / 3] = INFINITY;
  x[xs / 2 + 5] = -INFINITY;
  x[xs - 7] = NAN;
  // the last column of a row: no output reads it through the leftmost taps
  x[((size_t)(g.n - 1) * g.cIn + 1) * g.h * g.w + (size_t)(g.h / 2) * g.w + g.w - 1] = INFINITY;
  auto gy = randomVec(ys);
  std::vector<double> y(ys), gw(ws);
  forEachTerm(g, [&](int b, int o, int c, int cl, int i, int j, int oy, int ox, int iy, int ix) {
    size_t yi = ((size_t)(b * g.cOut + o) * g.outH + oy) * g.outW + ox, wi = ((size_t)(o * cg + cl) * g.kh + i) * g.kw + j;
    double xv = x[((size_t)(b * g.cIn + c) * g.h + iy) * g.w + ix];
    y[yi] += xv * w[wi];
    gw[wi] += xv * gy[yi];
  });
  for (size_t i = 0; i < ys; i++) y[i] += bias[i / (g.outH * g.outW) % g.cOut];
  auto sameKind = [](const char* what, const std::vector<float>& got, const std::vector<double>& want) {
    int bad = 0;
    checks++;
    for (size_t i = 0; i < want.size(); i++)
      bad += !(std::isfinite(want[i]) ? std::isfinite(got[i]) : std::isnan(want[i]) ? std::isnan(got[i]) : got[i] == want[i]);
    if (bad) {
      failures++;
      std::printf("FAIL non-finite %s: %d values differ from the direct sum in kind\n", what, bad);
    }
  };
  std::vector<float> yGot(ys), gwGot(ws);
  conv2d(x.data(), w.data(), bias.data(), g, yGot.data());
  sameKind((std::string("forward [") + convAlgorithmName(g, 0) + "]").c_str(), yGot, y);
  conv2dBackwardWeight(x.data(), gy.data(), g, gwGot.data());
  sameKind((std::string("weight gradient [") + convAlgorithmName(g, 2) + "]").c_str(), gwGot, gw);
  // The input gradient with infinity and NaN in the output gradient, then in the weights (the direct kernel's zero
  // columns meet them; it must hand the batch to the GEMM path).
  for (int bad = 0; bad < 2; bad++) {
    auto gyB = randomVec(ys), wB = randomVec(ws);
    if (bad == 0) {
      gyB[ys / 3] = INFINITY;
      gyB[ys / 2 + 3] = -INFINITY;
      gyB[ys - 5] = NAN;
    } else {
      wB[ws / 2] = INFINITY;
    }
    std::vector<double> gx(xs);
    forEachTerm(g, [&](int b, int o, int c, int cl, int i, int j, int oy, int ox, int iy, int ix) {
      size_t yi = ((size_t)(b * g.cOut + o) * g.outH + oy) * g.outW + ox, wi = ((size_t)(o * cg + cl) * g.kh + i) * g.kw + j;
      gx[((size_t)(b * g.cIn + c) * g.h + iy) * g.w + ix] += (double)gyB[yi] * wB[wi];
    });
    std::vector<float> gxGot(xs);
    conv2dBackwardInput(gyB.data(), wB.data(), g, gxGot.data());
    sameKind((std::string("input gradient [") + convAlgorithmName(g, 1) + "], non-finite " + (bad ? "weights" : "output gradient")).c_str(), gxGot, gx);
  }
}

void testLocally(const ConvGeom& g) {
  int kk = g.cIn * g.kh * g.kw, p = g.outH * g.outW;
  size_t xs = (size_t)g.n * g.cIn * g.h * g.w, ws = (size_t)p * g.cOut * kk, ys = (size_t)g.n * g.cOut * p;
  auto x = randomVec(xs), w = randomVec(ws), bias = randomVec((size_t)g.cOut * p), gy = randomVec(ys);
  std::vector<double> y(ys), gx(xs), gw(ws);
  forEachTerm(g, [&](int b, int o, int c, int, int i, int j, int oy, int ox, int iy, int ix) {
    size_t pos = (size_t)oy * g.outW + ox, wi = ((pos * g.cOut + o) * g.cIn + c) * g.kh * g.kw + i * g.kw + j;
    size_t xi = ((size_t)(b * g.cIn + c) * g.h + iy) * g.w + ix, yi = ((size_t)b * g.cOut + o) * p + pos;
    y[yi] += (double)x[xi] * w[wi];
    gx[xi] += (double)gy[yi] * w[wi];
    gw[wi] += (double)gy[yi] * x[xi];
  });
  for (int b = 0; b < g.n; b++)
    for (int i = 0; i < g.cOut * p; i++) y[(size_t)b * g.cOut * p + i] += bias[i];
  expectClose("locally forward", runBothThreadCounts("locally forward", ys, [&](float* o) { locallyConnected2d(x.data(), w.data(), bias.data(), g, o); }), y, kk);
  expectClose("locally input gradient", runBothThreadCounts("locally input gradient", xs, [&](float* o) { locallyConnected2dBackwardInput(gy.data(), w.data(), g, o); }), gx, g.cOut * g.kh * g.kw);
  expectClose("locally weight gradient", runBothThreadCounts("locally weight gradient", ws, [&](float* o) { locallyConnected2dBackwardWeight(x.data(), gy.data(), g, o); }), gw, g.n);
}

double now(bool cpuTime) {
  timespec ts;
  clock_gettime(cpuTime ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// The fastest of reps runs (the machine is shared: the minimum is the least disturbed). CK_BENCH_CPU_TIME=1 times
// process CPU time instead of wall time (1 thread: the time the kernel was on a core, for tuning on a busy machine).
double seconds(const std::function<void()>& f, int reps) {
  const bool cpuTime = std::getenv("CK_BENCH_CPU_TIME") != nullptr;
  f();
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now(cpuTime);
    f();
    best = std::fmin(best, now(cpuTime) - t0);
  }
  return best;
}

void bench() {
  const int maxThreads = std::getenv("CK_BENCH_CPU_TIME") ? 1 : 2;
  for (int threads = 1; threads <= maxThreads; threads++) {
    setThreads(threads);
    int64_t iters = 10'000'000;
    double flops = 0;
    double t = seconds([&] { flops = fmaPeak(iters, threads); }, 10);
    double peak = flops / t / 1e9;
    int s = 1024;
    auto a = randomVec((size_t)s * s), b = randomVec((size_t)s * s);
    std::vector<float> c((size_t)s * s);
    for (int tr = 0; tr < 4; tr++) {
      double tg = seconds([&] { gemm(tr & 1, tr & 2, s, s, s, a.data(), b.data(), c.data(), false); }, 10);
      double gf = 2.0 * s * s * s / tg / 1e9;
      std::printf("threads %d: fmaPeak %.1f GFLOPS, gemm %d^3 tA=%d tB=%d %.1f GFLOPS (%.0f %%)\n", threads, peak, s,
                  tr & 1, (tr >> 1) & 1, gf, 100 * gf / peak);
    }
  }
}

// Convolution passes on the widest vggsmall layer and a resnet20 layer, 1 thread, GFLOPS of the direct sum.
void benchConv() {
  setThreads(1);
  for (ConvGeom g : {geom(64, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1), geom(128, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1),
                     geom(128, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)}) {
    auto x = randomVec((size_t)g.n * g.cIn * g.h * g.w), w = randomVec((size_t)g.cOut * g.cIn * 9);
    auto gy = randomVec((size_t)g.n * g.cOut * g.outH * g.outW);
    std::vector<float> y(gy.size()), gx(x.size()), gw(w.size());
    double flops = 2.0 * g.n * g.cOut * g.cIn * 9 * g.outH * g.outW;
    double f = seconds([&] { conv2d(x.data(), w.data(), nullptr, g, y.data()); }, 5);
    double bi = seconds([&] { conv2dBackwardInput(gy.data(), w.data(), g, gx.data()); }, 5);
    double bw = seconds([&] { conv2dBackwardWeight(x.data(), gy.data(), g, gw.data()); }, 5);
    std::printf("n%d %d->%d %dx%d: forward %.1f [%s], input gradient %.1f [%s], weight gradient %.1f [%s] GFLOPS\n", g.n,
                g.cIn, g.cOut, g.h, g.w, flops / f / 1e9, convAlgorithmName(g, 0), flops / bi / 1e9, convAlgorithmName(g, 1),
                flops / bw / 1e9, convAlgorithmName(g, 2));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "bench") == 0) {
    bench();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "bench-conv") == 0) {
    benchConv();
    return 0;
  }
  int sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {6, 16, 256}, {13, 33, 257}, {121, 257, 300}, {130, 520, 70}, {300, 40, 600}, {5, 1000, 17}};
  for (auto& s : sizes)
    for (int tr = 0; tr < 4; tr++)
      for (int acc = 0; acc < 2; acc++) testGemm(tr & 1, tr & 2, s[0], s[1], s[2], acc);
  std::vector<ConvGeom> convs = {
      geom(3, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1),      // LeNet conv1
      geom(2, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1),     // LeNet conv2
      geom(2, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1),    // ResNet 3x3
      geom(3, 5, 11, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1),      // odd 3x3
      geom(2, 4, 9, 10, 6, 3, 3, 1, 1, 0, 2, 1, 1, 1),       // 3x3 uneven padding
      geom(2, 8, 12, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1),       // stride 2
      geom(2, 6, 13, 11, 9, 3, 2, 1, 2, 2, 1, 2, 3, 3),      // groups, dilation, strides
      geom(2, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8),        // depthwise
      geom(3, 16, 8, 8, 32, 1, 1, 1, 1, 0, 0, 1, 1, 1),      // pointwise
      geom(2, 16, 8, 8, 32, 1, 1, 2, 2, 0, 0, 1, 1, 2),      // strided pointwise, groups
      geom(11, 3, 9, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1),       // batch over 8 (weight-gradient partials)
      geom(1, 1, 5, 5, 1, 5, 5, 1, 1, 0, 0, 1, 1, 1),        // 1x1 output
      geom(3, 9, 7, 9, 13, 3, 3, 1, 1, 0, 2, 1, 1, 1),       // Winograd: channels off the vector width, pads 0 and 2
      geom(5, 8, 5, 6, 8, 3, 3, 1, 1, 2, 1, 1, 1, 1),        // Winograd: outputs larger than the input
      geom(20, 16, 7, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1),     // Winograd: several image groups, ragged last tiles
      geom(20, 32, 7, 9, 33, 3, 3, 1, 1, 1, 2, 1, 1, 1),     // Winograd weight gradient: chunks, tasks, padded lanes
      geom(2, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1),    // vggsmall's widest layer
      geom(2, 8, 50, 47, 9, 3, 3, 1, 1, 1, 2, 1, 1, 1),      // Winograd: bands of tile rows (13x13 tiles per image)
      geom(2, 5, 12, 13, 6, 3, 3, 1, 1, 2, 1, 2, 2, 1),      // direct weight gradient: dilation
      geom(2, 3, 9, 10, 5, 3, 1, 1, 1, 1, 0, 1, 1, 1),       // direct weight gradient: 3x1
      geom(2, 3, 10, 10, 5, 2, 4, 1, 1, 0, 1, 1, 1, 1),      // direct weight gradient: 2x4 (tap blocks 3 + 1)
      geom(2, 20, 6, 6, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1),       // direct weight gradient: channel chunks and blocks
      // (AVX2) flat weight gradient: 144-pixel planes, channel blocks 4 + 1, two input channels, padding
      geom(3, 2, 12, 12, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1),
      // (AVX2) flat weight gradient: 12 channels (blocks of 6), dilation 2 down, rows of 14
      geom(2, 1, 12, 13, 12, 3, 2, 1, 1, 0, 1, 2, 1, 1),
      // (AVX2) channel-lane weight gradient: 16 channels, padded input, 27 taps (tiles of 5 and 6), 11 images
      geom(11, 3, 9, 10, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1),
      // (AVX2) channel-lane weight gradient: 8 channels (one vector, 18 taps in tiles of 9), dilation across
      geom(2, 3, 7, 11, 8, 3, 2, 1, 1, 0, 1, 1, 2, 1),
      // (AVX2) direct input gradient: rows of one vector (12 channels a tile), padding 1
      geom(2, 12, 8, 8, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1),
      // (AVX2) direct input gradient: rows of 3 vectors (4 channels a tile), 5x3, pads 2 and 1
      geom(2, 4, 6, 20, 5, 5, 3, 1, 1, 2, 1, 1, 1, 1),
      // (AVX2) direct input gradient: 5 channels in a tile of 6, dilation 2 down, pads 0 and 2
      geom(2, 5, 9, 16, 4, 3, 3, 1, 1, 0, 2, 2, 1, 1),
  };
  for (auto& g : convs) testConv(g);
  testNonFinite(geom(2, 16, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1));
  testNonFinite(geom(2, 3, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1));
  testNonFinite(geom(1, 8, 50, 47, 9, 3, 3, 1, 1, 1, 2, 1, 1, 1));
  testNonFinite(geom(2, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1));   // LeNet conv1
  testNonFinite(geom(2, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1));  // LeNet conv2
  testNonFinite(geom(2, 4, 6, 20, 5, 5, 3, 1, 1, 2, 1, 1, 1, 1));
  testLocally(geom(3, 2, 7, 6, 4, 3, 3, 1, 1, 1, 0, 1, 1, 1));
  testLocally(geom(10, 3, 8, 8, 5, 2, 3, 2, 1, 0, 1, 1, 2, 1));
  std::printf("%s: %d failures in %d checks\n", failures ? "FAILED" : "ok", failures, checks);
  return failures ? 1 : 0;
}
