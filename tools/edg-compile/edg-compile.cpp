//===- edg-compile.cpp - compile a graph-level module to model.bin -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-compile model.mlir -o model.bin [--target=cpu] [--max-batch N]
// [--max-seq N] [--emit=mlir]`: parses and verifies the module, schedules
// every entry function and writes the model file atomically (temp + rename),
// so a failed compile never leaves a half-written model.bin behind.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGOps.h"
#include "passes/Conversion/EDGToModelBin/ExportModel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.mlir>"),
                                      cl::init("-"));
static cl::opt<std::string> outputFile("o", cl::desc("output model.bin"),
                                       cl::value_desc("path"),
                                       cl::init("model.bin"));
static cl::opt<std::string> target("target", cl::desc("cpu | cuda | all"),
                                   cl::init("cpu"));
static cl::opt<int64_t> maxBatch("max-batch",
                                 cl::desc("largest batch the model accepts"),
                                 cl::init(8));
static cl::opt<int64_t> maxSeq("max-seq",
                               cl::desc("longest sequence the model accepts"),
                               cl::init(2048));
static cl::opt<std::string> emit("emit",
                                 cl::desc("print instead of writing: mlir"),
                                 cl::init(""));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "edg-compile") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "EDG compiler: model.mlir -> model.bin\n");
  if (target != "cpu")
    return fail("--target=" + target +
                " is not available yet; this build compiles for --target=cpu");
  if (maxBatch <= 0 || maxSeq <= 0)
    return fail("--max-batch and --max-seq must be > 0");
  if (!emit.empty() && emit != "mlir")
    return fail("--emit=" + emit + " is not supported (use --emit=mlir)");

  DialectRegistry registry;
  registry.insert<edg::EDGDialect, func::FuncDialect, arith::ArithDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  std::string error;
  auto input = openInputFile(inputFile, &error);
  if (!input)
    return fail(error);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return fail("could not parse " + inputFile);
  if (failed(verify(*module)))
    return fail(inputFile + " does not verify");

  if (emit == "mlir") {
    module->print(llvm::outs());
    return 0;
  }

  std::vector<uint8_t> bytes;
  edg::ExportOptions options;
  options.maxBatch = maxBatch;
  options.maxSeq = maxSeq;
  if (failed(edg::exportModel(*module, options, bytes)))
    return fail("could not compile " + inputFile);

  // Atomic write: ToolOutputFile writes to the final path only on keep();
  // write to a temp file next to it and rename for crash safety.
  std::string tmp = outputFile + ".tmp";
  {
    auto out = openOutputFile(tmp, &error);
    if (!out)
      return fail(error);
    out->os().write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    out->os().flush();
    if (out->os().has_error())
      return fail("could not write " + tmp);
    out->keep();
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, outputFile))
    return fail("could not rename " + tmp + " to " + outputFile + ": " +
                ec.message());
  llvm::errs() << "edg-compile: wrote " << outputFile << " (" << bytes.size()
               << " bytes)\n";
  return 0;
}
