//===- generated_kernels.cc - kernels edg-compile generated ------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Loading: the object is written to an anonymous memfd (no file ever
// appears on disk) and dlopen'ed through /proc/self/fd; where memfd is not
// available it goes to a mkstemp file in $TMPDIR that is unlinked right after
// dlopen. The object's edg_kernel_abi_version() must be 2 and its
// edg_kernel_table() lists every kernel.
//
// Matching: match_steps spells a run of coarse steps as the signature the
// compiler gives the same computation (passes/KernelUtils.cpp
// kernelSignature): operands in first-use order as i0, i1, ... (a step's
// value inputs, then its weights), results t0, t1, ... in step order, and
// after "->" the results read outside the run.
//===----------------------------------------------------------------------===//
#include "runtime/cpu/generated_kernels.h"

#include "runtime/cpu/parallel.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace edg::cpu {

namespace fb = ::edg::schema;

namespace {

/// Layout of one row of the generated edg_kernel_table (EmitCpp.cpp).
struct TableEntry {
  const char *name, *kind, *signature, *origin;
  int32_t num_inputs, num_outputs;
  int64_t row_width;
  GeneratedKernelFn fn;
};
using TableFn = const TableEntry *(*)(int32_t *count);
using AbiFn = int32_t (*)();

const char *host_arch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

bool env_is(const char *name, const char *value) {
  const char *v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

bool write_all(int fd, const uint8_t *data, size_t size) {
  while (size) {
    ssize_t n = ::write(fd, data, size);
    if (n <= 0)
      return false;
    data += n;
    size -= size_t(n);
  }
  return true;
}

/// dlopen()s `data` as a shared object; "" and a handle, or an error.
std::string open_object(const uint8_t *data, size_t size, void **handle) {
  int fd = -1;
#ifdef MFD_CLOEXEC
  fd = ::memfd_create("edg-kernels", MFD_CLOEXEC);
#endif
  std::string path;
  bool temp = false;
  if (fd < 0) {
    const char *dir = std::getenv("TMPDIR");
    path = std::string(dir && *dir ? dir : "/tmp") + "/edg-kernels-XXXXXX";
    fd = ::mkstemp(path.data());
    if (fd < 0)
      return "cannot create a temporary file in " + path;
    temp = true;
  } else {
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  std::string error;
  if (!write_all(fd, data, size)) {
    error = "cannot write the kernel object";
  } else if (!(*handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))) {
    const char *why = ::dlerror();
    error = why ? why : "dlopen failed";
  }
  if (temp)
    ::unlink(path.c_str());
  ::close(fd);
  return error;
}
} // namespace

std::shared_ptr<const GeneratedKernels>
GeneratedKernels::load(const fb::Model &model, const std::string &path) {
  if (env_is("EDG_GENERATED_KERNELS", "0") || !model.kernels())
    return nullptr;
  const fb::KernelBinary *binary = nullptr;
  for (const fb::KernelBinary *k : *model.kernels())
    if (k->target() && k->target()->str() == "cpu" && k->arch() &&
        k->arch()->str() == host_arch() && k->data())
      binary = k;
  bool verbose = env_is("EDG_VERBOSE", "1");
  if (!binary) {
    if (verbose)
      std::fprintf(stderr, "edg: %s has no generated CPU kernels for %s\n",
                   path.c_str(), host_arch());
    return nullptr;
  }
  std::shared_ptr<GeneratedKernels> out(new GeneratedKernels());
  out->verbose_ = verbose;
  std::string error =
      open_object(binary->data()->data(), binary->data()->size(), &out->handle_);
  auto abi = error.empty() ? reinterpret_cast<AbiFn>(
                                 ::dlsym(out->handle_, "edg_kernel_abi_version"))
                           : nullptr;
  auto table = error.empty() ? reinterpret_cast<TableFn>(
                                   ::dlsym(out->handle_, "edg_kernel_table"))
                             : nullptr;
  if (error.empty() && (!abi || !table || abi() != 2))
    error = "not an EDG kernel object of ABI version 1";
  if (!error.empty()) {
    std::fprintf(stderr,
                 "edg: warning: cannot load the generated CPU kernels of %s "
                 "(%s); using the built-in kernels\n",
                 path.c_str(), error.c_str());
    return nullptr;
  }
  int32_t count = 0;
  const TableEntry *entries = table(&count);
  for (int32_t i = 0; i < count; ++i) {
    auto k = std::make_unique<GeneratedKernel>();
    k->name = entries[i].name;
    k->kind = entries[i].kind;
    k->signature = entries[i].signature;
    k->origin = entries[i].origin;
    k->num_inputs = entries[i].num_inputs;
    k->num_outputs = entries[i].num_outputs;
    k->row_width = entries[i].row_width;
    k->fn = entries[i].fn;
    out->kernels_[k->signature] = std::move(k);
  }
  if (verbose)
    std::fprintf(stderr, "edg: loaded %zu generated CPU kernels (%s) from %s\n",
                 out->kernels_.size(), host_arch(), path.c_str());
  return out;
}

GeneratedKernels::~GeneratedKernels() {
  if (handle_)
    ::dlclose(handle_);
}

void GeneratedKernel::run(void *const *args, const int64_t *sizes) const {
  // Blocks of about 16K elements: large enough to amortise a claim, small
  // enough to balance two cores on a [512, 512] activation.
  int64_t per_item = kind == "elementwise" ? 1
                     : kind == "attention" ? sizes[1] * sizes[2]
                                           : std::max<int64_t>(row_width, 1);
  int64_t grain = grain_for(sizes[0], std::max<int64_t>(1, 16384 / per_item));
  parallel_for(sizes[0], grain, [&](int64_t begin, int64_t end) {
    fn(args, sizes, begin, end);
  });
}

const GeneratedKernel *
GeneratedKernels::find(const std::string &signature) const {
  auto it = kernels_.find(signature);
  return it == kernels_.end() ? nullptr : it->second.get();
}

void GeneratedKernels::note_use(const GeneratedKernel &k,
                                const std::string &what) const {
  if (verbose_ && !k.reported.exchange(true))
    std::fprintf(stderr, "edg: generated kernel %s runs %s\n", k.name.c_str(),
                 what.c_str());
}

//===----------------------------------------------------------------------===//
// Matching runs of coarse steps
//===----------------------------------------------------------------------===//

std::vector<int> value_uses(const fb::Function &fn) {
  std::vector<int> uses(fn.values() ? fn.values()->size() : 0, 0);
  if (fn.steps())
    for (const fb::Step *s : *fn.steps())
      if (s->inputs())
        for (int32_t id : *s->inputs())
          ++uses[size_t(id)];
  if (fn.results())
    for (int32_t id : *fn.results())
      ++uses[size_t(id)];
  return uses;
}

namespace {
/// `%.9g`, as the compiler prints attributes in signatures.
std::string fmt(double v) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.9g", v);
  return text;
}

/// The signature of steps [first, first + n) and their operands/outputs.
FusedSteps spell(const fb::Function &fn, int first, int n,
                 const std::vector<int> &uses, int64_t width,
                 std::string &signature) {
  FusedSteps run;
  std::map<int32_t, int> produced; // value id -> step offset in the run
  std::map<int32_t, int> reads;    // value id -> reads inside the run
  std::string body;
  for (int k = 0; k < n; ++k) {
    const fb::Step *s = fn.steps()->Get(flatbuffers::uoffset_t(first + k));
    std::vector<StepOperand> operands;
    for (int32_t id : *s->inputs())
      operands.push_back({false, id});
    if (s->weights())
      for (int32_t id : *s->weights())
        operands.push_back({true, id});
    std::string args;
    for (const StepOperand &o : operands) {
      std::string name;
      auto p = produced.find(o.id);
      if (!o.weight && p != produced.end()) {
        name = "t" + std::to_string(p->second);
        ++reads[o.id];
      } else {
        size_t i = 0;
        while (i < run.inputs.size() && (run.inputs[i].weight != o.weight ||
                                         run.inputs[i].id != o.id))
          ++i;
        if (i == run.inputs.size())
          run.inputs.push_back(o);
        name = "i" + std::to_string(i);
      }
      args += (args.empty() ? "" : ",") + name;
    }
    std::string op = s->op() == fb::OpKind::rms_norm
                         ? "rms_norm[" + fmt(s->eps()) + "]"
                         : fb::EnumNameOpKind(s->op());
    body += (k ? ";" : "") + ("t" + std::to_string(k)) + "=" + op + "(" +
            args + ")";
    produced[s->outputs()->Get(0)] = k;
  }
  std::string results;
  for (int k = 0; k < n; ++k) {
    int32_t id = fn.steps()->Get(flatbuffers::uoffset_t(first + k))->outputs()->Get(0);
    if (uses[size_t(id)] > reads[id]) {
      results += (results.empty() ? "" : ",") + ("t" + std::to_string(k));
      run.outputs.push_back(id);
    }
  }
  signature = "row" + std::to_string(width) + ":" + body + "->" + results;
  return run;
}
} // namespace

FusedSteps match_steps(const GeneratedKernels &kernels, const fb::Function &fn,
                       int first, const std::vector<int> &uses, int64_t width) {
  auto step = [&](int i) -> const fb::Step * {
    return i < int(fn.steps()->size()) ? fn.steps()->Get(flatbuffers::uoffset_t(i))
                                       : nullptr;
  };
  auto out = [](const fb::Step *s) { return s->outputs()->Get(0); };
  const fb::Step *s0 = step(first);
  if (!s0 || s0->op() != fb::OpKind::rms_norm)
    return {};
  // Post-norm -> residual add -> next pre-norm: the add reads the norm, the
  // second norm reads the add.
  const fb::Step *s1 = step(first + 1), *s2 = step(first + 2);
  int n = 1;
  if (s1 && s2 && s1->op() == fb::OpKind::add &&
      s2->op() == fb::OpKind::rms_norm &&
      (s1->inputs()->Get(0) == out(s0) || s1->inputs()->Get(1) == out(s0)) &&
      s2->inputs()->Get(0) == out(s1))
    n = 3;
  for (; n >= 1; n -= 2) {
    std::string signature;
    FusedSteps run = spell(fn, first, n, uses, width, signature);
    if ((run.kernel = kernels.find(signature))) {
      run.steps = n;
      return run;
    }
  }
  return {};
}

} // namespace edg::cpu
