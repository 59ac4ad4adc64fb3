// fmaPeak: the multiply-add throughput one level's vectors reach, for bench/gemm.mjs (kernels.h).
#include "kernels.h"
#include "simd.h"

namespace CK_ISA_NS {
namespace {
// Independent accumulators: enough to cover the FMA latency (4-5 cycles) on 2 pipes, within 16 registers.
constexpr int ACCUMULATORS = 12;
volatile float peakSink;

void peakLoop(int64_t iterations) {
  vf acc[ACCUMULATORS];
  for (int i = 0; i < ACCUMULATORS; i++) acc[i] = vsplat(0.001f * i);
  // The multiplier and addend are read from volatiles, so the compiler cannot fold the loop.
  volatile float multiplier = 0.999999f, addend = 1e-7f;
  vf a = vsplat(multiplier), b = vsplat(addend);
  for (int64_t it = 0; it < iterations; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < ACCUMULATORS; i++) acc[i] = fmadd(acc[i], a, b);
  }
  vf sum = vf{};
  for (int i = 0; i < ACCUMULATORS; i++) sum += acc[i];
  float s = 0;
  for (int i = 0; i < VL; i++) s += sum[i];
  peakSink = s;
}
}  // namespace

double fmaPeak(int64_t iterations, int threads) {
  if (threads < 1) threads = 1;
  if (iterations < 1) return 0;
  ck::parallelFor(threads, [&](int) { peakLoop(iterations); });
  return 2.0 * VL * ACCUMULATORS * (double)iterations * threads;
}

}  // namespace CK_ISA_NS
