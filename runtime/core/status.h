//===- status.h - The runtime's one error type ------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Every failure the runtime reports to a caller is an edg::Error carrying a
// message a user can act on: it names the file, the tensor and the offending
// value. Internal invariants use assert; anything that depends on user input
// (files, ids, shapes, parameters) throws edg::Error instead.
//
//===----------------------------------------------------------------------===//
#ifndef EDG_RUNTIME_CORE_STATUS_H
#define EDG_RUNTIME_CORE_STATUS_H

#include <sstream>
#include <stdexcept>
#include <string>

namespace edg {

/// The runtime's single exception type.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args> std::string concat(const Args &...args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
} // namespace detail

/// Throws edg::Error with the streamed concatenation of `args`.
template <class... Args> [[noreturn]] void fail(const Args &...args) {
  throw Error(detail::concat(args...));
}

/// Throws edg::Error(args...) unless `cond` holds. The message is only built on
/// failure.
template <class... Args> inline void check(bool cond, const Args &...args) {
  if (!cond)
    fail(args...);
}

} // namespace edg

#endif // EDG_RUNTIME_CORE_STATUS_H
