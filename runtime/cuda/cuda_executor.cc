//===- cuda_executor.cc - run a model.bin on a CUDA device -------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Buffer addresses: arena buffers at arena + offset (the offsets were
// planned for the compiled maxima, so any B <= max_batch, T, S <= max_seq
// fits), arguments in their own buffers, weights in theirs. Kernel ABI
// (passes/EmitCuda*.cpp): generated kernels take (inputs..., outputs...,
// n | rows); attention takes (q, k, v, positions|null, key_valid|null, out,
// B, T, S); every parameter is 8 bytes. Grids come from the kernels'
// `// edg-launch:` lines (launch_info.h).
//===----------------------------------------------------------------------===//
#include "runtime/cuda/cuda_executor.h"

#include "runtime/core/half.h"
#include "runtime/core/status.h"
#include "runtime/cuda/device_schedule.h"
#include "runtime/cuda/kernel_image.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace edg::cuda {

namespace fb = ::edg::schema;

namespace {

/// One argument as the device stores it; checks the host dtype.
std::vector<uint8_t> argument_bytes(const Tensor &t, fb::DType dtype,
                                    const std::string &what) {
  switch (dtype) {
  case fb::DType::f32: case fb::DType::bf16: case fb::DType::f16:
    check(t.dtype() == DType::f32, what, " must be f32, got ",
          dtype_name(t.dtype()));
    return to_device_bytes(t.data<float>(), t.numel(), dtype);
  case fb::DType::i32:
    check(t.dtype() == DType::i32, what, " must be i32, got ",
          dtype_name(t.dtype()));
    break;
  case fb::DType::i64:
    check(t.dtype() == DType::i64, what, " must be i64, got ",
          dtype_name(t.dtype()));
    break;
  case fb::DType::i1:
    check(t.dtype() == DType::u8 || t.dtype() == DType::boolean, what,
          " must be u8 or bool, got ", dtype_name(t.dtype()));
    break;
  }
  const uint8_t *p = static_cast<const uint8_t *>(t.raw());
  return std::vector<uint8_t>(p, p + t.nbytes());
}

GemmType gemm_type(fb::DType t) {
  return t == fb::DType::f32 ? GemmType::f32 : t == fb::DType::bf16 ? GemmType::bf16
                                                                  : GemmType::f16;
}

} // namespace

CudaExecutor::CudaExecutor(const ModelFile &file, const WeightStore &weights,
                           DeviceApi &device)
    : file_(file), weights_(weights), device_(device) {
  const fb::Model &model = file.model();
  check(model.device_functions() && model.device_functions()->size() > 0,
        file.path(), ": model.bin has no kernel-level schedule; compile it "
                     "with edg-compile --target=cuda or --target=all");
  check(weights.bound(), "weights are not bound: call bind_weights first");
  const char *graphs = std::getenv("EDG_CUDA_GRAPHS");
  graphs_ = !(graphs && std::string(graphs) == "0");
  int64_t arena_bytes = 0;
  for (const fb::DeviceFunction *fn : *model.device_functions()) {
    validate_device_function(model, *fn, file.path());
    arena_bytes = std::max(arena_bytes, fn->arena_size());
  }
  const std::string source = cuda_source(model, file.path());
  check_cuda_kernel_abi(source, file.path());
  for (const LaunchInfo &k : parse_launch_lines(source))
    kernels_[k.name] = k;
  device_.load_kernels(model, file.path());
  // Functions run one at a time and their results are downloaded before
  // the next run, so one arena serves them all.
  if (arena_bytes > 0)
    arena_ = allocate(size_t(arena_bytes));
  sync_weights();
}

CudaExecutor::~CudaExecutor() = default;

bool CudaExecutor::has_function(const std::string &name) const {
  return find_function(file_.model(), name) != nullptr;
}

void CudaExecutor::sync_weights() {
  const fb::Model &model = file_.model();
  std::set<int64_t> used;
  for (const fb::DeviceFunction *fn : *model.device_functions())
    for (const fb::DeviceBuffer *b : *fn->buffers())
      if (b->kind() == fb::BufferKind::weight)
        used.insert(b->index());
  for (int64_t w : used) {
    const uint64_t version = weights_.version(int32_t(w));
    auto seen = weight_versions_.find(w);
    if (seen != weight_versions_.end() && seen->second == version)
      continue;
    const fb::Weight *decl = model.weights()->Get(uint32_t(w));
    const Tensor &t = weights_.get(int32_t(w));
    check(t.dtype() == DType::f32, "weight ", decl->name()->str(),
          " is not bound as f32");
    std::vector<uint8_t> bytes = to_device_bytes(t.data<float>(), t.numel(), decl->dtype());
    DevicePtr &p = weight_ptrs_[w];
    if (!p)
      p = allocate(bytes.size());
    device_.copy_to_device(p, bytes.data(), bytes.size());
    weight_versions_[w] = version;
    // The optimizer's fp32 master of a changed weight reloads from the host.
    if (auto mo = moments_.find(int32_t(w)); mo != moments_.end())
      mo->second.master_loaded = false;
  }
}

const LaunchInfo &CudaExecutor::kernel(const std::string &k) const {
  auto it = kernels_.find(k);
  check(it != kernels_.end(), file_.path(), ": kernel ", k,
        " has no edg-launch line in the stored CUDA source");
  return it->second;
}

void CudaExecutor::launch(const LaunchInfo &k, std::vector<uint64_t> ptrs,
                          const std::vector<int64_t> &sizes) {
  for (int64_t s : sizes)
    ptrs.push_back(uint64_t(s));
  device_.launch(k.name, launch_grid(k, sizes), unsigned(k.block),
                 size_t(k.smem), ptrs);
}

Tensor CudaExecutor::download_result(const fb::DeviceBuffer &b, DevicePtr p,
                              const std::vector<int64_t> &dims,
                              bool last_position) {
  std::vector<int64_t> shape = buffer_shape(b, dims);
  const size_t elt = device_dtype_size(b.dtype());
  if (!last_position || shape.size() != 3 || shape[1] <= 1) {
    std::vector<uint8_t> bytes(buffer_bytes(b, dims));
    device_.copy_to_host(bytes.data(), p, bytes.size());
    return host_tensor(bytes, b.dtype(), shape);
  }
  // [B, T, V] -> [B, 1, V]: a prefill's logits at its last position, all
  // that generation reads (the whole tensor is T times larger).
  const int64_t B = shape[0], T = shape[1];
  const size_t row = size_t(shape[2]) * elt;
  std::vector<uint8_t> bytes(size_t(B) * row);
  for (int64_t r = 0; r < B; ++r)
    device_.copy_to_host(bytes.data() + size_t(r) * row,
                         p + DevicePtr((r * T + T - 1) * int64_t(row)), row);
  return host_tensor(bytes, b.dtype(), {B, 1, shape[2]});
}

Tensor CudaExecutor::result(const std::string &name, size_t index) {
  auto it = results_.find(name);
  check(it != results_.end() && index < it->second.size(), "'", name,
        "' has not run on the device, or has no result ", index);
  const DeviceValue &r = it->second[index];
  std::vector<uint8_t> bytes(r.bytes);
  device_.copy_to_host(bytes.data(), r.ptr, bytes.size());
  const size_t elt = device_dtype_size(r.dtype);
  return host_tensor(bytes, r.dtype, {int64_t(r.bytes / elt)});
}

void CudaExecutor::attention_backward(const std::string &base,
                                      const std::vector<uint64_t> &p,
                                      const std::vector<int64_t> &sizes) {
  // p: q, k, v, positions, key_valid, out, dout | dq, dk, dv, lse, delta.
  enum { q, k, v, pos, kv, o, dout, dq, dk, dv, lse, delta };
  check(p.size() == 12, "attention_backward step of ", base, " has ", p.size(),
        " buffers, not 12");
  launch(kernel(base + "_bwd_stats"),
         {p[q], p[k], p[pos], p[kv], p[o], p[dout], p[lse], p[delta]}, sizes);
  launch(kernel(base + "_bwd_dkdv"),
         {p[q], p[k], p[v], p[pos], p[kv], p[dout], p[lse], p[delta], p[dk],
          p[dv]},
         sizes);
  launch(kernel(base + "_bwd_dq"),
         {p[q], p[k], p[v], p[pos], p[kv], p[dout], p[lse], p[delta], p[dq]},
         sizes);
}

std::vector<Tensor> CudaExecutor::run(const std::string &name,
                                      const std::vector<const Tensor *> &args) {
  return run_steps(name, args, nullptr, /*download=*/true);
}

void CudaExecutor::run_on_device(const std::string &name,
                                 const std::vector<const Tensor *> &args) {
  run_steps(name, args, nullptr, /*download=*/false);
}

std::vector<Tensor> CudaExecutor::run_steps(const std::string &name,
                                            const std::vector<const Tensor *> &args,
                                            CudaKvCache *cache, bool download,
                                            std::vector<int32_t> *greedy) {
  const fb::DeviceFunction *fn = find_function(file_.model(), name);
  check(fn != nullptr, file_.path(), ": no kernel-level schedule for '", name,
        "' (compile with --target=cuda or all; an entry point holding ops no "
        "device schedule covers, such as the optimizer, has none)");
  const auto &buffers = *fn->buffers();
  const size_t nargs = fn->arguments() ? fn->arguments()->size() : 0;
  check(args.size() == nargs, "entry point '", name, "' takes ", nargs,
        " arguments, got ", args.size());

  // B, T, S from the argument axes they are bound to; every other axis of
  // every argument must agree with them.
  const size_t ndims = fn->dims() ? fn->dims()->size() : 0;
  std::vector<int64_t> dims(ndims, -1);
  for (size_t d = 0; d < ndims; ++d) {
    const fb::DeviceDim *dim = fn->dims()->Get(uint32_t(d));
    const Tensor *a = args[size_t(dim->argument())];
    check(a != nullptr && dim->axis() < a->rank(), "argument ",
          dim->argument(), " of '", name, "' has no axis ", dim->axis());
    dims[d] = a->dim(dim->axis());
    check(dims[d] <= dim->max(), "argument ", dim->argument(), " of '", name,
          "': ", dim->name()->str(), " = ", dims[d], " exceeds the compiled "
          "maximum ", dim->max(), " (edg-compile --max-batch/--max-seq)");
  }
  for (size_t i = 0; i < nargs; ++i) {
    const fb::DeviceBuffer *b = buffers[uint32_t(fn->arguments()->Get(uint32_t(i)))];
    std::vector<int64_t> want = buffer_shape(*b, dims);
    check(args[i] != nullptr && args[i]->shape() == want, "argument ", i,
          " of '", name, "' has shape ",
          args[i] ? shape_str(args[i]->shape()) : "(null)", ", the model needs ",
          shape_str(want));
  }

  sync_weights();
  // A cached run keeps the request's constants in the cache: they are
  // uploaded and computed by its first run only. Which buffers they are
  // depends on the function alone: worked out once.
  const std::vector<bool> *constant = nullptr;
  if (cache) {
    std::vector<bool> &known = request_constants_[name];
    if (known.empty())
      known = request_constants(*fn);
    constant = &known;
  }
  const bool constants_ready = cache && cache->constants_ready(name);
  if (cache)
    check_cache_room(name, *fn, dims, *cache);
  auto is_constant = [&](int32_t id) {
    return constant && id >= 0 && (*constant)[size_t(id)];
  };
  std::vector<DevicePtr> &arg_ptrs = argument_ptrs_[name];
  if (arg_ptrs.empty())
    for (size_t i = 0; i < nargs; ++i)
      arg_ptrs.push_back(allocate(buffer_bytes(
          *buffers[uint32_t(fn->arguments()->Get(uint32_t(i)))], max_dims(*fn))));
  auto address = [&](int32_t id) -> DevicePtr {
    if (id < 0)
      return 0;
    const fb::DeviceBuffer *b = buffers[uint32_t(id)];
    if (is_constant(id) && b->kind() != fb::BufferKind::weight)
      return cache->constant(name, id, buffer_bytes(*b, dims));
    switch (b->kind()) {
    case fb::BufferKind::arena: return arena_ + DevicePtr(b->index());
    case fb::BufferKind::argument: return arg_ptrs[size_t(b->index())];
    case fb::BufferKind::weight: return weight_ptrs_.at(b->index());
    }
    return 0;
  };
  for (size_t i = 0; i < nargs; ++i) {
    const int32_t id = fn->arguments()->Get(uint32_t(i));
    if (constants_ready && is_constant(id))
      continue;
    std::vector<uint8_t> bytes = argument_bytes(
        *args[i], buffers[uint32_t(id)]->dtype(),
        "argument " + std::to_string(i) + " of '" + name + "'");
    device_.copy_to_device(address(id), bytes.data(), bytes.size());
  }

  // The walk over the steps; in a cached run it counts the rows the
  // attention steps appended (the same for every layer) and their decode
  // launches.
  int64_t appended = 0, decoded = 0;
  auto walk = [&] {
    appended = decoded = 0;
    for (uint32_t i = 0; i < fn->steps()->size(); ++i) {
      const fb::DeviceStep *s = fn->steps()->Get(i);
      if (constants_ready && is_constant(s->outputs()->Get(0)))
        continue; // computed by the request's first run
      run_step(name, *fn, int(i), *s, address, dims, cache, appended, decoded);
    }
  };
  if (!cache) {
    walk();
  } else {
    const int64_t len = cache->length();
    device_.copy_to_device(cache->length_word(), &len, sizeof(len));
    // One-token steps after the request's first run do the same work at
    // every position: they run as a CUDA graph, captured at the second
    // such step.
    const bool one_token = constants_ready && new_rows(*fn, dims) == 1;
    CudaKvCache::StepGraph *g = one_token && graphs_ ? &cache->step_graph(name) : nullptr;
    if (g && g->graph && g->dims == dims) {
      g->graph->replay();
      appended = g->appended, decoded = g->decodes;
      cache->count_replay();
    } else if (g && g->eager_runs > 0 && capture(*g, walk, dims)) {
      g->appended = appended, g->decodes = decoded; // what the walk counted
      g->graph->replay();
      cache->count_replay();
    } else {
      walk();
      if (g)
        ++g->eager_runs;
    }
  }

  // Where the results are until the next run (the optimizer reads the
  // gradients of grad_step there).
  std::vector<DeviceValue> &kept = results_[name];
  kept.clear();
  if (fn->results())
    for (int32_t id : *fn->results())
      kept.push_back({address(id), buffers[uint32_t(id)]->dtype(),
                      buffer_bytes(*buffers[uint32_t(id)], dims)});
  std::vector<Tensor> results;
  if (fn->results() && download)
    for (int32_t id : *fn->results())
      results.push_back(download_result(*buffers[uint32_t(id)], address(id),
                                        dims,
                                        /*last_position=*/cache != nullptr));
  if (greedy) {
    check(cache && fn->results() && fn->results()->size() > 0,
          "greedy tokens: '", name, "' is not a cached run with logits");
    const int32_t id = fn->results()->Get(0);
    pick_greedy_tokens(*buffers[uint32_t(id)], address(id), dims, *cache, *greedy);
  }
  device_.synchronize();
  if (cache) {
    cache->advance(appended);
    cache->count_decodes(decoded);
    cache->set_constants_ready(name);
  }
  return results;
}

bool CudaExecutor::capture(CudaKvCache::StepGraph &g,
                           const std::function<void()> &walk,
                           const std::vector<int64_t> &dims) {
  try {
    device_.begin_capture();
    walk();
    g.graph = device_.end_capture();
  } catch (const std::exception &e) {
    // Capturing queued nothing: say why once and run without graphs.
    try {
      device_.end_capture();
    } catch (...) {
    }
    std::fprintf(stderr, "edg: CUDA graph capture failed (%s); decode steps "
                         "run without graphs\n", e.what());
    graphs_ = false;
    return false;
  }
  g.dims = dims;
  return true;
}

void CudaExecutor::run_step(const std::string &name,
                            const fb::DeviceFunction &fn, int index,
                            const fb::DeviceStep &s,
                            const std::function<DevicePtr(int32_t)> &address,
                            const std::vector<int64_t> &dims, CudaKvCache *cache,
                            int64_t &appended, int64_t &decoded) {
  const auto &buffers = *fn.buffers();
  std::vector<int64_t> sizes;
  for (const fb::SizeExpr *e : *s.sizes())
    sizes.push_back(eval_size(*e, dims));
  std::vector<uint64_t> ptrs;
  for (int32_t id : *s.inputs())
    ptrs.push_back(address(id));
  for (int32_t id : *s.outputs())
    ptrs.push_back(address(id));
  switch (s.kind()) {
  case fb::DeviceStepKind::launch:
    if (s.zero_outputs()) // scatter-add kernels accumulate into zeros
      for (int32_t id : *s.outputs())
        device_.memset(address(id), 0, buffer_bytes(*buffers[uint32_t(id)], dims));
    launch(kernel(s.kernel()->str()), ptrs, sizes);
    break;
  case fb::DeviceStepKind::attention_backward:
    attention_backward(s.kernel()->str(), ptrs, sizes);
    break;
  case fb::DeviceStepKind::attention: {
    const LaunchInfo &k = kernel(s.kernel()->str());
    if (!cache || !cached_attention(name, index, s, k, ptrs, sizes, *cache,
                                    appended, decoded))
      launch(k, ptrs, sizes);
    break;
  }
  case fb::DeviceStepKind::gemm: {
    GemmDesc g;
    g.M = sizes[0], g.N = sizes[1], g.K = sizes[2];
    g.type = gemm_type(buffers[uint32_t(s.inputs()->Get(0))]->dtype());
    g.x = ptrs[0], g.w = ptrs[1], g.y = ptrs[2];
    g.transpose_x = s.transpose_x(), g.transpose_w = s.transpose_w();
    device_.gemm(g);
    if (s.epilogue() && s.epilogue()->size()) // in place on y [M, N]
      launch(kernel(s.epilogue()->str()), {g.y, g.y}, {g.M * g.N});
    break;
  }
  }
}

} // namespace edg::cuda
