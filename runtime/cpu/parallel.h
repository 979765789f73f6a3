//===- parallel.h - the CPU runtime's thread pool ---------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// parallel_for for the inference kernels. It differs from an OpenMP parallel
// for in one way that matters on shared machines: the calling thread does
// not wait for the other threads to *arrive*, only for blocks they have
// already claimed. Blocks are claimed one at a time from a shared counter; a
// worker that is not running when a loop starts (descheduled because other
// processes use the cores) simply claims nothing, and the caller does the
// work itself. With OpenMP, every region's closing barrier waits until each
// team thread has been scheduled again, which costs a scheduler tick (~4 ms)
// per region on a busy 2-core machine - more than a whole decoding step's
// GEMV.
//
// Threads: EDG_NUM_THREADS, else OMP_NUM_THREADS (omp_get_max_threads()),
// capped by the cores this process may use. Idle workers spin briefly, then
// sleep. A parallel_for inside another runs serially on the calling thread.
// fn must not throw.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CPU_PARALLEL_H
#define EDG_RUNTIME_CPU_PARALLEL_H

#include <cstdint>
#include <type_traits>

namespace edg::cpu {

/// Threads parallel_for uses (>= 1), the caller included.
int num_threads();

/// True on a thread that is running a parallel_for block.
bool in_parallel();

namespace detail {
using BlockFn = void (*)(void *ctx, int64_t begin, int64_t end);
void parallel_for_impl(int64_t n, int64_t grain, BlockFn fn, void *ctx);
} // namespace detail

/// Calls fn(begin, end) for blocks [begin, end) covering [0, n), each at most
/// `grain` long, on up to num_threads() threads. Serial when n <= grain,
/// when only one thread is configured, or inside another parallel_for.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F &&fn) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  using Fn = std::remove_reference_t<F>;
  detail::parallel_for_impl(
      n, grain,
      [](void *ctx, int64_t b, int64_t e) { (*static_cast<Fn *>(ctx))(b, e); },
      const_cast<void *>(static_cast<const void *>(&fn)));
}

/// Grain that cuts n items into about `blocks_per_thread` blocks per thread,
/// at least `min_grain` items each.
int64_t grain_for(int64_t n, int64_t min_grain, int blocks_per_thread = 4);

} // namespace edg::cpu

#endif // EDG_RUNTIME_CPU_PARALLEL_H
