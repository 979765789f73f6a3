//===- safetensors_test.cc - safetensors reader, writer, shards -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Round trips through write_safetensors (f32/bf16/f16, metadata, empty and
// scalar tensors), the atomic-write contract, one hand-crafted hostile file
// per validation rule (each must raise edg::Error whose message names the
// problem), and the sharded Checkpoint index.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/safetensors.h"

#include "runtime/core/half.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace edg {
namespace {

namespace fs = std::filesystem;
using test::ScratchDir;
using test::throws_with;

/// Writes a raw safetensors-like file: 8-byte length (header.size() unless
/// overridden), header text, data bytes.
void write_raw(const std::string &path, const std::string &header,
               const std::string &data, int64_t len_override = -1) {
  std::ofstream out(path, std::ios::binary);
  uint64_t n = len_override >= 0 ? uint64_t(len_override) : header.size();
  for (int i = 0; i < 8; ++i)
    out.put(char((n >> (8 * i)) & 0xFF));
  out << header << data;
}

std::vector<std::string> dir_entries(const std::string &dir) {
  std::vector<std::string> out;
  for (const auto &e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Safetensors, WriteThenReadAllDtypes) {
  ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  std::vector<float> a = test::random_floats(6, 1, -100, 100);
  std::vector<float> b = test::random_floats(12, 2);
  std::vector<float> c = test::random_floats(5, 3);
  float scalar = 3.25f;
  write_safetensors(path,
                    {{"layer.a", {2, 3}, a.data(), DType::f32},
                     {"layer.b", {3, 4}, b.data(), DType::bf16},
                     {"c", {5}, c.data(), DType::f16},
                     {"empty", {0, 7}, nullptr, DType::f32},
                     {"scalar", {}, &scalar, DType::f32}},
                    {{"format", "pt"}});

  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.size(), 5u);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"c", "empty", "layer.a",
                                                 "layer.b", "scalar"}));
  EXPECT_EQ(f.metadata().at("format"), "pt");

  const TensorInfo &ia = f.info("layer.a");
  EXPECT_EQ(ia.dtype, DType::f32);
  EXPECT_EQ(ia.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ia.nbytes, 24u);
  EXPECT_EQ(f.read_f32("layer.a"), a);

  std::vector<float> rb = f.read_f32("layer.b");
  EXPECT_EQ(f.info("layer.b").dtype, DType::bf16);
  for (size_t i = 0; i < b.size(); ++i)
    EXPECT_EQ(rb[i], bf16_to_f32(f32_to_bf16(b[i])));
  std::vector<float> rc = f.read_f32("c");
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_EQ(rc[i], f16_to_f32(f32_to_f16(c[i])));

  EXPECT_EQ(f.info("empty").numel(), 0);
  EXPECT_TRUE(f.read_f32("empty").empty());
  EXPECT_EQ(f.read_f32("scalar"), std::vector<float>{3.25f});

  // The data section starts 8-byte aligned.
  std::ifstream in(path, std::ios::binary);
  uint8_t len[8];
  in.read(reinterpret_cast<char *>(len), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | len[i];
  EXPECT_EQ((8 + n) % 8, 0u);
}

TEST(Safetensors, AtomicWriteLeavesNoTempFile) {
  ScratchDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  std::vector<float> v1 = {1, 2, 3}, v2 = {4, 5};
  write_safetensors(path, {{"w", {3}, v1.data()}});
  EXPECT_EQ(dir_entries(dir.path()),
            std::vector<std::string>{"ckpt.safetensors"});
  // Overwriting replaces the file in one step.
  write_safetensors(path, {{"w", {2}, v2.data()}});
  EXPECT_EQ(dir_entries(dir.path()),
            std::vector<std::string>{"ckpt.safetensors"});
  EXPECT_EQ(SafetensorsFile::open(path).read_f32("w"), v2);
  // A failing write (missing folder) throws and leaves nothing behind.
  EXPECT_TRUE(throws_with(
      [&] {
        write_safetensors(dir.file("no/such/x.safetensors"),
                          {{"w", {3}, v1.data()}});
      },
      {"cannot create temp file", "no/such/x.safetensors.tmp."}));
  EXPECT_EQ(dir_entries(dir.path()),
            std::vector<std::string>{"ckpt.safetensors"});
}

TEST(Safetensors, WriterRejectsBadInput) {
  ScratchDir dir;
  const std::string path = dir.file("bad.safetensors");
  std::vector<float> v = {1, 2};
  EXPECT_TRUE(throws_with(
      [&] {
        write_safetensors(path, {{"w", {2}, v.data()}, {"w", {2}, v.data()}});
      },
      {"tensor 'w' is given twice"}));
  EXPECT_TRUE(throws_with(
      [&] {
        write_safetensors(path, {{"w", {2}, v.data(), DType::i32}});
      },
      {"tensor 'w'", "dtype i32"}));
  EXPECT_TRUE(throws_with(
      [&] {
        write_safetensors(path, {{"w", {2}, nullptr}});
      },
      {"tensor 'w' has no data"}));
  EXPECT_TRUE(throws_with(
      [&] {
        write_safetensors(path, {{"__metadata__", {2}, v.data()}});
      },
      {"reserved"}));
  EXPECT_TRUE(throws_with(
      [&] {
        write_safetensors(path, {{"w", {-2}, v.data()}});
      },
      {"negative dimension -2"}));
  EXPECT_TRUE(dir_entries(dir.path()).empty());
}

//===----------------------------------------------------------------------===//
// Hostile files: one corruption per test case.
//===----------------------------------------------------------------------===//

struct Hostile {
  const char *what;
  std::string header;
  std::string data;
  int64_t len_override;
  std::vector<const char *> expect; // substrings of the message
};

void PrintTo(const Hostile &h, std::ostream *os) { *os << h.what; }

class SafetensorsHostile : public ::testing::TestWithParam<Hostile> {};

TEST_P(SafetensorsHostile, RaisesAClearError) {
  const Hostile &h = GetParam();
  ScratchDir dir;
  const std::string path = dir.file("hostile.safetensors");
  write_raw(path, h.header, h.data, h.len_override);
  try {
    SafetensorsFile::open(path);
    FAIL() << h.what << ": no error";
  } catch (const Error &e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const char *s : h.expect)
      EXPECT_NE(msg.find(s), std::string::npos)
          << h.what << ": message \"" << msg << "\" lacks \"" << s << "\"";
  }
}

const std::string k16(16, '\0');

INSTANTIATE_TEST_SUITE_P(
    Corruptions, SafetensorsHostile,
    ::testing::Values(
        Hostile{"header length past EOF",
                "{}",
                "",
                1000,
                {"header length 1000", "past the end of the file"}},
        Hostile{"absurd header length",
                "{}",
                "",
                int64_t(1) << 40,
                {"larger than the 100000000-byte limit"}},
        Hostile{"not JSON", "{\"a\": [1, 2", "", -1, {"not valid JSON"}},
        Hostile{"not an object",
                "[1, 2, 3]",
                "",
                -1,
                {"must be a JSON object", "array"}},
        Hostile{"entry not an object",
                "{\"w\": 5}",
                "",
                -1,
                {"tensor 'w'", "must be a JSON object"}},
        Hostile{"missing dtype",
                R"({"w": {"shape": [2], "data_offsets": [0, 8]}})",
                k16,
                -1,
                {"tensor 'w'", "missing 'dtype'"}},
        Hostile{"missing shape",
                R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})",
                k16,
                -1,
                {"tensor 'w'", "missing 'shape'"}},
        Hostile{"missing data_offsets",
                R"({"w": {"dtype": "F32", "shape": [2]}})",
                k16,
                -1,
                {"tensor 'w'", "missing 'data_offsets'"}},
        Hostile{
            "unknown dtype",
            R"({"w": {"dtype": "F8", "shape": [2], "data_offsets": [0, 2]}})",
            k16,
            -1,
            {"tensor 'w'", "unknown dtype 'F8'"}},
        Hostile{"dtype not a string",
                R"({"w": {"dtype": 4, "shape": [2], "data_offsets": [0, 8]}})",
                k16,
                -1,
                {"tensor 'w'", "dtype must be a string"}},
        Hostile{
            "reversed offsets",
            R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})",
            k16,
            -1,
            {"tensor 'w'", "[8, 0]", "reversed"}},
        Hostile{
            "offsets past the data",
            R"({"w": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]}})",
            k16,
            -1,
            {"tensor 'w'", "past the end of the data section (16 bytes)"}},
        Hostile{"overlapping tensors",
                R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                k16,
                -1,
                {"tensor 'b'", "overlap tensor 'a'"}},
        Hostile{
            "byte size mismatch",
            R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]}})",
            k16,
            -1,
            {"tensor 'w'", "span 8 bytes", "needs 16 bytes"}},
        Hostile{
            "negative dim",
            R"({"w": {"dtype": "F32", "shape": [-2, 2], "data_offsets": [0, 8]}})",
            k16,
            -1,
            {"tensor 'w'", "negative dimension -2"}},
        Hostile{
            "fractional dim",
            R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 8]}})",
            k16,
            -1,
            {"tensor 'w'", "must hold integers", "1.5"}},
        Hostile{
            "negative offset",
            R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})",
            k16,
            -1,
            {"tensor 'w'", "negative"}},
        Hostile{
            "three offsets",
            R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 9]}})",
            k16,
            -1,
            {"tensor 'w'", "[begin, end]"}},
        Hostile{
            "huge shape",
            R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})",
            k16,
            -1,
            {"tensor 'w'", "int64"}},
        Hostile{"duplicate names",
                R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                k16,
                -1,
                {"tensor 'w' more than once"}}),
    [](const ::testing::TestParamInfo<Hostile> &info) {
      std::string n = info.param.what;
      for (char &c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)))
          c = '_';
      return n;
    });

TEST(Safetensors, ShortFile) {
  ScratchDir dir;
  const std::string path = dir.file("short.safetensors");
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_TRUE(
      throws_with([&] { SafetensorsFile::open(path); },
                  {path.c_str(), "is 3 bytes", "shorter than the 8-byte"}));
}

TEST(Safetensors, MissingFileAndTensor) {
  ScratchDir dir;
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(dir.file("nope")); },
                          {"cannot open", "nope", "No such file"}));
  const std::string path = dir.file("m.safetensors");
  std::vector<float> v = {1};
  write_safetensors(path, {{"w", {1}, v.data()}});
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_FALSE(f.contains("x"));
  EXPECT_TRUE(throws_with([&] { f.info("x"); },
                          {"tensor 'x' not found", path.c_str()}));
}

TEST(Safetensors, MetadataIsIgnoredAndNonFloatReadsFail) {
  ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  write_raw(path,
            R"({"__metadata__": {"format": "pt", "n": 3, "o": {}},
                "ids": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]},
                "z": {"dtype": "BF16", "shape": [0], "data_offsets": [8, 8]},
                "h": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}})",
            std::string("\x01\0\0\0\x02\0\0\0\x00\x3c\x01\x00", 12));
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"h", "ids", "z"}));
  EXPECT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.info("ids").dtype, DType::i32);
  int32_t ids[2];
  std::memcpy(ids, f.info("ids").data, 8);
  EXPECT_EQ(ids[1], 2);
  // F16 0x3C00 = 1.0, 0x0001 = 2^-24 (a subnormal).
  EXPECT_EQ(f.read_f32("h"), (std::vector<float>{1.0f, std::ldexp(1.0f, -24)}));
  EXPECT_TRUE(throws_with([&] { f.read_f32("ids"); },
                          {"tensor 'ids'", "dtype I32", path.c_str()}));
  // Moving the file keeps its mapping valid.
  SafetensorsFile g = std::move(f);
  EXPECT_EQ(g.read_f32("h")[0], 1.0f);
}

//===----------------------------------------------------------------------===//
// Sharded checkpoints
//===----------------------------------------------------------------------===//

void write_index(const std::string &path, const std::string &weight_map) {
  std::ofstream(path) << R"({"metadata": {"total_size": 0}, "weight_map": )"
                      << weight_map << "}";
}

TEST(Checkpoint, ShardedIndexUnionsShards) {
  ScratchDir dir;
  std::vector<float> a = {1, 2}, b = {3, 4, 5}, c = {6};
  write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                    {{"a", {2}, a.data()}, {"b", {3}, b.data()}});
  write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                    {{"c", {1}, c.data(), DType::bf16}});
  write_index(dir.file("model.safetensors.index.json"),
              R"({"a": "model-00001-of-00002.safetensors",
                  "b": "model-00001-of-00002.safetensors",
                  "c": "model-00002-of-00002.safetensors"})");
  for (const std::string &p :
       {dir.file("model.safetensors.index.json"), dir.path()}) {
    Checkpoint ck = Checkpoint::open(p);
    EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(ck.shards().size(), 2u);
    EXPECT_EQ(ck.read_f32("b"), b);
    EXPECT_EQ(ck.read_f32("c"), c);
    EXPECT_EQ(ck.info("c").dtype, DType::bf16);
    EXPECT_NE(ck.file_of("c").find("00002"), std::string::npos);
    EXPECT_TRUE(throws_with([&] { ck.info("zz"); }, {"tensor 'zz' not found"}));
  }
}

TEST(Checkpoint, SingleFile) {
  ScratchDir dir;
  std::vector<float> a = {1, 2};
  write_safetensors(dir.file("model.safetensors"), {{"a", {2}, a.data()}});
  EXPECT_EQ(Checkpoint::open(dir.file("model.safetensors")).read_f32("a"), a);
  EXPECT_EQ(Checkpoint::open(dir.path()).names(),
            std::vector<std::string>{"a"});
}

TEST(Checkpoint, IndexErrors) {
  ScratchDir dir;
  std::vector<float> a = {1, 2};
  write_safetensors(dir.file("s1.safetensors"), {{"a", {2}, a.data()}});
  write_safetensors(dir.file("s2.safetensors"), {{"a", {2}, a.data()}});
  const std::string idx = dir.file("model.safetensors.index.json");

  write_index(idx, R"({"a": "s1.safetensors", "x": "s2.safetensors"})");
  EXPECT_TRUE(throws_with(
      [&] { Checkpoint::open(idx); },
      {"tensor 'a' appears in both", "s1.safetensors", "s2.safetensors"}));
  write_index(idx, R"({"a": "s1.safetensors", "b": "s1.safetensors"})");
  EXPECT_TRUE(throws_with([&] { Checkpoint::open(idx); },
                          {"maps tensor 'b'", "does not contain it"}));
  write_index(idx, R"({"a": "missing.safetensors"})");
  EXPECT_TRUE(throws_with([&] { Checkpoint::open(idx); },
                          {"cannot open", "missing.safetensors"}));
  write_index(idx, R"({"a": "../s1.safetensors"})");
  EXPECT_TRUE(throws_with([&] { Checkpoint::open(idx); },
                          {"'../s1.safetensors'", "relative path inside"}));
  write_index(idx, R"({"a": 3})");
  EXPECT_TRUE(throws_with([&] { Checkpoint::open(idx); },
                          {"weight_map entry 'a'", "must name a shard"}));
  std::ofstream(idx) << R"({"metadata": {}})";
  EXPECT_TRUE(throws_with([&] { Checkpoint::open(idx); }, {"no 'weight_map'"}));
  std::ofstream(idx) << "{oops";
  EXPECT_TRUE(throws_with([&] { Checkpoint::open(idx); },
                          {"not valid JSON", idx.c_str()}));
  ScratchDir empty;
  EXPECT_TRUE(
      throws_with([&] { Checkpoint::open(empty.path()); }, {"holds neither"}));
}

} // namespace
} // namespace edg
