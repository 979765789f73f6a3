//===- edg-import.cpp - HF config.json -> edg module ------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-import CONFIG.json -o MODEL.mlir [--dtype=bf16|f16|f32] [--entry NAME]
//            [--weight-prefix P] [--append-to MODULE.mlir]
//            [--weights model.safetensors|model.safetensors.index.json]
//            [--init-fresh]
//
// A thin driver over EDGFrontend: parse the config, build the module (or
// append it to an existing one), verify it, optionally compare a checkpoint's
// tensors with the declared weights, and print it with its NameLocs, so that
// later tools' diagnostics name HF modules. Every user error is one line,
// "edg-import: error: <file>: <what>", and exit code 1.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGDialect.h"
#include "frontend/CheckpointCheck.h"
#include "frontend/GraphBuilder.h"
#include "frontend/ModelConfig.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace mlir::edg;
namespace cl = llvm::cl;

static cl::opt<std::string> configPath(cl::Positional, cl::Required,
                                       cl::desc("<config.json>"));
static cl::opt<std::string>
    outputPath("o", cl::init("-"), cl::value_desc("file"),
               cl::desc("Output file (default stdout)"));
static cl::opt<std::string>
    dtypeName("dtype", cl::value_desc("bf16|f16|f32"),
              cl::desc("Element type (default: the config's torch_dtype, "
                       "else f32)"));
static cl::opt<std::string>
    entryName("entry", cl::value_desc("name"),
              cl::desc("Name of the Gemma 2 entry function (default forward)"));
static cl::opt<std::string>
    weightPrefix("weight-prefix", cl::value_desc("prefix"),
                 cl::desc("Prepend this to every weight name"));
static cl::opt<std::string>
    appendTo("append-to", cl::value_desc("module.mlir"),
             cl::desc("Add the model to this module instead of a new one"));
static cl::opt<std::string> weightsPath(
    "weights", cl::value_desc("model.safetensors|index.json"),
    cl::desc("Check that this checkpoint holds exactly the declared weights"));
static cl::opt<bool> initFresh(
    "init-fresh",
    cl::desc("Give every weight HF's fresh initialiser (normal with the "
             "config's initializer_range; zeros for norms)"));

/// Prints "edg-import: error: <file>: <what>" and returns the exit code.
static int error(llvm::StringRef file, const llvm::Twine &what) {
  llvm::errs() << "edg-import: error: " << file << ": " << what << "\n";
  return 1;
}

/// Parses `path` (diagnostics with file:line:col go to stderr).
static OwningOpRef<ModuleOp> parseModule(MLIRContext &ctx, llvm::StringRef path,
                                         std::string &why) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    why = "cannot read the file: " + buffer.getError().message();
    return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  if (!module)
    why = "cannot parse the module (see the diagnostics above)";
  return module;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  cl::ParseCommandLineOptions(argc, argv,
                              "EDG importer: Hugging Face config.json -> edg "
                              "module\n");

  std::optional<DType> dtypeOverride;
  if (dtypeName.getNumOccurrences()) {
    dtypeOverride = parseDType(dtypeName);
    if (!dtypeOverride)
      return error("--dtype",
                   "expected bf16, f16 or f32, got '" + dtypeName + "'");
  }
  if (entryName.getNumOccurrences() && entryName.empty())
    return error("--entry", "the entry name must not be empty");

  // 1. The config.
  llvm::Expected<ModelConfig> config = loadModelConfig(configPath);
  if (!config)
    return error(configPath, llvm::toString(config.takeError()));
  llvm::Expected<DType> dtype = resolveDType(*config, dtypeOverride);
  if (!dtype)
    return error(configPath, llvm::toString(dtype.takeError()));

  // 2. The module.
  DialectRegistry registry;
  registry.insert<EDGDialect, func::FuncDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  ImportOptions options{*dtype, entryName, weightPrefix, initFresh};
  llvm::Expected<ImportedModel> imported = importModel(ctx, *config, options);
  if (!imported)
    return error(configPath, llvm::toString(imported.takeError()));

  OwningOpRef<ModuleOp> module = std::move(imported->module);
  if (!appendTo.empty()) {
    std::string why;
    OwningOpRef<ModuleOp> target = parseModule(ctx, appendTo, why);
    if (!target)
      return error(appendTo, why);
    if (llvm::Error e = appendModule(*target, *module))
      return error(appendTo, llvm::toString(std::move(e)));
    module = std::move(target);
  }

  // 3. Verify: a failure here is a bug in EDG, not in the input.
  if (failed(verify(*module)))
    return error(configPath, "internal error: the generated module does not "
                             "verify (see the diagnostics above)");

  // 4. The checkpoint, if asked: every problem, one line each.
  if (!weightsPath.empty()) {
    std::vector<CheckpointProblem> problems =
        checkCheckpoint(weightsPath, imported->weights, imported->tiedAliases);
    for (const CheckpointProblem &p : problems)
      error(p.file, p.message);
    if (!problems.empty())
      return 1;
  }

  // 5. Print with locations: they are how diagnostics name HF modules.
  std::string why;
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputPath, &why);
  if (!output)
    return error(outputPath, why);
  OpPrintingFlags flags;
  flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
  module->print(output->os(), flags);
  output->os() << "\n";
  output->keep();
  return 0;
}
