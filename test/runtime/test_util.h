//===- test_util.h - Shared helpers for the runtime unit tests --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Random inputs with fixed seeds, a per-test scratch directory, and a
// gtest predicate for "every element within tolerance of a double-precision
// reference" that reports the first offending index.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_TEST_RUNTIME_TEST_UTIL_H
#define EDG_TEST_RUNTIME_TEST_UTIL_H

#include "runtime/core/status.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace edg::test {

inline std::vector<float> random_floats(size_t n, unsigned seed,
                                        float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

/// Every |got[i] - want[i]| <= atol + rtol * |want[i]|.
inline ::testing::AssertionResult all_close(const float *got,
                                            const double *want, size_t n,
                                            double atol, double rtol) {
  for (size_t i = 0; i < n; ++i) {
    const double err = std::fabs(double(got[i]) - want[i]);
    if (!(err <= atol + rtol * std::fabs(want[i])))
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", want " << want[i]
             << " (error " << err << ", atol " << atol << ", rtol " << rtol
             << ")";
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult all_close(const std::vector<float> &got,
                                            const std::vector<double> &want,
                                            double atol, double rtol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << "size " << got.size() << " != " << want.size();
  return all_close(got.data(), want.data(), got.size(), atol, rtol);
}

/// A fresh directory under the gtest temp dir, removed at destruction.
class ScratchDir {
public:
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "edg-rt-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char *p = ::mkdtemp(buf.data());
    if (!p)
      throw Error("mkdtemp failed for " + tmpl);
    path_ = p;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// Runs `fn`, expects edg::Error, and checks that its message contains every
/// one of `needles`.
template <class Fn>
::testing::AssertionResult
throws_with(Fn &&fn, std::initializer_list<const char *> needles) {
  try {
    fn();
  } catch (const Error &e) {
    const std::string msg = e.what();
    for (const char *n : needles)
      if (msg.find(n) == std::string::npos)
        return ::testing::AssertionFailure()
               << "message \"" << msg << "\" lacks \"" << n << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception &e) {
    return ::testing::AssertionFailure()
           << "threw a non-edg::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

} // namespace edg::test

#endif // EDG_TEST_RUNTIME_TEST_UTIL_H
