//===- EDGAttrs.cpp - edg attributes and enums ------------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// Verifiers and the custom syntax of the mask and init attributes.
//===----------------------------------------------------------------------===//
#include "dialects/EDG/EDGDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::edg;

#include "dialects/EDG/EDGEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/EDG/EDGAttrs.cpp.inc"

void EDGDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/EDG/EDGAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// MaskAttr
//===----------------------------------------------------------------------===//

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               MaskKind kind, int64_t window) {
  bool sliding =
      kind == MaskKind::sliding_causal || kind == MaskKind::sliding_bidirectional;
  if (sliding && window <= 0)
    return emitError() << "sliding mask needs a window > 0, got " << window;
  if (!sliding && window != 0)
    return emitError() << "mask '" << stringifyMaskKind(kind)
                       << "' takes no window";
  return success();
}

//===----------------------------------------------------------------------===//
// InitAttr: `#edg.init<normal, 0.02>`, `#edg.init<zeros>`
//===----------------------------------------------------------------------===//

LogicalResult InitAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               InitKind kind, APFloat stddevValue) {
  double stddev = stddevValue.convertToDouble();
  if (kind == InitKind::normal && !(stddev > 0.0))
    return emitError() << "normal init needs a standard deviation > 0";
  if (kind != InitKind::normal && stddev != 0.0)
    return emitError() << "init '" << stringifyInitKind(kind)
                       << "' takes no standard deviation";
  return success();
}

Attribute InitAttr::parse(AsmParser &parser, Type) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<InitKind> kind = symbolizeInitKind(keyword);
  if (!kind) {
    parser.emitError(loc) << "unknown init kind '" << keyword << "'";
    return {};
  }
  double stddev = 0.0;
  if (succeeded(parser.parseOptionalComma()) && parser.parseFloat(stddev))
    return {};
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), *kind, APFloat(stddev));
}

void InitAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyInitKind(getKind());
  if (getKind() == InitKind::normal)
    printer << ", " << getStddev().convertToDouble();
  printer << ">";
}
