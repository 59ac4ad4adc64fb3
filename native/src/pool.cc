// The native backend's thread pool (kernels.h parallelFor): std::thread workers plus the calling thread.
//
// A job is published under the mutex (`current`, a new generation) and its tasks are claimed with an atomic
// counter, so whichever thread is free takes the next task; the caller takes tasks too and returns once every task
// is done and no worker still holds the job. Workers spin for a short while after a job (kernels of a training step
// come back to back), then sleep on a condition variable. Threads only choose which whole tasks they run: results
// never depend on the thread count (kernels.h).
//
// Adaptive (the default thread count, never one the user chose; as the wasm pool, src/backend/wasm/threads.ts): on
// a shared machine a worker the OS does not schedule leaves the caller waiting for its tasks. While the caller waits
// over 30 % of the job time in a 200 ms window, jobs run on the calling thread alone for 1 s, doubling up to 16 s
// while that lasts, then share again. Which thread runs a task never changes results.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#include "kernels.h"
#include "parallel.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void cpuRelax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpuRelax() { asm volatile("yield"); }
#else
static inline void cpuRelax() {}
#endif

namespace ck {
namespace {

// How long a worker spins for the next job, and the caller for the last tasks, before sleeping.
constexpr auto kSpin = std::chrono::microseconds(100);
// The adaptive pool's measuring window (job time), waiting share above which it goes solo, and the solo periods.
constexpr double kAdaptiveWindowNs = 200e6, kAdaptiveWaitLimit = 0.3;
constexpr double kFirstSoloNs = 1e9, kMaxSoloNs = 16e9;

using Clock = std::chrono::steady_clock;
inline double nsSince(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::nano>(to - from).count();
}

struct Job {
  void (*fn)(void*, int);
  void* ctx;
  int tasks;
  std::atomic<int> next{0}, done{0}, holders{0};
};

thread_local bool insideJob = false;

// Claims and runs tasks of `job` until none is left; returns how many this thread ran.
void runTasks(Job& job) {
  const bool outer = insideJob;
  insideJob = true;
  for (;;) {
    const int t = job.next.fetch_add(1, std::memory_order_relaxed);
    if (t >= job.tasks) break;
    job.fn(job.ctx, t);
    job.done.fetch_add(1, std::memory_order_acq_rel);
  }
  insideJob = outer;
}

class Pool {
 public:
  int threads() const { return active_.load(std::memory_order_relaxed); }

  void setThreads(int n, bool adaptive) {
    std::lock_guard<std::mutex> call(callMutex_);  // never while a job runs
    std::lock_guard<std::mutex> lock(mutex_);
    active_.store(n < 1 ? 1 : n, std::memory_order_relaxed);
    adaptive_ = adaptive && n > 1;
    soloUntil_ = Clock::time_point{};
    soloNs_ = kFirstSoloNs;
    windowRunNs_ = windowWaitNs_ = 0;
    while (static_cast<int>(workers_.size()) < n - 1) {
      const int id = static_cast<int>(workers_.size());
      workers_.emplace_back([this, id] { workerLoop(id); });
      // Never joined: the pool lives as long as the process (a parked or sleeping worker costs nothing).
      workers_.back().detach();
    }
    wake_.notify_all();  // parked workers within the new count rejoin
  }

  void run(int tasks, void (*fn)(void*, int), void* ctx) {
    // Nested calls, a single thread, and a second calling thread (a worker_thread using the addon while another runs
    // a kernel) run the tasks inline.
    if (insideJob || threads() <= 1 || tasks <= 1 || !callMutex_.try_lock()) {
      for (int t = 0; t < tasks; t++) fn(ctx, t);
      return;
    }
    std::lock_guard<std::mutex> call(callMutex_, std::adopt_lock);
    const Clock::time_point started = adaptive_ ? Clock::now() : Clock::time_point{};
    if (adaptive_ && started < soloUntil_) {
      soloJobs_.fetch_add(1, std::memory_order_relaxed);
      for (int t = 0; t < tasks; t++) fn(ctx, t);
      return;
    }
    Job job;
    job.fn = fn;
    job.ctx = ctx;
    job.tasks = tasks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = &job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleeping_.load(std::memory_order_acquire) > 0) wake_.notify_all();
    runTasks(job);
    const Clock::time_point waitFrom = adaptive_ ? Clock::now() : Clock::time_point{};
    // The last tasks may still run on workers: spin, then sleep until the one that finishes the job says so.
    waitFor([&] { return job.done.load(std::memory_order_acquire) >= tasks; });
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = nullptr;
    }
    // A worker that joined late may still be looking at the (finished) job's counter: it lives on this stack.
    while (job.holders.load(std::memory_order_acquire) > 0) cpuRelax();
    if (adaptive_) account(started, waitFrom, Clock::now());
  }

  bool adaptive() const { return adaptive_; }
  int64_t soloJobs() const { return soloJobs_.load(std::memory_order_relaxed); }

 private:
  // One shared job of an adaptive pool: it ran from `started` to `ended`, the caller waiting from `waitFrom`.
  void account(Clock::time_point started, Clock::time_point waitFrom, Clock::time_point ended) {
    windowRunNs_ += nsSince(started, ended);
    windowWaitNs_ += nsSince(waitFrom, ended);
    if (windowRunNs_ < kAdaptiveWindowNs) return;
    if (windowWaitNs_ > kAdaptiveWaitLimit * windowRunNs_) {
      soloUntil_ = ended + std::chrono::nanoseconds(static_cast<int64_t>(soloNs_));
      soloNs_ = soloNs_ * 2 < kMaxSoloNs ? soloNs_ * 2 : kMaxSoloNs;
    } else {
      soloNs_ = kFirstSoloNs;
    }
    windowRunNs_ = windowWaitNs_ = 0;
  }

  template <class Ready>
  void waitFor(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (!ready()) {
      for (int i = 0; i < 64 && !ready(); i++) cpuRelax();
      if (ready() || std::chrono::steady_clock::now() < until) continue;
      std::unique_lock<std::mutex> lock(mutex_);
      callerWaiting_ = true;
      finished_.wait_for(lock, std::chrono::milliseconds(1), ready);
      callerWaiting_ = false;
    }
  }

  void workerLoop(int id) {
    uint64_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      if (id >= active_.load(std::memory_order_relaxed) - 1) {
        // Past the current count (setThreads lowered it): park, neither spinning nor woken by jobs, until it rises.
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return id < active_.load(std::memory_order_relaxed) - 1; });
        seen = generation_.load(std::memory_order_relaxed);
        continue;
      }
      const auto until = std::chrono::steady_clock::now() + kSpin;
      while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
        for (int i = 0; i < 64; i++) cpuRelax();
      }
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (generation_.load(std::memory_order_relaxed) == seen) {
          sleeping_.fetch_add(1, std::memory_order_acq_rel);
          wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
          sleeping_.fetch_sub(1, std::memory_order_acq_rel);
        }
        seen = generation_.load(std::memory_order_relaxed);
        // Workers past the current count stay out of jobs (setThreads lowered it).
        if (current_ && id < active_.load(std::memory_order_relaxed) - 1) {
          job = current_;
          job->holders.fetch_add(1, std::memory_order_acq_rel);
        }
      }
      if (!job) continue;
      runTasks(*job);
      const bool finishedIt = job->done.load(std::memory_order_acquire) >= job->tasks;
      if (finishedIt) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (callerWaiting_) finished_.notify_all();
      }
      job->holders.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::mutex callMutex_, mutex_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> active_{1}, sleeping_{0};
  Job* current_ = nullptr;
  bool callerWaiting_ = false;
  // The adaptive state: read and written by the thread holding callMutex_ only.
  bool adaptive_ = false;
  Clock::time_point soloUntil_{};
  double soloNs_ = kFirstSoloNs, windowRunNs_ = 0, windowWaitNs_ = 0;
  std::atomic<int64_t> soloJobs_{0};
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: detached workers may outlive static destructors
  return *p;
}

std::atomic<double> workThresholdNs{20000};

}  // namespace

void parallelFor(int tasks, void (*fn)(void* ctx, int task), void* ctx) { pool().run(tasks, fn, ctx); }
int poolThreads() { return pool().threads(); }
void setPoolThreads(int n, bool adaptive) { pool().setThreads(n, adaptive); }
bool poolAdaptive() { return pool().adaptive(); }
int64_t poolSoloJobs() { return pool().soloJobs(); }
double parallelWorkNs() { return workThresholdNs.load(std::memory_order_relaxed); }
void setParallelWorkNs(double ns) { workThresholdNs.store(ns, std::memory_order_relaxed); }

}  // namespace ck
