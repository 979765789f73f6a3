//===- EmitCudaTrain.cpp - CUDA for the training kernel kinds ---*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// The kernels of a training step that are neither elementwise nor GEMMs
// (docs/codegen.md, "Training kernels"). Each is a single-op edg.kernel;
// parameters as every generated kernel: `const T *in0, ..., T *out0, ...,
// edg_i64 <size>`. fp32 arithmetic and accumulation, one rounding to the
// storage type per result:
//
//   rms_norm_grad       one block per row: x, dy in registers, two block
//                       sums; dx = r g - x r^3 mean(g x), partial = dy x r
//   column_sum          one thread per column, rows added in order
//                       (deterministic, the CPU's order)
//   embed_grad          grid-stride over rows * d, atomicAdd into the table
//                       the executor zeroed; ids outside [0, V) are skipped
//   cross_entropy_rows  one block per row, a single online max / sum-exp
//                       pass over V (never the whole row in registers)
//   label_mean          one block: sum of the values / number of counted
//                       labels (0/0 = NaN when none counts, as torch)
//   cross_entropy_grad  one block per row: the counted labels of every row,
//                       the row's logsumexp, then (softmax - onehot) / N
//   distill_kl_rows     one block per row: log-sum-exp of the student row
//                       and of its teacher row (r / T) * Tt + index[r] at
//                       temperature tau, then weight tau^2 KL in one pass
//   distill_kl_grad     one block per row: weight tau / N (softmax(s/tau) -
//                       softmax(t/tau)); both take sizes {rows, T, Tt}
//
// Labels and ids arrive in their IR element type (i32: `const int *`).
// The CPU reference is runtime/cpu/kernels.cc (cross_entropy,
// embed_backward, rms_norm_backward) and train_kernels.cc (distill_kl).
//===----------------------------------------------------------------------===//
#include "passes/EmitCuda.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::edg;

namespace {

constexpr const char *kTrainHelpers =
    R"cu(//--- training kernels (EmitCudaTrain.cpp) ---//
// Max over the block (blockDim.x a multiple of 32); scratch: 32 floats.
__device__ __forceinline__ float edg_block_max(float v, float *scratch) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int nwarps = (blockDim.x + 31) >> 5;
  v = edg_warp_max(v);
  __syncthreads(); // scratch may still be read by a previous reduction
  if (lane == 0)
    scratch[warp] = v;
  __syncthreads();
  v = lane < nwarps ? scratch[lane] : EDG_NEG_INF;
  return edg_warp_max(v);
}

// log(sum_j exp(x[j] / tau)) of one row of n logits, reading the row once:
// each thread keeps a running max and a sum of exp relative to it, then the
// block combines them. Every thread of the block gets the result.
template <class T>
__device__ float edg_row_logsumexp(const T *x, edg_i64 n, float *scratch,
                                   float tau = 1.0f) {
  float m = EDG_NEG_INF, s = 0.0f;
  for (edg_i64 j = threadIdx.x; j < n; j += blockDim.x) {
    const float v = edg_ld(x[j]) / tau;
    if (v > m) {
      s = s * expf(m - v) + 1.0f;
      m = v;
    } else if (m != EDG_NEG_INF) {
      s += expf(v - m);
    }
  }
  const float mx = edg_block_max(m, scratch);
  const float sum = edg_block_sum(m == EDG_NEG_INF ? 0.0f : s * expf(m - mx),
                                  scratch);
  return mx + logf(sum);
}

// Scatter-add of an fp32 value into a table in its storage type.
__device__ __forceinline__ void edg_atomic_add(float *p, float v) {
  atomicAdd(p, v);
}
__device__ __forceinline__ void edg_atomic_add(__nv_bfloat16 *p, float v) {
  atomicAdd(p, __float2bfloat16_rn(v));
}
__device__ __forceinline__ void edg_atomic_add(__half *p, float v) {
  atomicAdd(p, __float2half_rn(v));
}

)cu";

constexpr int64_t kBlock = 256; // threads of every kernel but rms_norm_grad

/// "[?, ?, 64] bf16" for a comment.
std::string shapeText(Type type) {
  auto t = cast<RankedTensorType>(type);
  std::string out = "[";
  for (auto [i, d] : llvm::enumerate(t.getShape()))
    out += (i ? ", " : "") +
           (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
  return out + "] " + dtypeName(t.getElementType());
}

/// One comment line per operand and result: "//   in0 logits [?, ?, 64] f32".
std::string operandComments(KernelOp k, ArrayRef<StringRef> inputs,
                            ArrayRef<StringRef> outputs) {
  FunctionType type = k.getFunctionType();
  std::string out;
  for (auto [i, t] : llvm::enumerate(type.getInputs()))
    out += "  //   in" + std::to_string(i) + " " +
           (i < inputs.size() ? inputs[i].str() + " " : "") + shapeText(t) +
           "\n";
  for (auto [i, t] : llvm::enumerate(type.getResults()))
    out += "  //   out" + std::to_string(i) + " " +
           (i < outputs.size() ? outputs[i].str() + " " : "") + shapeText(t) +
           "\n";
  return out;
}

/// `extern "C" __global__ void __launch_bounds__(block) name(params, edg_i64
/// size) {` and the operand comments.
void openKernel(KernelOp k, llvm::raw_ostream &os, int64_t block,
                StringRef size, ArrayRef<StringRef> inputs,
                ArrayRef<StringRef> outputs) {
  os << "extern \"C\" __global__ void __launch_bounds__(" << block << ") "
     << k.getSymName() << "(" << cuda::kernelParams(k.getFunctionType())
     << "edg_i64 " << size << ") {\n"
     << operandComments(k, inputs, outputs);
}

std::string launch(int64_t block, const std::string &grid) {
  return "block=" + std::to_string(block) + " smem=0 grid=" + grid;
}

/// The single op of a training kernel's body, or null after a diagnostic.
template <class OpT> OpT bodyOp(KernelOp k) {
  Block &body = k.getBody().front();
  auto op = body.empty() ? OpT() : dyn_cast<OpT>(body.front());
  if (!op || !isa<YieldOp>(op->getNextNode()))
    k.emitError("a '") << k.getKind() << "' kernel must hold a single '"
                       << OpT::getOperationName() << "'";
  return op;
}

//===----------------------------------------------------------------------===//
// rms_norm_grad
//===----------------------------------------------------------------------===//

LogicalResult emitRmsNormGrad(KernelOp k, llvm::raw_ostream &os) {
  auto op = bodyOp<RmsNormGradRowsOp>(k);
  if (!op)
    return failure();
  const int64_t d = k.getRowWidth();
  if (d <= 0)
    return k.emitError("an rms_norm_grad kernel needs row_width > 0");
  const int64_t block = std::min<int64_t>(256, (d + 31) / 32 * 32);
  const int64_t ept = (d + block - 1) / block;
  cuda::kernelBanner(os, k, launch(block, "rows"));
  openKernel(k, os, block, "rows", {"x", "w (Gemma's offset gain)", "dy"},
             {"dx", "partial (dy x r, column-summed into dw)"});
  os << "  // y = x r (1 + w), r = rsqrt(mean(x^2) + eps), g = dy (1 + w):\n"
     << "  //   dx = r g - x r^3 mean(g x),  partial = dy x r\n"
     << "  constexpr int kD = " << d << ", kBlock = " << block
     << ", kEpt = " << ept << "; // elements per thread\n"
     << "  constexpr float kEps = "
     << floatLiteral(op.getEps().convertToDouble()) << ";\n"
     << "  __shared__ float scratch[32];\n"
     << "  const edg_i64 r = blockIdx.x;\n  if (r >= rows)\n    return;\n"
     << "  const edg_i64 base = r * kD;\n"
     << "  float x[kEpt], dy[kEpt], g[kEpt];\n"
     << "  float ss = 0.0f, gx = 0.0f;\n"
     << "#pragma unroll\n  for (int e = 0; e < kEpt; ++e) {\n"
     << "    const int j = threadIdx.x + e * kBlock;\n"
     << "    x[e] = j < kD ? edg_ld(in0[base + j]) : 0.0f;\n"
     << "    dy[e] = j < kD ? edg_ld(in2[base + j]) : 0.0f;\n"
     << "    g[e] = j < kD ? dy[e] * (1.0f + edg_ld(in1[j])) : 0.0f;\n"
     << "    ss += x[e] * x[e];\n    gx += g[e] * x[e];\n  }\n"
     << "  ss = edg_block_sum(ss, scratch);\n"
     << "  gx = edg_block_sum(gx, scratch);\n"
     << "  const float rs = 1.0f / sqrtf(ss / (float)kD + kEps); // as the "
        "forward\n"
     << "  const float c = rs * rs * rs * (gx / (float)kD);\n"
     << "#pragma unroll\n  for (int e = 0; e < kEpt; ++e) {\n"
     << "    const int j = threadIdx.x + e * kBlock;\n"
     << "    if (j < kD) {\n"
     << "      edg_st(&out0[base + j], rs * g[e] - x[e] * c);\n"
     << "      edg_st(&out1[base + j], dy[e] * x[e] * rs);\n"
     << "    }\n  }\n}\n\n";
  return success();
}

//===----------------------------------------------------------------------===//
// column_sum
//===----------------------------------------------------------------------===//

LogicalResult emitColumnSum(KernelOp k, llvm::raw_ostream &os) {
  if (!bodyOp<ColumnSumOp>(k))
    return failure();
  const int64_t d = k.getRowWidth();
  if (d <= 0)
    return k.emitError("a column_sum kernel needs row_width > 0");
  cuda::kernelBanner(os, k,
                     launch(kBlock, "ceil(" + std::to_string(d) + "/256)"));
  openKernel(k, os, kBlock, "rows", {"rows x kD"}, {"column sums"});
  os << "  // One thread per column; rows added in order in fp32 "
        "(deterministic).\n"
     << "  constexpr int kD = " << d << ";\n"
     << "  const int j = blockIdx.x * blockDim.x + threadIdx.x;\n"
     << "  if (j >= kD)\n    return;\n"
     << "  float s = 0.0f;\n"
     << "  for (edg_i64 r = 0; r < rows; ++r)\n"
     << "    s += edg_ld(in0[r * kD + j]);\n"
     << "  edg_st(&out0[j], s);\n}\n\n";
  return success();
}

//===----------------------------------------------------------------------===//
// embed_grad
//===----------------------------------------------------------------------===//

LogicalResult emitEmbedGrad(KernelOp k, llvm::raw_ostream &os) {
  auto op = bodyOp<EmbedGradOp>(k);
  if (!op)
    return failure();
  const int64_t d = k.getRowWidth();
  auto table = cast<RankedTensorType>(op.getResult().getType());
  if (d <= 0 || table.getRank() != 2 || table.isDynamicDim(0))
    return k.emitError("an embed_grad kernel needs row_width > 0 and a "
                       "[V, d] table of static V");
  cuda::kernelBanner(
      os, k, launch(kBlock, "ceil(rows*" + std::to_string(d) + "/256)"));
  openKernel(k, os, kBlock, "rows", {"ids", "dy"},
             {"dtable (zeroed by the executor before the launch)"});
  os << "  // dtable[ids[r]] += dy[r] * scale; repeated ids accumulate "
        "(atomically),\n"
     << "  // ids outside [0, kV) have no row and are skipped.\n"
     << "  constexpr int kD = " << d << ";\n"
     << "  constexpr edg_i64 kV = " << table.getDimSize(0) << ";\n"
     << "  constexpr float kScale = "
     << floatLiteral(op.getScale().convertToDouble()) << ";\n"
     << "  const edg_i64 total = rows * kD;\n"
     << "  for (edg_i64 idx = (edg_i64)blockIdx.x * blockDim.x + threadIdx.x; "
        "idx < total;\n       idx += (edg_i64)gridDim.x * blockDim.x) {\n"
     << "    const edg_i64 id = (edg_i64)in0[idx / kD];\n"
     << "    if (id < 0 || id >= kV)\n      continue;\n"
     << "    edg_atomic_add(&out0[id * kD + idx % kD], edg_ld(in1[idx]) * "
        "kScale);\n"
     << "  }\n}\n\n";
  return success();
}

//===----------------------------------------------------------------------===//
// cross-entropy: per-row losses, their label mean, the logits' gradient
//===----------------------------------------------------------------------===//

/// `constexpr edg_i64 kV = <V>, kIgnore = <ignore_index>;`.
std::string vocabConstants(int64_t v, int64_t ignore) {
  return "  constexpr edg_i64 kV = " + std::to_string(v) +
         ", kIgnore = " + std::to_string(ignore) + ";\n";
}

LogicalResult emitCrossEntropyRows(KernelOp k, llvm::raw_ostream &os) {
  auto op = bodyOp<CrossEntropyRowsOp>(k);
  if (!op)
    return failure();
  const int64_t v = k.getRowWidth();
  if (v <= 0)
    return k.emitError("a cross_entropy_rows kernel needs row_width = V > 0");
  cuda::kernelBanner(os, k, launch(kBlock, "rows"));
  openKernel(k, os, kBlock, "rows", {"logits", "labels"}, {"losses"});
  os << "  // out0[r] = logsumexp(x[r]) - x[r, label]; 0 where the label is "
        "ignored,\n"
     << "  // NaN where it is outside [0, kV) (the CPU throws there).\n"
     << vocabConstants(v, int64_t(op.getIgnoreIndex()))
     << "  __shared__ float scratch[32];\n"
     << "  const edg_i64 r = blockIdx.x;\n  if (r >= rows)\n    return;\n"
     << "  const edg_i64 label = (edg_i64)in1[r];\n"
     << "  if (label == kIgnore) { // the whole block returns\n"
     << "    if (threadIdx.x == 0)\n      edg_st(&out0[r], 0.0f);\n"
     << "    return;\n  }\n"
     << "  const auto *x = in0 + r * kV;\n"
     << "  const float lse = edg_row_logsumexp(x, kV, scratch);\n"
     << "  if (threadIdx.x == 0)\n"
     << "    edg_st(&out0[r], label >= 0 && label < kV ? lse - "
        "edg_ld(x[label])\n"
     << "                                              : "
        "__int_as_float(0x7fc00000));\n"
     << "}\n\n";
  return success();
}

LogicalResult emitLabelMean(KernelOp k, llvm::raw_ostream &os) {
  auto op = bodyOp<LabelMeanOp>(k);
  if (!op)
    return failure();
  cuda::kernelBanner(os, k, launch(kBlock, "1"));
  openKernel(k, os, kBlock, "n", {"values", "labels"}, {"mean"});
  os << "  // sum(values) / count(labels != kIgnore), one block; 0/0 = NaN "
        "when no\n"
     << "  // label counts (torch's mean reduction).\n"
     << "  constexpr edg_i64 kIgnore = " << int64_t(op.getIgnoreIndex())
     << ";\n"
     << "  __shared__ float scratch[32];\n"
     << "  float sum = 0.0f, count = 0.0f;\n"
     << "  for (edg_i64 i = threadIdx.x; i < n; i += blockDim.x) {\n"
     << "    sum += edg_ld(in0[i]);\n"
     << "    count += (edg_i64)in1[i] != kIgnore ? 1.0f : 0.0f;\n  }\n"
     << "  sum = edg_block_sum(sum, scratch);\n"
     << "  count = edg_block_sum(count, scratch);\n"
     << "  if (blockIdx.x == 0 && threadIdx.x == 0)\n"
     << "    edg_st(out0, sum / count);\n}\n\n";
  return success();
}

LogicalResult emitCrossEntropyGrad(KernelOp k, llvm::raw_ostream &os) {
  auto op = bodyOp<CrossEntropyGradOp>(k);
  if (!op)
    return failure();
  const int64_t v = k.getRowWidth();
  if (v <= 0)
    return k.emitError("a cross_entropy_grad kernel needs row_width = V > 0");
  cuda::kernelBanner(os, k, launch(kBlock, "rows"));
  openKernel(k, os, kBlock, "rows", {"logits", "labels"}, {"dlogits"});
  os << "  // d(mean cross-entropy)/d logits: (softmax(x[r]) - onehot(label)) "
        "/ N on\n"
     << "  // rows whose label counts, 0 on ignored rows; N counts the labels "
        "of\n"
     << "  // every row (each block recounts them: rows << rows * kV).\n"
     << vocabConstants(v, int64_t(op.getIgnoreIndex()))
     << "  __shared__ float scratch[32];\n"
     << "  const edg_i64 r = blockIdx.x;\n  if (r >= rows)\n    return;\n"
     << "  float counted = 0.0f;\n"
     << "  for (edg_i64 i = threadIdx.x; i < rows; i += blockDim.x)\n"
     << "    counted += (edg_i64)in1[i] != kIgnore ? 1.0f : 0.0f;\n"
     << "  const float inv_count = 1.0f / edg_block_sum(counted, scratch);\n"
     << "  const edg_i64 label = (edg_i64)in1[r];\n"
     << "  auto *g = out0 + r * kV;\n"
     << "  if (label == kIgnore) {\n"
     << "    for (edg_i64 j = threadIdx.x; j < kV; j += blockDim.x)\n"
     << "      edg_st(&g[j], 0.0f);\n    return;\n  }\n"
     << "  const auto *x = in0 + r * kV;\n"
     << "  const float lse = edg_row_logsumexp(x, kV, scratch);\n"
     << "  for (edg_i64 j = threadIdx.x; j < kV; j += blockDim.x)\n"
     << "    edg_st(&g[j], (expf(edg_ld(x[j]) - lse) - (j == label ? 1.0f : "
        "0.0f)) * inv_count);\n"
     << "}\n\n";
  return success();
}

//===----------------------------------------------------------------------===//
// distillation: per-row weighted KL(teacher || student), its gradient
//===----------------------------------------------------------------------===//

/// The shared start of both distillation kernels: constants, the row, its
/// counted label, the student row `s` and its teacher row `t`, and both
/// rows' log-sum-exp at temperature kTau. `ignored` and `badIndex` are the
/// statements for an ignored row and a teacher index outside [0, Tt).
template <class OpT>
void distillPrologue(OpT op, int64_t v, llvm::raw_ostream &os,
                     StringRef ignored, StringRef badIndex) {
  os << vocabConstants(v, int64_t(op.getIgnoreIndex()))
     << "  constexpr float kTau = "
     << floatLiteral(op.getTemperature().convertToDouble())
     << ", kWeight = " << floatLiteral(op.getWeight().convertToDouble())
     << ";\n"
     << "  __shared__ float scratch[32];\n"
     << "  const edg_i64 r = blockIdx.x;\n  if (r >= rows)\n    return;\n"
     << "  if ((edg_i64)in3[r] == kIgnore) {\n" << ignored << "    return;\n  }\n"
     << "  const edg_i64 at = (edg_i64)in2[r]; // the teacher's row in its "
        "sequence\n"
     << "  if (at < 0 || at >= Tt) { // the CPU throws\n" << badIndex
     << "    return;\n  }\n"
     << "  const auto *s = in0 + r * kV;\n"
     << "  const auto *t = in1 + ((r / T) * Tt + at) * kV;\n"
     << "  const float lse_s = edg_row_logsumexp(s, kV, scratch, kTau);\n"
     << "  const float lse_t = edg_row_logsumexp(t, kV, scratch, kTau);\n";
}

LogicalResult emitDistillKlRows(KernelOp k, llvm::raw_ostream &os) {
  auto op = bodyOp<DistillKlRowsOp>(k);
  if (!op)
    return failure();
  const int64_t v = k.getRowWidth();
  if (v <= 0)
    return k.emitError("a distill_kl_rows kernel needs row_width = V > 0");
  cuda::kernelBanner(os, k, launch(kBlock, "rows"));
  openKernel(k, os, kBlock, "rows, edg_i64 T, edg_i64 Tt",
             {"student logits", "teacher logits", "teacher row per row",
              "labels"},
             {"weighted KL per row"});
  os << "  // out0[r] = kWeight kTau^2 KL(softmax(t/kTau) || softmax(s/kTau)), "
        "t the teacher's\n"
     << "  // row (r / T) * Tt + in2[r]; 0 where the label is ignored.\n";
  distillPrologue(op, v, os,
                  "    if (threadIdx.x == 0)\n      edg_st(&out0[r], 0.0f);\n",
                  "    if (threadIdx.x == 0)\n      edg_st(&out0[r], "
                  "__int_as_float(0x7fc00000));\n");
  os << "  float kl = 0.0f;\n"
     << "  for (edg_i64 j = threadIdx.x; j < kV; j += blockDim.x) {\n"
     << "    const float lt = edg_ld(t[j]) / kTau - lse_t, ls = edg_ld(s[j]) / "
        "kTau - lse_s;\n"
     << "    kl += expf(lt) * (lt - ls);\n  }\n"
     << "  kl = edg_block_sum(kl, scratch);\n"
     << "  if (threadIdx.x == 0)\n"
     << "    edg_st(&out0[r], kWeight * kTau * kTau * kl);\n}\n\n";
  return success();
}

LogicalResult emitDistillKlGrad(KernelOp k, llvm::raw_ostream &os) {
  auto op = bodyOp<DistillKlGradOp>(k);
  if (!op)
    return failure();
  const int64_t v = k.getRowWidth();
  if (v <= 0)
    return k.emitError("a distill_kl_grad kernel needs row_width = V > 0");
  cuda::kernelBanner(os, k, launch(kBlock, "rows"));
  openKernel(k, os, kBlock, "rows, edg_i64 T, edg_i64 Tt",
             {"student logits", "teacher logits", "teacher row per row",
              "labels"},
             {"dlogits"});
  os << "  // d distill_kl / d s = kWeight kTau / N (softmax(s/kTau) - "
        "softmax(t/kTau)) on\n"
     << "  // rows whose label counts, 0 on ignored rows; N counts the labels "
        "of every row.\n"
     << "  auto *g = out0 + (edg_i64)blockIdx.x * " << v << ";\n";
  distillPrologue(
      op, v, os,
      "    for (edg_i64 j = threadIdx.x; j < kV; j += blockDim.x)\n"
      "      edg_st(&g[j], 0.0f);\n",
      "    for (edg_i64 j = threadIdx.x; j < kV; j += blockDim.x)\n"
      "      edg_st(&g[j], __int_as_float(0x7fc00000));\n");
  os << "  float counted = 0.0f;\n"
     << "  for (edg_i64 i = threadIdx.x; i < rows; i += blockDim.x)\n"
     << "    counted += (edg_i64)in3[i] != kIgnore ? 1.0f : 0.0f;\n"
     << "  const float scale = kWeight * kTau / edg_block_sum(counted, "
        "scratch);\n"
     << "  for (edg_i64 j = threadIdx.x; j < kV; j += blockDim.x)\n"
     << "    edg_st(&g[j], scale * (expf(edg_ld(s[j]) / kTau - lse_s) - "
        "expf(edg_ld(t[j]) / kTau - lse_t)));\n"
     << "}\n\n";
  return success();
}

} // namespace

bool cuda::isTrainKernelKind(StringRef kind) {
  return llvm::StringSwitch<bool>(kind)
      .Cases("rms_norm_grad", "column_sum", "embed_grad", true)
      .Cases("cross_entropy_rows", "label_mean", "cross_entropy_grad", true)
      .Cases("distill_kl_rows", "distill_kl_grad", true)
      .Default(false);
}

void cuda::emitTrainHelpers(llvm::raw_ostream &os) { os << kTrainHelpers; }

LogicalResult cuda::emitTrainKernel(KernelOp k, llvm::raw_ostream &os) {
  StringRef kind = k.getKind();
  if (kind == "rms_norm_grad")
    return emitRmsNormGrad(k, os);
  if (kind == "column_sum")
    return emitColumnSum(k, os);
  if (kind == "embed_grad")
    return emitEmbedGrad(k, os);
  if (kind == "cross_entropy_rows")
    return emitCrossEntropyRows(k, os);
  if (kind == "label_mean")
    return emitLabelMean(k, os);
  if (kind == "cross_entropy_grad")
    return emitCrossEntropyGrad(k, os);
  if (kind == "distill_kl_rows")
    return emitDistillKlRows(k, os);
  if (kind == "distill_kl_grad")
    return emitDistillKlGrad(k, os);
  return k.emitError("not a training kernel kind: '") << kind << "'";
}
