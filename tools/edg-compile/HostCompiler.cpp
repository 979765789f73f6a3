//===- HostCompiler.cpp - generated C++ -> shared object --------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Writes the source to a private temporary file, runs the host compiler on
// it and reads the shared object back. Temporaries are removed whatever
// happens; a compiler failure returns its full output so that a codegen bug
// shows the offending generated line.
//===----------------------------------------------------------------------===//
#include "tools/edg-compile/KernelCompilers.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <sstream>

using namespace llvm;

namespace {
/// Removes a temporary file when it goes out of scope.
struct TempFile {
  SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      sys::fs::remove(path);
  }
};

std::vector<std::string> splitFlags(const char *text) {
  std::vector<std::string> out;
  std::istringstream in(text ? text : "");
  for (std::string word; in >> word;)
    out.push_back(word);
  return out;
}
} // namespace

std::string edg::tools::hostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

Expected<std::vector<uint8_t>>
edg::tools::compileSharedObject(StringRef source) {
  std::vector<std::string> compiler = splitFlags(std::getenv("CXX"));
  if (compiler.empty())
    compiler.push_back("c++");
  ErrorOr<std::string> program = sys::findProgramByName(compiler[0]);
  if (!program)
    return createStringError(program.getError(),
                             "cannot find the host C++ compiler '" +
                                 compiler[0] + "' (set $CXX)");
  TempFile src, so, log;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("edg-kernels", "cc", src.path))
    return createStringError(ec, "cannot create a temporary file");
  if (std::error_code ec =
          sys::fs::createTemporaryFile("edg-kernels", "so", so.path))
    return createStringError(ec, "cannot create a temporary file");
  if (std::error_code ec =
          sys::fs::createTemporaryFile("edg-kernels", "log", log.path))
    return createStringError(ec, "cannot create a temporary file");
  {
    std::error_code ec;
    raw_fd_ostream out(src.path, ec);
    if (ec)
      return createStringError(ec, "cannot write " + src.path.str());
    out << source;
  }

  std::vector<std::string> args = compiler;
  for (const char *flag : {"-std=c++17", "-O3", "-fPIC", "-shared",
                           "-fopenmp-simd", "-fno-trapping-math", "-w"})
    args.push_back(flag);
  if (hostArch() == "x86_64") {
    args.push_back("-mavx2");
    args.push_back("-mfma");
  }
  for (const std::string &flag : splitFlags(std::getenv("EDG_CPU_CXXFLAGS")))
    args.push_back(flag);
  args.push_back("-o");
  args.push_back(so.path.str().str());
  args.push_back(src.path.str().str());
  SmallVector<StringRef> argRefs(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, log.path.str(),
                                          log.path.str()};
  std::string message;
  int rc = sys::ExecuteAndWait(*program, argRefs, std::nullopt, redirects,
                               /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                               &message);
  if (rc != 0) {
    auto text = MemoryBuffer::getFile(log.path);
    return createStringError(
        inconvertibleErrorCode(),
        "the host compiler failed on the generated C++ (" + *program +
            (message.empty() ? "" : ": " + message) + "):\n" +
            (text ? (*text)->getBuffer().str() : std::string()));
  }
  auto object = MemoryBuffer::getFile(so.path, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
  if (!object)
    return createStringError(object.getError(),
                             "cannot read the compiled kernels");
  StringRef bytes = (*object)->getBuffer();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}
