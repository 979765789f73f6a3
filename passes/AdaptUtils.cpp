//===- AdaptUtils.cpp - names and locations for the adaptation --*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The adaptation passes rename things in two places that must stay in step:
// weight symbols (HF checkpoint keys) and op locations (NameLocs naming HF
// modules, docs/design.md). Both are dotted HF paths, so both go through the
// segment-wise renamer here; locations additionally keep their structure
// (FusedLoc, NameLoc children) so nothing but the names changes.
//===----------------------------------------------------------------------===//
#include "passes/Adapt.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::edg;

Location
mlir::edg::renameLoc(Location loc,
                     const std::function<std::string(StringRef)> &rename) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return NameLoc::get(
        StringAttr::get(loc.getContext(), rename(name.getName().getValue())),
        renameLoc(name.getChildLoc(), rename));
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    SmallVector<Location> parts;
    for (Location part : fused.getLocations())
      parts.push_back(renameLoc(part, rename));
    return FusedLoc::get(loc.getContext(), parts, fused.getMetadata());
  }
  return loc;
}

bool mlir::edg::hasNameLoc(Location loc) {
  if (isa<NameLoc>(loc))
    return true;
  if (auto fused = dyn_cast<FusedLoc>(loc))
    return llvm::any_of(fused.getLocations(), hasNameLoc);
  return false;
}

std::string mlir::edg::renameSegments(
    StringRef dotted,
    const std::function<StringRef(StringRef)> &renameSegment) {
  SmallVector<StringRef> segments;
  dotted.split(segments, '.');
  SmallVector<std::string> renamed;
  for (StringRef segment : segments)
    renamed.push_back(renameSegment(segment).str());
  return llvm::join(renamed, ".");
}
