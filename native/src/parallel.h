// The thread pool's work threshold and the helpers the native backend's kernels use to cut work into tasks.
// Tasks are cut from the geometry alone (never from the thread count), so 1 and N threads give identical bits;
// the threshold only decides whether the calling thread runs every task itself (results never change).
#pragma once
#include <cstdint>
#include "kernels.h"

namespace ck {

// Estimated nanoseconds of single-thread work from which parallelForWork uses the pool (pool.cc; 0: always).
double parallelWorkNs();
void setParallelWorkNs(double ns);
// Use n threads in all (the caller and n - 1 workers; pool.cc). adaptive: the default count, which runs jobs on the
// calling thread alone while its workers lose to other work (pool.cc); a count the user chose is never adaptive.
void setPoolThreads(int n, bool adaptive);
bool poolAdaptive();
// Jobs an adaptive pool ran on the calling thread alone since the process started.
int64_t poolSoloJobs();

// Rough single-thread costs in nanoseconds, for the inline-or-pool decision only.
constexpr double kNsPerStreamedFloat = 0.15;
constexpr double kNsPerScalarF64 = 2.0;
constexpr double kNsPerTranscendental = 8.0;

template <class F>
inline void parallelForWork(int tasks, double workNs, const F& f) {
  if (tasks <= 1 || workNs < parallelWorkNs() || poolThreads() <= 1) {
    for (int t = 0; t < tasks; t++) f(t);
    return;
  }
  parallelFor(tasks, f);
}

// [begin, end) of part `t` of `parts` equal parts of `total` (the last parts take the remainder's extra items).
inline int64_t partBegin(int64_t total, int t, int parts) { return total * t / parts; }

// A flat range of `total` elements cut into tasks of about `grain` elements (a multiple of 64, so vector loops
// of neighbouring tasks never share a cache line): at most 1024 tasks.
struct FlatSplit {
  int64_t total, chunk;
  int tasks;
  FlatSplit(int64_t total_, int64_t grain) : total(total_) {
    int64_t c = grain < 64 ? 64 : (grain + 63) / 64 * 64;
    if ((total + c - 1) / c > 1024) c = ((total + 1023) / 1024 + 63) / 64 * 64;
    chunk = c;
    tasks = total == 0 ? 0 : static_cast<int>((total + c - 1) / c);
  }
  int64_t begin(int t) const { return t * chunk; }
  int64_t end(int t) const { int64_t e = (t + 1) * chunk; return e < total ? e : total; }
};

// Items [0, count) grouped into at most `maxTasks` tasks of contiguous items.
struct ItemSplit {
  int64_t count;
  int tasks;
  ItemSplit(int64_t count_, int maxTasks) : count(count_), tasks(count_ < maxTasks ? static_cast<int>(count_) : maxTasks) {}
  int64_t begin(int t) const { return partBegin(count, t, tasks); }
  int64_t end(int t) const { return partBegin(count, t + 1, tasks); }
};

}  // namespace ck
