//===- EmitCppKernels.cpp - C++ for each kernel kind ------------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// One emitter per kernel kind. The generated loops follow the hand-written
// fp32 CPU kernels (runtime/cpu/kernels.cc, the numerical oracle) operation
// for operation: gelu_tanh in ATen's order, RMSNorm with a double sum and
// `(x * rsqrt) * (1 + w)`, rotate-half RoPE with fp32 angles, soft-cap as
// `tanh(x / c) * c`. Each kernel covers a range [begin, end) of its
// elements, rows or (attention) batch rows and is serial: the runtime splits
// the range over its own thread pool (runtime/cpu/parallel.h), so generated
// kernels never start an OpenMP team that would compete with it for cores.
//===----------------------------------------------------------------------===//
#include "passes/EmitCpp.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace mlir::edg;

namespace {
/// `expr` of elementwise `op` over operand expressions `a`.
std::string elementwiseExpr(Operation &op, ArrayRef<std::string> a) {
  if (isa<GeluTanhOp>(op))
    return "edg_gelu_tanh(" + a[0] + ")";
  if (isa<MulOp>(op))
    return a[0] + " * " + a[1];
  if (isa<AddOp>(op))
    return a[0] + " + " + a[1];
  if (auto s = dyn_cast<SoftcapOp>(op)) {
    std::string c = floatLiteral(s.getCap().convertToDouble());
    return "edg_tanh(" + a[0] + " / " + c + ") * " + c;
  }
  return a[0]; // cast: the CPU computes in fp32
}

std::string opComment(Operation &op) {
  std::string where = locationName(op.getLoc());
  return op.getName().stripDialect().str() +
         (where.empty() ? "" : "  [" + where + "]");
}
} // namespace

std::string cpp::cType(Type t) {
  if (isa<FloatType>(t))
    return "float";
  if (t.isInteger(1) || t.isInteger(8))
    return "uint8_t";
  if (t.isInteger(64))
    return "int64_t";
  return "int32_t";
}

std::string cpp::paramList(FunctionType type) {
  std::string out;
  for (auto [i, t] : llvm::enumerate(type.getInputs()))
    out += "const " + cType(getElementTypeOrSelf(t)) + " *in" +
           std::to_string(i) + ", ";
  for (auto [i, t] : llvm::enumerate(type.getResults()))
    out += cType(getElementTypeOrSelf(t)) + " *out" + std::to_string(i) + ", ";
  return out;
}

//===----------------------------------------------------------------------===//
// elementwise: one loop over n elements
//===----------------------------------------------------------------------===//

LogicalResult cpp::emitElementwise(KernelOp kernel, llvm::raw_ostream &os) {
  Block &body = kernel.getBody().front();
  os << "static void " << kernel.getSymName() << "("
     << paramList(kernel.getFunctionType())
     << "int64_t begin, int64_t end) {\n"
     << "#pragma omp simd\n"
     << "  for (int64_t i = begin; i < end; ++i) {\n";
  llvm::DenseMap<Value, std::string> names;
  for (BlockArgument arg : body.getArguments())
    names[arg] = "in" + std::to_string(arg.getArgNumber()) + "[i]";
  int next = 0;
  for (Operation &op : body) {
    if (auto yield = dyn_cast<YieldOp>(op)) {
      for (auto [i, v] : llvm::enumerate(yield.getValues()))
        os << "    out" << i << "[i] = " << names[v] << ";\n";
      break;
    }
    SmallVector<std::string> args;
    for (Value v : op.getOperands())
      args.push_back(names[v]);
    std::string t = "t" + std::to_string(next++);
    os << "    const float " << t << " = " << elementwiseExpr(op, args)
       << "; // " << opComment(op) << "\n";
    names[op.getResult(0)] = t;
  }
  os << "  }\n}\n";
  return success();
}

//===----------------------------------------------------------------------===//
// row: one row of kD elements at a time, temporaries on the stack
//===----------------------------------------------------------------------===//

LogicalResult cpp::emitRow(KernelOp kernel, llvm::raw_ostream &os) {
  Block &body = kernel.getBody().front();
  int64_t d = kernel.getRowWidth();
  int64_t rank = cast<RankedTensorType>(kernel.getFunctionType().getResult(0))
                     .getRank();
  os << "static void " << kernel.getSymName() << "("
     << paramList(kernel.getFunctionType())
     << "int64_t begin, int64_t end) {\n"
     << "  constexpr int64_t kD = " << d << ";\n"
     << "  for (int64_t r = begin; r < end; ++r) {\n"
     << "    const int64_t base = r * kD;\n";
  // Rank-1 operands ([kD] norm gains) broadcast along rows.
  llvm::DenseMap<Value, std::string> names;
  for (BlockArgument arg : body.getArguments()) {
    bool broadcast = cast<RankedTensorType>(arg.getType()).getRank() == 1 &&
                     rank > 1;
    names[arg] = "in" + std::to_string(arg.getArgNumber()) +
                 (broadcast ? "[j]" : "[base + j]");
  }
  int next = 0;
  for (Operation &op : body) {
    if (auto yield = dyn_cast<YieldOp>(op)) {
      for (auto [i, v] : llvm::enumerate(yield.getValues()))
        os << "#pragma omp simd\n"
           << "    for (int64_t j = 0; j < kD; ++j)\n"
           << "      out" << i << "[base + j] = " << names[v] << ";\n";
      break;
    }
    std::string t = "t" + std::to_string(next++);
    os << "    // " << t << " = " << opComment(op) << "\n"
       << "    float " << t << "[kD];\n";
    if (auto norm = dyn_cast<RmsNormOp>(op)) {
      // HF: x * rsqrt(mean(x^2) + eps) * (1 + w); the sum in double is
      // within an ulp of torch's fp32 mean (runtime/cpu/kernels.cc).
      std::string x = names[norm.getInput()], w = names[norm.getWeight()];
      os << "    {\n      double ss = 0.0;\n"
         << "#pragma omp simd reduction(+ : ss)\n"
         << "      for (int64_t j = 0; j < kD; ++j)\n"
         << "        ss += double(" << x << ") * double(" << x << ");\n"
         << "      const float rs = 1.0f / std::sqrt(float(ss / double(kD)) + "
         << floatLiteral(norm.getEps().convertToDouble()) << ");\n"
         << "#pragma omp simd\n"
         << "      for (int64_t j = 0; j < kD; ++j)\n"
         << "        " << t << "[j] = (" << x << " * rs) * (1.0f + " << w
         << ");\n    }\n";
    } else {
      SmallVector<std::string> args;
      for (Value v : op.getOperands())
        args.push_back(names[v]);
      os << "#pragma omp simd\n"
         << "    for (int64_t j = 0; j < kD; ++j)\n"
         << "      " << t << "[j] = " << elementwiseExpr(op, args) << ";\n";
    }
    names[op.getResult(0)] = t + "[j]";
  }
  os << "  }\n}\n";
  return success();
}

//===----------------------------------------------------------------------===//
// rope and embed: one op each
//===----------------------------------------------------------------------===//

LogicalResult cpp::emitRope(KernelOp kernel, llvm::raw_ostream &os) {
  auto rope = cast<RopeOp>(kernel.getBody().front().front());
  int64_t width = kernel.getRowWidth(), hd = rope.getHeadDim();
  os << "static void " << kernel.getSymName() << "("
     << paramList(kernel.getFunctionType())
     << "int64_t begin, int64_t end) {\n"
     << "  // in0 [rows, " << width / hd << " heads * " << hd
     << "], in1 positions [rows]; rows [begin, end)\n"
     << "  constexpr int64_t kW = " << width << ";\n"
     << "  std::memmove(out0 + begin * kW, in0 + begin * kW, "
        "sizeof(float) * size_t((end - begin) * kW));\n"
     << "  edg_rope_rows(out0 + begin * kW, end - begin, " << width / hd
     << ", " << hd << ", in1 + begin, "
     << floatLiteral(rope.getTheta().convertToDouble()) << ");\n}\n";
  return success();
}

LogicalResult cpp::emitEmbed(KernelOp kernel, llvm::raw_ostream &os) {
  auto embed = cast<EmbedOp>(kernel.getBody().front().front());
  int64_t d = kernel.getRowWidth();
  // Token ids are checked by the runtime before any kernel runs.
  os << "static void " << kernel.getSymName() << "("
     << paramList(kernel.getFunctionType())
     << "int64_t begin, int64_t end) {\n"
     << "  constexpr int64_t kD = " << d << ";\n"
     << "  constexpr float kScale = "
     << floatLiteral(embed.getScale().convertToDouble())
     << "; // sqrt(d) rounded to the model dtype\n"
     << "  for (int64_t r = begin; r < end; ++r) {\n"
     << "    const float *row = in1 + int64_t(in0[r]) * kD;\n"
     << "#pragma omp simd\n"
     << "    for (int64_t j = 0; j < kD; ++j)\n"
     << "      out0[r * kD + j] = row[j] * kScale;\n  }\n}\n";
  return success();
}

//===----------------------------------------------------------------------===//
// attention: the readable reference of the CUDA kernel's algorithm
//===----------------------------------------------------------------------===//

/// C++ condition for "query at qpos may see key at kpos".
static std::string maskCondition(MaskAttr mask) {
  std::string w = std::to_string(mask.getWindow());
  switch (mask.getKind()) {
  case MaskKind::causal:
    return "kpos <= qpos";
  case MaskKind::bidirectional:
    return "true";
  case MaskKind::sliding_causal:
    return "kpos <= qpos && qpos - kpos < " + w;
  case MaskKind::sliding_bidirectional:
    return "(qpos > kpos ? qpos - kpos : kpos - qpos) < " + w;
  case MaskKind::prefix:
    break;
  }
  return "";
}

LogicalResult cpp::emitAttention(AttentionKernelOp k, llvm::raw_ostream &os) {
  std::string visible = maskCondition(k.getMask());
  if (visible.empty())
    return k.emitOpError("the prefix mask needs per-row prefix lengths, which "
                         "the attention kernel generator does not take");
  int64_t H = k.getNumHeads(), K = k.getNumKvHeads(), hd = k.getHeadDim();
  os << "static void " << k.getSymName()
     << "(const float *q, const float *k, const float *v, const int32_t *pos,\n"
     << "    const uint8_t *key_valid, float *out, int64_t T, int64_t S,\n"
     << "    int64_t begin, int64_t end) {\n"
     << "  // q [B, T, " << H << "*" << hd << "], k and v [B, S, " << K << "*"
     << hd << "], out like q; pos [B, T] (self-attention: S == T);\n"
     << "  // batch rows [begin, end)\n"
     << "  constexpr int64_t kH = " << H << ", kGroup = " << k.getGroup()
     << ", kK = " << K << ", kHd = " << hd << ";\n"
     << "  constexpr float kScale = "
     << floatLiteral(k.getScale().convertToDouble()) << ";\n"
     << "  // Masked scores take HF's finfo(float32).min, so a row that sees\n"
     << "  // no key averages v uniformly, as HF eager does.\n"
     << "  constexpr float kMasked = -3.40282347e+38f;\n";
  if (auto theta = k.getRopeTheta())
    os << "  // RoPE fused (edg-fuse): rotate copies of this range's q and k\n"
       << "  // first; `q`/`k` then index from batch row `begin`.\n"
       << "  std::vector<float> q_rot(q + begin * T * kH * kHd, q + end * T * kH * kHd),\n"
       << "      k_rot(k + begin * S * kK * kHd, k + end * S * kK * kHd);\n"
       << "  edg_rope_rows(q_rot.data(), (end - begin) * T, kH, kHd, pos + begin * T, "
       << floatLiteral(theta->convertToDouble()) << ");\n"
       << "  edg_rope_rows(k_rot.data(), (end - begin) * S, kK, kHd, pos + begin * S, "
       << floatLiteral(theta->convertToDouble()) << ");\n"
       << "  const int64_t qk_first = begin;\n"
       << "  q = q_rot.data();\n  k = k_rot.data();\n";
  else
    os << "  const int64_t qk_first = 0;\n";
  os << "  for (int64_t b = begin; b < end; ++b)\n"
     << "    for (int64_t h = 0; h < kH; ++h)\n"
     << "      for (int64_t t = 0; t < T; ++t) {\n"
     << "        const int64_t kvh = h / kGroup; // GQA: query head -> KV head\n"
     << "        const float *qv = q + (((b - qk_first) * T + t) * kH + h) * kHd;\n"
     << "        const int64_t qpos = "
     << (k.getHasPositions() ? "pos[b * T + t]" : "S - T + t") << ";\n"
     << "        float m = -INFINITY, l = 0.0f, acc[kHd] = {};\n"
     << "        for (int64_t j = 0; j < S; ++j) {\n"
     << "          const int64_t kpos = "
     << (k.getHasPositions() ? "pos[b * S + j]" : "j") << ";\n"
     << "          (void)qpos; (void)kpos;\n"
     << "          const float *kv = k + (((b - qk_first) * S + j) * kK + kvh) * kHd;\n"
     << "          float s = 0.0f;\n"
     << "          for (int64_t d = 0; d < kHd; ++d)\n"
     << "            s += qv[d] * kv[d];\n"
     << "          s = s * kScale;\n";
  if (auto cap = k.getSoftcap())
    os << "          s = edg_tanh(s / " << floatLiteral(cap->convertToDouble())
       << ") * " << floatLiteral(cap->convertToDouble())
       << "; // soft-cap before the mask\n";
  os << "          const bool visible = (" << visible << ")"
     << (k.getHasKeyValid() ? " && key_valid[b * S + j] != 0" : "") << ";\n"
     << "          if (!visible)\n            s = kMasked;\n"
     << "          // Online softmax: rescale what was summed so far.\n"
     << "          const float m_new = std::max(m, s);\n"
     << "          const float alpha = edg_exp(m - m_new), p = edg_exp(s - "
        "m_new);\n"
     << "          l = l * alpha + p;\n"
     << "          const float *vv = v + ((b * S + j) * kK + kvh) * kHd;\n"
     << "          for (int64_t d = 0; d < kHd; ++d)\n"
     << "            acc[d] = acc[d] * alpha + p * vv[d];\n"
     << "          m = m_new;\n        }\n"
     << "        float *o = out + ((b * T + t) * kH + h) * kHd;\n"
     << "        for (int64_t d = 0; d < kHd; ++d)\n"
     << "          o[d] = acc[d] / l;\n      }\n}\n";
  return success();
}
