# lit.cfg.py - configuration of the EDG lit suite.
# SPDX-License-Identifier: Apache-2.0
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "EDG"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.edg_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "fixtures", "runtime"]

config.substitutions.append(("%fixtures", os.path.join(config.edg_src_root, "test", "fixtures")))
config.substitutions.append(("%src", config.edg_src_root))
config.substitutions.append(("%python", sys.executable))

# `REQUIRES: cuda`: built with NVRTC (EDG_ENABLE_CUDA); no GPU is needed.
if getattr(config, "edg_enable_cuda", "").upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("cuda")

llvm_config.use_default_substitutions()
tool_dirs = [config.edg_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["edg-opt", "edg-import", "edg-compile", "edg-run", "edg-train", "edg-conformance", "edg-kernel-check", "edg-cuda-check"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.edg_tools_dir, append_path=True)
