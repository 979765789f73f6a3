//===- parallel.cc - the CPU runtime's thread pool --------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// One process-wide pool of num_threads() - 1 workers, started at first use.
// A loop is a Job: the block function, the block count, and two counters
// (blocks claimed, blocks finished). The caller publishes the job, claims and
// runs blocks like any worker, then waits until every *claimed* block has
// finished. Workers hold a shared_ptr to the job they work on, so one that
// wakes late only finds the counter exhausted.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <omp.h>
#include <sched.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EDG_CPU_RELAX() _mm_pause()
#else
#define EDG_CPU_RELAX() std::this_thread::yield()
#endif

namespace edg::cpu {

namespace {

thread_local bool t_in_parallel = false;

int configured_threads() {
  int cores = 1;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    cores = std::max(1, CPU_COUNT(&set));
  int want = 0;
  if (const char *env = std::getenv("EDG_NUM_THREADS"))
    want = std::atoi(env);
  if (want <= 0)
    want = omp_get_max_threads(); // OMP_NUM_THREADS, else the cores
  return std::max(1, std::min(want, cores));
}

struct Job {
  detail::BlockFn fn;
  void *ctx;
  int64_t n, grain, blocks;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};

  /// Claims and runs blocks until none is left.
  void work() {
    for (;;) {
      const int64_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= blocks)
        return;
      const int64_t b = i * grain;
      fn(ctx, b, std::min(n, b + grain));
      done.fetch_add(1, std::memory_order_release);
    }
  }
};

class Pool {
public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; ++i)
      std::thread([this] { worker(); }).detach(); // lives as long as the process
  }
  int threads() const { return threads_; }

  void run(int64_t n, int64_t grain, detail::BlockFn fn, void *ctx) {
    auto job = std::make_shared<Job>();
    job->fn = fn;
    job->ctx = ctx;
    job->n = n;
    job->grain = grain;
    job->blocks = (n + grain - 1) / grain;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_acquire) > 0)
      cv_.notify_all();
    t_in_parallel = true;
    job->work();
    t_in_parallel = false;
    // Only blocks already claimed are waited for.
    const int64_t claimed = std::min(job->blocks, job->next.load());
    for (int spins = 0; job->done.load(std::memory_order_acquire) < claimed;
         ++spins) {
      if (spins < 4096)
        EDG_CPU_RELAX();
      else
        std::this_thread::yield();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (job_ == job)
        job_.reset();
    }
  }

private:
  void worker() {
    uint64_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      // Spin a little for the next loop (a decoding step runs hundreds of
      // short ones back to back), then sleep.
      const auto spin_until =
          std::chrono::steady_clock::now() + std::chrono::microseconds(300);
      int polls = 0;
      while (generation_.load(std::memory_order_acquire) == seen) {
        EDG_CPU_RELAX();
        if (++polls % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
          std::unique_lock<std::mutex> lock(mu_);
          sleepers_.fetch_add(1, std::memory_order_acq_rel);
          cv_.wait(lock, [&] {
            return generation_.load(std::memory_order_acquire) != seen;
          });
          sleepers_.fetch_sub(1, std::memory_order_acq_rel);
          break;
        }
      }
      std::shared_ptr<Job> job;
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen = generation_.load(std::memory_order_acquire);
        job = job_;
      }
      if (job) {
        t_in_parallel = true;
        job->work();
        t_in_parallel = false;
      }
    }
  }

  const int threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Job> job_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
};

Pool &pool() {
  static Pool *p = new Pool(configured_threads()); // never destroyed
  return *p;
}

} // namespace

int num_threads() { return pool().threads(); }

bool in_parallel() { return t_in_parallel; }

int64_t grain_for(int64_t n, int64_t min_grain, int blocks_per_thread) {
  const int64_t parts = int64_t(num_threads()) * std::max(1, blocks_per_thread);
  return std::max<int64_t>(std::max<int64_t>(1, min_grain),
                           (n + parts - 1) / parts);
}

namespace detail {
void parallel_for_impl(int64_t n, int64_t grain, BlockFn fn, void *ctx) {
  if (n <= grain || t_in_parallel || omp_in_parallel() || pool().threads() <= 1) {
    for (int64_t b = 0; b < n; b += grain)
      fn(ctx, b, std::min(n, b + grain));
    return;
  }
  pool().run(n, grain, fn, ctx);
}
} // namespace detail

} // namespace edg::cpu
