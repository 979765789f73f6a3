//===- train_state.cc - optimizer state and checkpoints ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See train_state.h. Everything is stored in fp32 exactly as held in memory,
// which is what makes a resumed run continue bit for bit.
//===----------------------------------------------------------------------===//
#include "runtime/core/train_state.h"

#include "runtime/core/safetensors.h"
#include "runtime/core/status.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <utility>
#include <unistd.h>

namespace edg {

namespace fs = std::filesystem;

namespace {
constexpr const char *kGlobalStep = "edg.global_step";
constexpr const char *kParamSteps = "edg.param_steps";

/// Renames `from` over `to` (a directory), keeping the old one until the new
/// one is in place.
void replace_directory(const fs::path &from, const fs::path &to) {
  std::error_code ec;
  fs::path old = to.string() + ".old." + std::to_string(::getpid());
  bool had = fs::exists(to, ec);
  if (had) {
    fs::remove_all(old, ec);
    fs::rename(to, old, ec);
    check(!ec, "cannot move the previous checkpoint ", to.string(),
          " aside: ", ec.message());
  }
  fs::rename(from, to, ec);
  if (ec) {
    if (had)
      fs::rename(old, to);
    fail("cannot rename ", from.string(), " to ", to.string(), ": ",
         ec.message());
  }
  if (had)
    fs::remove_all(old, ec);
}
} // namespace

Tensor &TrainState::moment(std::vector<Tensor> &set, int32_t index) {
  Tensor &t = set.at(size_t(index));
  // Read-only access: the mutable get() would count as a change of the
  // weight and make every cache of it (the device copy) stale.
  const Tensor &w = std::as_const(*weights_).get(index);
  if (t.shape() != w.shape())
    t = Tensor(DType::f32, w.shape());
  return t;
}

void TrainState::save(const std::string &dir,
                      const std::map<std::string, std::string> &metadata,
                      const std::vector<std::string> &copy_files) const {
  check(!dir.empty(), "save_checkpoint: the directory name is empty");
  fs::path target = fs::path(dir);
  if (target.filename().empty())
    target = target.parent_path(); // "ckpt/" -> "ckpt"
  fs::path tmp = target.string() + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  check(!ec, "save_checkpoint: cannot create ", tmp.string(), ": ",
        ec.message());
  try {
    std::vector<NamedTensor> weights, moments;
    nlohmann::json steps = nlohmann::json::object();
    for (size_t i = 0; i < names_.size(); ++i) {
      const Tensor &w = weights_->get(int32_t(i));
      weights.push_back({names_[i], w.shape(), w.data<float>(), DType::f32});
      if (exp_avg_[i].numel() == 0)
        continue; // never updated: no moments (zeros on load)
      moments.push_back({"exp_avg." + names_[i], w.shape(),
                         exp_avg_[i].data<float>(), DType::f32});
      moments.push_back({"exp_avg_sq." + names_[i], w.shape(),
                         exp_avg_sq_[i].data<float>(), DType::f32});
      steps[names_[i]] = param_steps_[i];
    }
    std::map<std::string, std::string> meta = metadata;
    meta[kGlobalStep] = std::to_string(global_step);
    meta[kParamSteps] = steps.dump();
    write_safetensors((tmp / "model.safetensors").string(), weights,
                      {{"format", "pt"}});
    write_safetensors((tmp / "optimizer.safetensors").string(), moments, meta);
    for (const std::string &file : copy_files) {
      fs::copy_file(file, tmp / fs::path(file).filename(),
                    fs::copy_options::overwrite_existing, ec);
      check(!ec, "save_checkpoint: cannot copy ", file, ": ", ec.message());
    }
    replace_directory(tmp, target);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

std::map<std::string, std::string> TrainState::load(const std::string &dir) {
  std::string path = (fs::path(dir) / "optimizer.safetensors").string();
  SafetensorsFile file = SafetensorsFile::open(path);
  std::map<std::string, std::string> meta = file.metadata();
  check(meta.count(kGlobalStep) && meta.count(kParamSteps), path,
        ": not an EDG optimizer state (no ", kGlobalStep, " / ", kParamSteps,
        " metadata)");
  nlohmann::json steps;
  try {
    global_step = std::stoll(meta[kGlobalStep]);
    steps = nlohmann::json::parse(meta[kParamSteps]);
  } catch (const std::exception &e) {
    fail(path, ": bad step metadata: ", e.what());
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    param_steps_[i] = steps.value(names_[i], int64_t(0));
    const std::string m = "exp_avg." + names_[i], v = "exp_avg_sq." + names_[i];
    if (!file.contains(m)) {
      exp_avg_[i] = Tensor();
      exp_avg_sq_[i] = Tensor();
      continue;
    }
    check(file.contains(v), path, ": has ", m, " but not ", v);
    Tensor &a = exp_avg(int32_t(i)), &b = exp_avg_sq(int32_t(i));
    for (auto [key, t] : {std::pair<const std::string &, Tensor &>{m, a}, {v, b}}) {
      const TensorInfo &info = file.info(key);
      check(info.shape == t.shape(), path, ": ", key, " has shape ",
            shape_str(info.shape), ", the weight is ", shape_str(t.shape()));
      convert_to_f32(info, t.data<float>());
    }
  }
  meta.erase(kGlobalStep);
  meta.erase(kParamSteps);
  return meta;
}

} // namespace edg
