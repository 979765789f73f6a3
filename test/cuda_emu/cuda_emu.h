//===- cuda_emu.h - run generated CUDA kernels on the CPU --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// CI has no GPU, yet the generated CUDA kernels (passes/EmitCuda*.cpp) must
// compute the right numbers, not only compile. This header is force-included
// (`c++ -std=c++20 -include cuda_emu.h -I include/`) before a generated
// translation unit and provides just enough of CUDA to run it on the CPU:
//
//   - one std::thread per CUDA thread of a block, walking the blocks in order;
//     threadIdx / blockIdx / blockDim / gridDim are thread_local;
//   - __syncthreads, __syncthreads_or (std::barrier over the block) and
//     __shfl_xor_sync (a per-warp exchange through memory + barrier);
//   - __shared__ variables are function statics (one block runs at a time),
//     dynamic shared memory is one static buffer;
//   - __nv_bfloat16 / __half with round-to-nearest-even conversions;
//   - atomicAdd on float, __nv_bfloat16 and __half (std::atomic_ref: the
//     threads of a block run concurrently);
//   - nvcuda::wmma 16x16x16 fragments: every lane holds the whole tile, the
//     product is exact fp32, lane 0 stores (the collective semantics, not
//     the register layout; the generated code never relies on the layout).
//
// edg_emu_launch() is the launcher emu_kernels.h calls (edg-kernel-check
// --device=emu, and the emulated device of the CUDA executor tests).
// It checks the kernel code, not the performance or the memory model of a
// GPU (no race detection beyond what the barriers order).
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_CUDA_EMU_H
#define EDG_TEST_CUDA_EMU_H

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

//--- qualifiers -------------------------------------------------------------//
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
using uint3 = dim3;
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

//--- numbers ----------------------------------------------------------------//
inline float __int_as_float(unsigned bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline float __expf(float x) { return std::exp(x); }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

struct __nv_bfloat16 {
  uint16_t bits = 0;
};
struct __half {
  uint16_t bits = 0;
};
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  __nv_bfloat16 h;
  if ((u & 0x7fffffffu) > 0x7f800000u)
    h.bits = uint16_t((u >> 16) | 0x40); // quiet NaN
  else
    h.bits = uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  return h;
}
inline float __bfloat162float(__nv_bfloat16 h) {
  uint32_t u = uint32_t(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline __half __float2half_rn(float f) {
  _Float16 v = static_cast<_Float16>(f); // round to nearest even
  __half h;
  std::memcpy(&h.bits, &v, 2);
  return h;
}
inline float __half2float(__half h) {
  _Float16 v;
  std::memcpy(&v, &h.bits, 2);
  return float(v);
}

//--- atomics ------------------------------------------------------------------//
inline float atomicAdd(float *p, float v) {
  return std::atomic_ref<float>(*p).fetch_add(v);
}
/// 16-bit floats: compare-and-swap of the bits, the sum rounded to H.
template <class H, class ToF, class FromF>
H edg_emu_atomic_add16(H *p, H v, ToF to_float, FromF from_float) {
  std::atomic_ref<uint16_t> bits(p->bits);
  uint16_t old = bits.load();
  for (;;) {
    H o, sum = from_float(to_float(H{old}) + to_float(v));
    o.bits = old;
    if (bits.compare_exchange_weak(old, sum.bits))
      return o;
  }
}
inline __nv_bfloat16 atomicAdd(__nv_bfloat16 *p, __nv_bfloat16 v) {
  return edg_emu_atomic_add16(p, v, __bfloat162float, __float2bfloat16_rn);
}
inline __half atomicAdd(__half *p, __half v) {
  return edg_emu_atomic_add16(p, v, __half2float, __float2half_rn);
}

//--- the block: barriers and warp exchange ------------------------------------//
struct EdgEmuBlock {
  explicit EdgEmuBlock(unsigned threads)
      : all(threads), exchange(2 * threads) {
    for (unsigned w = 0; w < (threads + 31) / 32; ++w)
      warps.push_back(std::make_unique<std::barrier<>>(32));
  }
  std::barrier<> all;
  std::vector<std::unique_ptr<std::barrier<>>> warps;
  std::vector<float> exchange;
  std::atomic<int> any{0};
};
inline thread_local EdgEmuBlock *edg_emu_block = nullptr;

inline void __syncthreads() { edg_emu_block->all.arrive_and_wait(); }
inline int __syncthreads_or(int predicate) {
  EdgEmuBlock &b = *edg_emu_block;
  if (predicate)
    b.any = 1;
  b.all.arrive_and_wait();
  int result = b.any.load();
  b.all.arrive_and_wait();
  if (threadIdx.x == 0)
    b.any = 0;
  b.all.arrive_and_wait();
  return result;
}
inline void edg_emu_syncwarp() {
  edg_emu_block->warps[threadIdx.x >> 5]->arrive_and_wait();
}
// Double-buffered: a lane can only write the buffer of call n + 2 after
// every lane passed the barrier of call n + 1, i.e. finished reading call n.
inline thread_local unsigned edg_emu_shfl_phase = 0;
inline float __shfl_xor_sync(unsigned, float v, int mask) {
  EdgEmuBlock &b = *edg_emu_block;
  unsigned t = threadIdx.x, base = edg_emu_shfl_phase * blockDim.x;
  edg_emu_shfl_phase ^= 1;
  b.exchange[base + t] = v;
  edg_emu_syncwarp();
  return b.exchange[base + ((t & ~31u) | ((t & 31u) ^ unsigned(mask)))];
}

// Dynamic shared memory: one buffer (blocks run one at a time).
alignas(128) inline unsigned char edg_emu_smem[256 * 1024];
#define EDG_DYNAMIC_SMEM(name) unsigned char *name = edg_emu_smem

//--- nvcuda::wmma -------------------------------------------------------------//
namespace nvcuda::wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  float x[16 * 16]; // (row, col) at x[row * 16 + col], in every lane
};

inline float edg_emu_float(float v) { return v; }
inline float edg_emu_float(__nv_bfloat16 v) { return __bfloat162float(v); }
inline float edg_emu_float(__half v) { return __half2float(v); }

template <class Use, int M, int N, int K, class T, class L>
void load_matrix_sync(fragment<Use, M, N, K, T, L> &f, const T *p,
                      unsigned ld) {
  constexpr bool col = std::is_same_v<L, col_major>;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] = edg_emu_float(col ? p[c * ld + r] : p[r * ld + c]);
}
template <int M, int N, int K>
void load_matrix_sync(fragment<accumulator, M, N, K, float> &f, const float *p,
                      unsigned ld, layout_t layout) {
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] = layout == mem_row_major ? p[r * ld + c] : p[c * ld + r];
}
template <int M, int N, int K>
void fill_fragment(fragment<accumulator, M, N, K, float> &f, float v) {
  std::fill(f.x, f.x + 256, v);
}
template <int M, int N, int K, class T, class LA, class LB>
void mma_sync(fragment<accumulator, M, N, K, float> &d,
              const fragment<matrix_a, M, N, K, T, LA> &a,
              const fragment<matrix_b, M, N, K, T, LB> &b,
              const fragment<accumulator, M, N, K, float> &c) {
  float out[256];
  for (int r = 0; r < 16; ++r)
    for (int col = 0; col < 16; ++col) {
      float s = c.x[r * 16 + col];
      for (int k = 0; k < 16; ++k)
        s += a.x[r * 16 + k] * b.x[k * 16 + col];
      out[r * 16 + col] = s;
    }
  std::copy(out, out + 256, d.x);
}
template <int M, int N, int K>
void store_matrix_sync(float *p, const fragment<accumulator, M, N, K, float> &f,
                       unsigned ld, layout_t layout) {
  if ((threadIdx.x & 31) == 0)
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 16; ++c)
        (layout == mem_row_major ? p[r * ld + c] : p[c * ld + r]) =
            f.x[r * 16 + c];
  edg_emu_syncwarp();
}
} // namespace nvcuda::wmma

//--- the launcher -------------------------------------------------------------//
/// Runs `kernel` (an extern "C" kernel of the translation unit) over the
/// grid; `args` are its parameters, each a pointer or a 64-bit integer.
extern "C" int edg_emu_launch(void *kernel, unsigned gx, unsigned gy,
                                     unsigned gz, unsigned threads,
                                     const uint64_t *args, int nargs) {
  using U = uint64_t;
  auto call = [&] {
    switch (nargs) {
#define EDG_EMU_CALL(n, ...)                                                   \
  case n:                                                                      \
    reinterpret_cast<void (*)(__VA_ARGS__)>(kernel)
      EDG_EMU_CALL(2, U, U)(args[0], args[1]); break;
      EDG_EMU_CALL(3, U, U, U)(args[0], args[1], args[2]); break;
      EDG_EMU_CALL(4, U, U, U, U)(args[0], args[1], args[2], args[3]); break;
      EDG_EMU_CALL(5, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4]); break;
      EDG_EMU_CALL(6, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5]); break;
      EDG_EMU_CALL(7, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6]); break;
      EDG_EMU_CALL(8, U, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7]); break;
      EDG_EMU_CALL(9, U, U, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8]); break;
      EDG_EMU_CALL(10, U, U, U, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9]); break;
      EDG_EMU_CALL(11, U, U, U, U, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[10]); break;
      EDG_EMU_CALL(12, U, U, U, U, U, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[10], args[11]); break;
      EDG_EMU_CALL(13, U, U, U, U, U, U, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[10], args[11], args[12]); break;
      EDG_EMU_CALL(14, U, U, U, U, U, U, U, U, U, U, U, U, U, U)(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[10], args[11], args[12], args[13]); break;
#undef EDG_EMU_CALL
    default:
      std::abort();
    }
  };
  // One pool of `threads` threads walks the blocks in order; a barrier
  // between blocks keeps shared memory (statics) private to each block.
  const dim3 grid{gx, gy, gz}, block{threads, 1, 1};
  EdgEmuBlock state(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      threadIdx = {t, 0, 0};
      blockDim = block;
      gridDim = grid;
      edg_emu_block = &state;
      for (unsigned z = 0; z < gz; ++z)
        for (unsigned y = 0; y < gy; ++y)
          for (unsigned x = 0; x < gx; ++x) {
            blockIdx = {x, y, z};
            call();
            state.all.arrive_and_wait();
          }
    });
  for (std::thread &th : pool)
    th.join();
  return 0;
}

#endif // EDG_TEST_CUDA_EMU_H
