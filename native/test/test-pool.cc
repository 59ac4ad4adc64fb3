// A stand-in for pool.cc in the standalone kernel tests (native/test/run.sh): ck::parallelFor over
// CK_TEST_THREADS threads (default 1), spawned per call; nested calls run inline, as pool.cc's contract says.
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>
#include "kernels.h"

namespace ck {
namespace {
thread_local bool insideTask = false;
int threadsFromEnv() {
  const char* s = std::getenv("CK_TEST_THREADS");
  int t = s ? std::atoi(s) : 1;
  return t < 1 ? 1 : t;
}
}  // namespace

int poolThreads() { return threadsFromEnv(); }

void parallelFor(int tasks, void (*fn)(void* ctx, int task), void* ctx) {
  int threads = threadsFromEnv();
  if (insideTask || threads == 1 || tasks <= 1) {
    for (int t = 0; t < tasks; t++) fn(ctx, t);
    return;
  }
  std::atomic<int> next{0};
  auto worker = [&] {
    insideTask = true;
    for (int t; (t = next.fetch_add(1)) < tasks;) fn(ctx, t);
    insideTask = false;
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; i++) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}
}  // namespace ck
