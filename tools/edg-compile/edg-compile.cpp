//===- edg-compile.cpp - compile a graph-level module to model.bin -*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// `edg-compile model.mlir -o model.bin [--target=cpu|cuda|all]
// [--cuda-arch=sm_80,sm_90a] [--max-batch N] [--max-seq N]
// [--emit=mlir|cpp|cuda|schedule]`
//
// Parses and verifies the module, then:
//   1. exports the coarse schedule (one step per graph-level op, what the
//      runtime executes) exactly as before;
//   2. lowers a copy through edg-compile-pipeline (decompose, fuse,
//      lower-to-kernels, plan-memory) and emits the kernels: C++ compiled by
//      the host compiler into a shared object (target cpu), CUDA compiled by
//      NVRTC to a cubin per --cuda-arch plus compute_80 PTX (target cuda);
//      each is stored as a model.bin KernelBinary (the CUDA source too);
//      with CUDA, the kernel-level schedule of every inference entry
//      function is stored as well (DeviceFunction: what a device executor
//      walks, passes/Conversion/EDGToModelBin/DeviceSchedule.h);
//   3. writes the model file atomically (temp + rename), so a failed compile
//      never leaves a half-written model.bin behind.
// --emit prints the lowered IR, the generated source or the stored
// kernel-level schedule (as read back from the model bytes) instead of
// writing.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGOps.h"
#include "passes/Conversion/EDGToModelBin/DeviceSchedule.h"
#include "passes/Conversion/EDGToModelBin/ExportModel.h"
#include "passes/Conversion/EDGToModelBin/KernelBinaries.h"
#include "passes/KernelUtils.h"
#include "tools/edg-compile/KernelCompilers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Regex.h"
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
static cl::opt<std::string>
    target("target", cl::desc("kernels to generate: cpu | cuda | all"),
           cl::init("cpu"));
static cl::opt<std::string>
    cudaArch("cuda-arch",
             cl::desc("comma-separated GPU architectures for cubins "
                      "(compute_80 PTX is always added)"),
             cl::init("sm_80,sm_90a"));
static cl::opt<int64_t> maxBatch("max-batch",
                                 cl::desc("largest batch the model accepts"),
                                 cl::init(8));
static cl::opt<int64_t> maxSeq("max-seq",
                               cl::desc("longest sequence the model accepts"),
                               cl::init(2048));
static cl::opt<std::string>
    emit("emit",
         cl::desc("print instead of writing: mlir (the lowered kernel-level "
                  "IR), cpp or cuda (the generated source), schedule (the "
                  "kernel-level schedule model.bin stores)"),
         cl::init(""));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "edg-compile") << message << "\n";
  return 1;
}

static int fail(llvm::Error error, const llvm::Twine &context) {
  return fail(context + ": " + llvm::toString(std::move(error)));
}

/// The --cuda-arch list, or an error message.
static std::string parseArchs(SmallVectorImpl<std::string> &archs) {
  llvm::Regex sm("^sm_[0-9]+a?$");
  SmallVector<StringRef> parts;
  StringRef(cudaArch).split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef p : parts) {
    p = p.trim();
    unsigned version = 0;
    if (!sm.match(p) || p.drop_front(3).take_while(llvm::isDigit)
                                .getAsInteger(10, version) ||
        version < 80)
      return ("--cuda-arch: '" + p +
              "' is not an sm_XY[a] architecture of sm_80 or newer "
              "(the attention kernel uses bf16 tensor cores)")
          .str();
    archs.push_back(p.str());
  }
  if (archs.empty())
    return "--cuda-arch needs at least one architecture";
  return "";
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "EDG compiler: model.mlir -> model.bin\n");
  if (target != "cpu" && target != "cuda" && target != "all")
    return fail("--target=" + target + " is not one of cpu, cuda, all");
  bool wantCpu = target != "cuda", wantCuda = target != "cpu";
  if (maxBatch <= 0 || maxSeq <= 0)
    return fail("--max-batch and --max-seq must be > 0");
  if (!emit.empty() && emit != "mlir" && emit != "cpp" && emit != "cuda" &&
      emit != "schedule")
    return fail("--emit=" + emit + " is not one of mlir, cpp, cuda, schedule");
  SmallVector<std::string> archs;
  if (wantCuda && emit.empty()) {
    if (std::string error = parseArchs(archs); !error.empty())
      return fail(error);
    if (!::edg::tools::haveNvrtc())
      return fail("--target=" + target +
                  " needs NVRTC, but this edg-compile was built without CUDA "
                  "(reconfigure with -DEDG_ENABLE_CUDA=ON)");
  }

  DialectRegistry registry;
  registry.insert<mlir::edg::EDGDialect, func::FuncDialect, arith::ArithDialect>();
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

  // Kernel-level copy: the coarse export below reads the original module.
  OwningOpRef<ModuleOp> lowered(cast<ModuleOp>((*module)->clone()));
  PassManager pm(&context);
  mlir::edg::CompilePipelineOptions pipeline;
  pipeline.maxBatch = maxBatch;
  pipeline.maxSeq = maxSeq;
  mlir::edg::buildCompilePipeline(pm, pipeline);
  if (failed(pm.run(*lowered)))
    return fail("could not lower " + inputFile + " to kernels");

  if (emit == "mlir") {
    lowered->print(llvm::outs());
    return 0;
  }
  if (emit == "cpp" || emit == "cuda") {
    bool ok = succeeded(emit == "cpp" ? mlir::edg::emitCpp(*lowered, llvm::outs())
                                      : mlir::edg::emitCuda(*lowered, llvm::outs()));
    return ok ? 0 : fail("could not generate " + emit + " for " + inputFile);
  }

  std::vector<uint8_t> bytes;
  mlir::edg::ExportOptions options;
  options.maxBatch = maxBatch;
  options.maxSeq = maxSeq;
  if (failed(mlir::edg::exportModel(*module, options, bytes)))
    return fail("could not compile " + inputFile);
  if (emit == "schedule" || (wantCuda && emit.empty()))
    if (failed(mlir::edg::addDeviceSchedules(bytes, *lowered, error)))
      return fail(error);
  if (emit == "schedule")
    return succeeded(mlir::edg::printDeviceSchedules(bytes, llvm::outs()))
               ? 0
               : fail("internal error: the model does not verify");

  std::vector<mlir::edg::KernelBlob> blobs;
  std::string summary;
  if (wantCpu) {
    std::string source;
    llvm::raw_string_ostream os(source);
    if (failed(mlir::edg::emitCpp(*lowered, os)))
      return fail("could not generate C++ for " + inputFile);
    auto object = ::edg::tools::compileSharedObject(source);
    if (!object)
      return fail(object.takeError(), "CPU kernels of " + inputFile);
    summary += " cpu/" + ::edg::tools::hostArch();
    blobs.push_back({"cpu", ::edg::tools::hostArch(), std::move(*object)});
  }
  if (wantCuda) {
    std::string source;
    llvm::raw_string_ostream os(source);
    if (failed(mlir::edg::emitCuda(*lowered, os)))
      return fail("could not generate CUDA for " + inputFile);
    archs.push_back("compute_80"); // PTX for GPUs newer than every cubin
    for (const std::string &arch : archs) {
      auto binary = ::edg::tools::compileCuda(source, arch);
      if (!binary)
        return fail(binary.takeError(), "CUDA kernels of " + inputFile);
      summary += " cuda/" + arch;
      blobs.push_back({"cuda", arch, std::move(*binary)});
    }
    blobs.push_back({"cuda", "source",
                     std::vector<uint8_t>(source.begin(), source.end())});
  }
  if (!blobs.empty() && failed(mlir::edg::addKernelBinaries(bytes, blobs, error)))
    return fail(error);

  // Atomic write: write to a temp file next to the output and rename it.
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
               << " bytes; kernels:" << (summary.empty() ? " none" : summary)
               << ")\n";
  return 0;
}
