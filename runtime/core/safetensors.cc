//===- safetensors.cc - Read and write safetensors checkpoints --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Reader: mmap the file, parse the JSON header with nlohmann-json, validate
// every entry against the data section, and keep a name -> TensorInfo table.
// A checkpoint is untrusted input, so every field is checked before use and
// each failure names the file, the tensor and the value at fault.
// Writer: build the header, pad it to 8 bytes, stream the (converted) tensor
// bytes into a temp file, fsync, rename.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/safetensors.h"

#include "runtime/core/half.h"
#include "runtime/core/status.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace edg {

namespace fs = std::filesystem;
using json = nlohmann::json;

int64_t TensorInfo::numel() const { return shape_numel(shape, name); }

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

namespace {

std::string errno_str() { return std::strerror(errno); }

/// Reads a JSON value that must be a non-negative integer fitting in int64.
int64_t json_nonneg_int(const json &v, const std::string &where,
                        const char *field, bool *negative = nullptr) {
  if (negative)
    *negative = false;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(INT64_MAX))
      fail(where, ": ", field, " value ", u, " is too large");
    return int64_t(u);
  }
  if (v.is_number_integer()) { // signed and negative
    if (negative) {
      *negative = true;
      return v.get<int64_t>();
    }
    fail(where, ": ", field, " value ", v.get<int64_t>(), " is negative");
  }
  fail(where, ": ", field, " must hold integers, got ", v.dump());
}

struct Span {
  uint64_t begin, end;
  const std::string *name;
};

} // namespace

SafetensorsFile::SafetensorsFile(SafetensorsFile &&o) noexcept
    : path_(std::move(o.path_)), map_(o.map_), map_size_(o.map_size_),
      tensors_(std::move(o.tensors_)), metadata_(std::move(o.metadata_)) {
  o.map_ = nullptr;
  o.map_size_ = 0;
}

SafetensorsFile &SafetensorsFile::operator=(SafetensorsFile &&o) noexcept {
  if (this != &o) {
    unmap();
    path_ = std::move(o.path_);
    map_ = o.map_;
    map_size_ = o.map_size_;
    tensors_ = std::move(o.tensors_);
    metadata_ = std::move(o.metadata_);
    o.map_ = nullptr;
    o.map_size_ = 0;
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { unmap(); }

void SafetensorsFile::unmap() {
  if (map_)
    ::munmap(map_, map_size_);
  map_ = nullptr;
  map_size_ = 0;
}

SafetensorsFile SafetensorsFile::open(const std::string &path) {
  const std::string where = "safetensors file '" + path + "'";
  SafetensorsFile f;
  f.path_ = path;

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(fd >= 0, "cannot open ", where, ": ", errno_str());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string e = errno_str();
    ::close(fd);
    fail("cannot stat ", where, ": ", e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(where, " is not a regular file");
  }
  const uint64_t file_size = uint64_t(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    fail(where, " is ", file_size,
         " bytes, shorter than the 8-byte header length prefix");
  }
  void *m = ::mmap(nullptr, size_t(file_size), PROT_READ, MAP_PRIVATE, fd, 0);
  std::string map_err = m == MAP_FAILED ? errno_str() : "";
  ::close(fd); // the mapping keeps the file alive
  check(m != MAP_FAILED, "cannot mmap ", where, ": ", map_err);
  f.map_ = m;
  f.map_size_ = size_t(file_size);
  const uint8_t *base = static_cast<const uint8_t *>(m);

  // u64 little-endian header length.
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | base[i];
  check(n <= kMaxSafetensorsHeaderBytes, where, ": header length ", n,
        " bytes is larger than the ", kMaxSafetensorsHeaderBytes,
        "-byte limit (corrupt or not a safetensors file)");
  check(n <= file_size - 8, where, ": header length ", n,
        " bytes runs past the end of the file (", file_size, " bytes)");
  check(n >= 2, where, ": header length ", n,
        " is too short to hold a JSON object");
  const uint64_t data_size = file_size - 8 - n;
  const uint8_t *data = base + 8 + n;

  // Parse, catching duplicate top-level keys (the JSON library would silently
  // keep the last one, hiding a second tensor of the same name).
  std::string dup_key;
  std::set<std::string> seen;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev,
                                   json &parsed) {
    if (ev == json::parse_event_t::key && depth == 1) {
      const std::string &k = parsed.get_ref<const std::string &>();
      if (!seen.insert(k).second && dup_key.empty())
        dup_key = k;
    }
    return true;
  };
  json header;
  try {
    const char *h = reinterpret_cast<const char *>(base + 8);
    header = json::parse(h, h + n, cb);
  } catch (const json::exception &e) {
    fail(where, ": header is not valid JSON: ", e.what());
  }
  check(header.is_object(), where, ": header must be a JSON object, got ",
        header.type_name());
  check(dup_key.empty(), where, ": header lists tensor '", dup_key,
        "' more than once");

  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string &name = it.key();
    const json &e = it.value();
    if (name == "__metadata__") {
      if (e.is_object())
        for (auto m2 = e.begin(); m2 != e.end(); ++m2)
          if (m2.value().is_string())
            f.metadata_[m2.key()] = m2.value().get<std::string>();
      continue;
    }
    const std::string tw = where + ", tensor '" + name + "'";
    check(e.is_object(), tw, ": entry must be a JSON object, got ",
          e.type_name());
    for (const char *field : {"dtype", "shape", "data_offsets"})
      check(e.contains(field), tw, ": entry is missing '", field, "'");

    TensorInfo info;
    info.name = name;
    const json &jd = e["dtype"];
    check(jd.is_string(), tw, ": dtype must be a string, got ", jd.dump());
    try {
      info.dtype = parse_dtype(jd.get<std::string>());
    } catch (const Error &err) {
      fail(tw, ": ", err.what());
    }

    const json &js = e["shape"];
    check(js.is_array(), tw, ": shape must be an array, got ", js.dump());
    for (const json &d : js) {
      bool neg = false;
      int64_t v = json_nonneg_int(d, tw, "shape", &neg);
      check(!neg, tw, ": shape ", js.dump(), " has negative dimension ", v);
      info.shape.push_back(v);
    }
    int64_t numel = 0;
    try {
      numel = shape_numel(info.shape, tw);
    } catch (const Error &err) {
      fail(err.what());
    }
    uint64_t nbytes = 0;
    check(!__builtin_mul_overflow(uint64_t(numel), dtype_size(info.dtype),
                                  &nbytes),
          tw, ": shape ", shape_str(info.shape), " is too large");

    const json &jo = e["data_offsets"];
    check(jo.is_array() && jo.size() == 2, tw,
          ": data_offsets must be [begin, end], got ", jo.dump());
    uint64_t begin = uint64_t(json_nonneg_int(jo[0], tw, "data_offsets"));
    uint64_t end = uint64_t(json_nonneg_int(jo[1], tw, "data_offsets"));
    check(begin <= end, tw, ": data_offsets [", begin, ", ", end,
          "] are reversed (begin > end)");
    check(end <= data_size, tw, ": data_offsets [", begin, ", ", end,
          "] run past the end of the data section (", data_size, " bytes)");
    check(end - begin == nbytes, tw, ": data_offsets [", begin, ", ", end,
          "] span ", end - begin, " bytes but ", jd.get<std::string>(),
          " shape ", shape_str(info.shape), " needs ", nbytes, " bytes");

    info.data = data + begin;
    info.nbytes = size_t(nbytes);
    auto ins = f.tensors_.emplace(name, std::move(info));
    if (nbytes > 0)
      spans.push_back({begin, end, &ins.first->first});
  }

  // Overlap check: after sorting by begin, each non-empty span must start at
  // or after the end of the one before it (which, once this holds, is also the
  // furthest end seen so far).
  std::sort(spans.begin(), spans.end(), [](const Span &a, const Span &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < spans.size(); ++i) {
    const Span &prev = spans[i - 1], &cur = spans[i];
    check(cur.begin >= prev.end, where, ": tensor '", *cur.name,
          "' data_offsets [", cur.begin, ", ", cur.end, "] overlap tensor '",
          *prev.name, "' [", prev.begin, ", ", prev.end, "]");
  }
  return f;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto &kv : tensors_)
    out.push_back(kv.first);
  return out;
}

bool SafetensorsFile::contains(const std::string &name) const {
  return tensors_.count(name) != 0;
}

const TensorInfo &SafetensorsFile::info(const std::string &name) const {
  auto it = tensors_.find(name);
  check(it != tensors_.end(), "tensor '", name,
        "' not found in safetensors file '", path_, "'");
  return it->second;
}

std::vector<float> SafetensorsFile::read_f32(const std::string &name) const {
  const TensorInfo &ti = info(name);
  std::vector<float> out(static_cast<size_t>(ti.numel()));
  try {
    convert_to_f32(ti, out.data());
  } catch (const Error &e) {
    fail(e.what(), " (in '", path_, "')");
  }
  return out;
}

void convert_to_f32(const TensorInfo &info, float *out) {
  const size_t n = size_t(info.numel());
  switch (info.dtype) {
  case DType::f32:
    if (n)
      std::memcpy(out, info.data, n * 4); // data may be unaligned
    return;
  case DType::bf16:
  case DType::f16: {
    const bool bf = info.dtype == DType::bf16;
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, info.data + 2 * i, 2);
      out[i] = bf ? bf16_to_f32(h) : f16_to_f32(h);
    }
    return;
  }
  default:
    fail("tensor '", info.name, "' has dtype ",
         dtype_safetensors_name(info.dtype),
         "; only F32, BF16 and F16 tensors can be read as f32");
  }
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

Checkpoint Checkpoint::open(const std::string &path_in) {
  Checkpoint ck;
  fs::path p(path_in);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "model.safetensors.index.json", ec))
      p = p / "model.safetensors.index.json";
    else if (fs::exists(p / "model.safetensors", ec))
      p = p / "model.safetensors";
    else
      fail("checkpoint folder '", path_in,
           "' holds neither model.safetensors.index.json nor "
           "model.safetensors");
  }
  ck.path_ = p.string();
  const std::string fname = p.filename().string();
  const bool is_index =
      fname.size() >= 5 && fname.compare(fname.size() - 5, 5, ".json") == 0;

  if (!is_index) {
    ck.shards_.push_back(SafetensorsFile::open(ck.path_));
    for (const std::string &n : ck.shards_[0].names())
      ck.where_[n] = 0;
    return ck;
  }

  const std::string where = "checkpoint index '" + ck.path_ + "'";
  std::ifstream in(ck.path_, std::ios::binary);
  check(bool(in), "cannot open ", where, ": ", errno_str());
  std::stringstream ss;
  ss << in.rdbuf();
  json idx;
  try {
    idx = json::parse(ss.str());
  } catch (const json::exception &e) {
    fail(where, " is not valid JSON: ", e.what());
  }
  check(idx.is_object() && idx.contains("weight_map") &&
            idx["weight_map"].is_object(),
        where, " has no 'weight_map' object");

  // Open each distinct shard once, in sorted order for determinism.
  std::map<std::string, size_t> shard_index;
  const json &wm = idx["weight_map"];
  for (auto it = wm.begin(); it != wm.end(); ++it) {
    check(it.value().is_string(), where, ": weight_map entry '", it.key(),
          "' must name a shard file, got ", it.value().dump());
    shard_index.emplace(it.value().get<std::string>(), 0);
  }
  const fs::path dir = p.parent_path();
  for (auto &kv : shard_index) {
    fs::path rel(kv.first);
    bool escapes = rel.is_absolute() || rel.empty();
    for (const auto &part : rel)
      escapes |= part == "..";
    check(!escapes, where, ": shard path '", kv.first,
          "' must be a relative path inside the index's folder");
    kv.second = ck.shards_.size();
    ck.shards_.push_back(SafetensorsFile::open((dir / rel).string()));
  }

  // Union of all shards; a name in two shards is ambiguous.
  for (size_t s = 0; s < ck.shards_.size(); ++s)
    for (const std::string &n : ck.shards_[s].names()) {
      auto ins = ck.where_.emplace(n, s);
      check(ins.second, where, ": tensor '", n, "' appears in both '",
            ck.shards_[ins.first->second].path(), "' and '",
            ck.shards_[s].path(), "'");
    }
  // Every weight_map entry must be where the index says it is.
  for (auto it = wm.begin(); it != wm.end(); ++it) {
    const SafetensorsFile &sh =
        ck.shards_[shard_index.at(it.value().get<std::string>())];
    check(sh.contains(it.key()), where, " maps tensor '", it.key(), "' to '",
          sh.path(), "', which does not contain it");
  }
  return ck;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto &kv : where_)
    out.push_back(kv.first);
  return out;
}

bool Checkpoint::contains(const std::string &name) const {
  return where_.count(name) != 0;
}

const std::string &Checkpoint::file_of(const std::string &name) const {
  auto it = where_.find(name);
  check(it != where_.end(), "tensor '", name, "' not found in checkpoint '",
        path_, "'");
  return shards_[it->second].path();
}

const TensorInfo &Checkpoint::info(const std::string &name) const {
  auto it = where_.find(name);
  check(it != where_.end(), "tensor '", name, "' not found in checkpoint '",
        path_, "'");
  return shards_[it->second].info(name);
}

std::vector<float> Checkpoint::read_f32(const std::string &name) const {
  auto it = where_.find(name);
  check(it != where_.end(), "tensor '", name, "' not found in checkpoint '",
        path_, "'");
  return shards_[it->second].read_f32(name);
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

namespace {

/// Writes all of [p, p+n) to fd, retrying on EINTR and short writes.
bool write_all(int fd, const void *p, size_t n) {
  const char *c = static_cast<const char *>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    c += w;
    n -= size_t(w);
  }
  return true;
}

} // namespace

void write_safetensors(const std::string &path,
                       const std::vector<NamedTensor> &tensors,
                       const std::map<std::string, std::string> &metadata) {
  const std::string where = "writing safetensors file '" + path + "'";

  // Validate and lay out: tensors are packed back to back in the given order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto &kv : metadata)
      m[kv.first] = kv.second;
    header["__metadata__"] = m;
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  std::vector<int64_t> numels;
  for (const NamedTensor &t : tensors) {
    check(!t.name.empty(), where, ": a tensor has an empty name");
    check(t.name != "__metadata__", where,
          ": '__metadata__' is reserved and cannot name a tensor");
    check(names.insert(t.name).second, where, ": tensor '", t.name,
          "' is given twice");
    check(t.dtype == DType::f32 || t.dtype == DType::bf16 ||
              t.dtype == DType::f16,
          where, ": tensor '", t.name, "' asks for dtype ", dtype_name(t.dtype),
          "; the writer stores F32, BF16 or F16");
    int64_t numel = shape_numel(t.shape, "tensor '" + t.name + "'");
    check(numel == 0 || t.data != nullptr, where, ": tensor '", t.name,
          "' has no data");
    uint64_t nbytes = uint64_t(numel) * dtype_size(t.dtype);
    nlohmann::ordered_json e;
    e["dtype"] = dtype_safetensors_name(t.dtype);
    e["shape"] = t.shape;
    e["data_offsets"] = {offset, offset + nbytes};
    header[t.name] = e;
    offset += nbytes;
    numels.push_back(numel);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' '); // data section starts 8-aligned
  uint8_t len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = uint8_t(uint64_t(h.size()) >> (8 * i));

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, where, ": cannot create temp file '", tmp, "': ", errno_str());
  auto abort_write = [&](const std::string &what) {
    std::string e = errno_str();
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(where, ": ", what, " '", tmp, "' failed: ", e);
  };

  if (!write_all(fd, len, 8) || !write_all(fd, h.data(), h.size()))
    abort_write("write to");
  std::vector<uint16_t> buf;
  const size_t chunk = size_t(1) << 20;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const NamedTensor &t = tensors[i];
    const size_t n = size_t(numels[i]);
    if (t.dtype == DType::f32) {
      if (n && !write_all(fd, t.data, n * 4))
        abort_write("write to");
      continue;
    }
    for (size_t s = 0; s < n; s += chunk) {
      size_t m = std::min(chunk, n - s);
      buf.resize(m);
      for (size_t j = 0; j < m; ++j)
        buf[j] = t.dtype == DType::bf16 ? f32_to_bf16(t.data[s + j])
                                        : f32_to_f16(t.data[s + j]);
      if (!write_all(fd, buf.data(), m * 2))
        abort_write("write to");
    }
  }
  if (::fsync(fd) != 0)
    abort_write("fsync of");
  if (::close(fd) != 0) {
    std::string e = errno_str();
    ::unlink(tmp.c_str());
    fail(where, ": close of '", tmp, "' failed: ", e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string e = errno_str();
    ::unlink(tmp.c_str());
    fail(where, ": rename of '", tmp, "' failed: ", e);
  }
  // Make the rename itself durable.
  std::string dir = fs::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

} // namespace edg
