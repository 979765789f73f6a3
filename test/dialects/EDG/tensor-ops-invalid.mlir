// RUN: edg-opt %s -split-input-file -verify-diagnostics
//
// One case per verifier message of EDGTensorOps.cpp.

func.func @linear_rank(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([out, in]), got rank 1}}
  %0 = edg.linear %x, %w : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_width(%x: tensor<?x8xf32>, %w: tensor<4x6xf32>) {
  // expected-error @+1 {{input width 8 does not match the weight's in dim 6}}
  %0 = edg.linear %x, %w : (tensor<?x8xf32>, tensor<4x6xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_result(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result must be [?, 4] ([..., out]), got [?, 5]}}
  %0 = edg.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x5xf32>
  return
}

// -----

func.func @linear_dtype(%x: tensor<?x8xf32>, %w: tensor<4x8xbf16>) {
  // expected-error @+1 {{weight element type 'bf16' does not match the input's 'f32'}}
  %0 = edg.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xbf16>) -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_cap(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{softcap must be > 0}}
  %0 = edg.linear %x, %w {softcap = 0.0 : f64} : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @rope_head_dim(%x: tensor<?x?x12xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{width 12 is not a multiple of head_dim 8}}
  %0 = edg.rope %x, %p {head_dim = 8 : i64, theta = 10000.0 : f64} : (tensor<?x?x12xf32>, tensor<?x?xi32>) -> tensor<?x?x12xf32>
  return
}

// -----

func.func @rope_odd(%x: tensor<?x?x12xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{head_dim must be even and > 0, got 3}}
  %0 = edg.rope %x, %p {head_dim = 3 : i64, theta = 10000.0 : f64} : (tensor<?x?x12xf32>, tensor<?x?xi32>) -> tensor<?x?x12xf32>
  return
}

// -----

func.func @rope_rank(%x: tensor<?x12xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{input must be [batch, seq, heads*head_dim]}}
  %0 = edg.rope %x, %p {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x12xf32>, tensor<?x?xi32>) -> tensor<?x12xf32>
  return
}

// -----

func.func @rope_theta(%x: tensor<?x?x12xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{theta must be > 0}}
  %0 = edg.rope %x, %p {head_dim = 4 : i64, theta = 0.0 : f64} : (tensor<?x?x12xf32>, tensor<?x?xi32>) -> tensor<?x?x12xf32>
  return
}

// -----

func.func @rope_positions(%x: tensor<2x3x12xf32>, %p: tensor<2x4xi32>) {
  // expected-error @+1 {{positions must be [2, 3] ([batch, seq]), got [2, 4]}}
  %0 = edg.rope %x, %p {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<2x3x12xf32>, tensor<2x4xi32>) -> tensor<2x3x12xf32>
  return
}

// -----

func.func @rope_type(%x: tensor<?x?x12xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{result type must equal the input type}}
  %0 = edg.rope %x, %p {head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<?x?x12xf32>, tensor<?x?xi32>) -> tensor<?x?x12xbf16>
  return
}

// -----

func.func @sdpa_heads(%q: tensor<?x?x12xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{num_heads (3) must be divisible by num_kv_heads (2)}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x12xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x12xf32>
  return
}

// -----

func.func @sdpa_zero(%q: tensor<?x?x12xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{num_heads, num_kv_heads and head_dim must be > 0}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 0 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x12xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x12xf32>
  return
}

// -----

func.func @sdpa_rank(%q: tensor<?x12xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{query and key must be rank 3 ([batch, seq, width])}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x12xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x12xf32>
  return
}

// -----

func.func @sdpa_query(%q: tensor<?x?x12xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{query must be [?, ?, 8] ([batch, seq, num_heads*head_dim]), got [?, ?, 12]}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x12xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x12xf32>
  return
}

// -----

func.func @sdpa_key(%q: tensor<?x?x8xf32>, %k: tensor<?x?x6xf32>, %v: tensor<?x?x8xf32>) {
  // expected-error @+1 {{key must be [?, ?, 8] ([batch, kv_seq, num_kv_heads*head_dim]), got [?, ?, 6]}}
  %0 = edg.sdpa %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x6xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @sdpa_value(%q: tensor<?x?x8xf32>, %k: tensor<?x?x8xf32>, %v: tensor<?x?x6xf32>) {
  // expected-error @+1 {{value must be [?, ?, 8] ([batch, kv_seq, num_kv_heads*head_dim]), got [?, ?, 6]}}
  %0 = edg.sdpa %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x6xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @sdpa_result(%q: tensor<?x?x8xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{result must be [?, ?, 8] ([batch, seq, num_heads*head_dim]), got [?, ?, 4]}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @sdpa_dtype(%q: tensor<?x?x8xf32>, %k: tensor<?x?x8xbf16>) {
  // expected-error @+1 {{key element type 'bf16' does not match the input's 'f32'}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @sdpa_positions(%q: tensor<2x3x8xf32>, %k: tensor<2x3x8xf32>, %p: tensor<2x5xi32>) {
  // expected-error @+1 {{positions must be [2, 3] ([batch, seq]), got [2, 5]}}
  %0 = edg.sdpa %q, %k, %k positions %p {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x5xi32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @sdpa_key_valid(%q: tensor<2x3x8xf32>, %k: tensor<2x4x8xf32>, %kv: tensor<2x3xi1>) {
  // expected-error @+1 {{key_valid must be [2, 4] ([batch, kv_seq]), got [2, 3]}}
  %0 = edg.sdpa %q, %k, %k key_valid %kv {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, mask = #edg.mask<causal>} : (tensor<2x3x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x3xi1>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @sdpa_scale(%q: tensor<?x?x8xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{scale must be > 0}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.0 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @sdpa_softcap(%q: tensor<?x?x8xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{softcap must be > 0}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, softcap = -1.0 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @sdpa_rope(%q: tensor<?x?x8xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{rope_theta needs positions to rotate q and k}}
  %0 = edg.sdpa %q, %k, %k {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<causal>} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @sdpa_rope_odd(%q: tensor<?x?x6xf32>, %k: tensor<?x?x6xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{rope_theta needs an even head_dim}}
  %0 = edg.sdpa %q, %k, %k positions %p {num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 3 : i64, scale = 0.5 : f64, rope_theta = 10000.0 : f64, mask = #edg.mask<causal>} : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?x?xi32>) -> tensor<?x?x6xf32>
  return
}

// -----

func.func @softcap(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{cap must be > 0}}
  %0 = edg.softcap %x {cap = 0.0 : f64} : tensor<?x8xf32>
  return
}

// -----

func.func @cast_shape(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{input and result shapes must be equal}}
  %0 = edg.cast %x : tensor<?x8xf32> to tensor<?x4xbf16>
  return
}

// -----

func.func @cast_int(%x: tensor<?x8xi32>) {
  // expected-error @+1 {{casts between float types only}}
  %0 = edg.cast %x : tensor<?x8xi32> to tensor<?x8xf32>
  return
}

// -----

func.func @fusion_empty(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{must yield at least one value}}
  edg.fusion (%x) : (tensor<?x8xf32>) -> () {
  ^bb0(%a: tensor<?x8xf32>):
    edg.yield
  }
  return
}

// -----

func.func @fusion_args(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{body arguments must match the operand types}}
  %0 = edg.fusion (%x) : (tensor<?x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%a: tensor<?x4xf32>):
    %g = edg.gelu_tanh %a : tensor<?x4xf32>
    edg.yield %g : tensor<?x4xf32>
  }
  return
}

// -----

func.func @fusion_yield(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{body must yield values of the result types}}
  %0 = edg.fusion (%x) : (tensor<?x8xf32>) -> tensor<?x8xbf16> {
  ^bb0(%a: tensor<?x8xf32>):
    edg.yield %a : tensor<?x8xf32>
  }
  return
}

// -----

func.func @fusion_body(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) {
  %0 = edg.fusion (%x, %w) : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32> {
  ^bb0(%a: tensor<?x8xf32>, %b: tensor<4x8xf32>):
    // expected-error @+1 {{'edg.linear' op cannot be generated inside a 'edg.fusion'}}
    %l = edg.linear %a, %b : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
    edg.yield %l : tensor<?x4xf32>
  }
  return
}

// -----

// expected-error @+1 {{unknown kernel kind 'matmul' (elementwise, row, rope, embed, rms_norm_grad, column_sum, embed_grad, cross_entropy_rows, label_mean, cross_entropy_grad, distill_kl_rows, distill_kl_grad)}}
edg.kernel @k {kind = "matmul", signature = "", origin = ""} : (tensor<?x8xf32>) -> tensor<?x8xf32> {
^bb0(%arg0: tensor<?x8xf32>):
  edg.yield %arg0 : tensor<?x8xf32>
}

// -----

// expected-error @+1 {{a row kernel needs a static row_width > 0}}
edg.kernel @k {kind = "row", signature = "", origin = ""} : (tensor<?x8xf32>) -> tensor<?x8xf32> {
^bb0(%arg0: tensor<?x8xf32>):
  edg.yield %arg0 : tensor<?x8xf32>
}

// -----

// The training kinds that walk rows need their width too.
// expected-error @+1 {{a column_sum kernel needs a static row_width > 0}}
edg.kernel @k {kind = "column_sum", signature = "", origin = ""} : (tensor<?x8xf32>) -> tensor<8xf32> {
^bb0(%arg0: tensor<?x8xf32>):
  %s = edg.column_sum %arg0 : (tensor<?x8xf32>) -> tensor<8xf32>
  edg.yield %s : tensor<8xf32>
}

// -----

// expected-error @+1 {{heads must be > 0 with num_heads a multiple of num_kv_heads}}
edg.attention_kernel @a {mask = #edg.mask<causal>, num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, element_type = bf16, origin = ""}

// -----

// expected-error @+1 {{element_type must be a float type}}
edg.attention_kernel @a {mask = #edg.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, element_type = i32, origin = ""}

// -----

// expected-error @+1 {{rope_theta needs positions}}
edg.attention_kernel @a {mask = #edg.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, rope_theta = 10000.0 : f64, element_type = bf16, origin = ""}

// -----

func.func @launch_missing(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{no edg.kernel or edg.attention_kernel named @nothing}}
  %0 = edg.launch @nothing(%x) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

edg.kernel @g {kind = "elementwise", signature = "", origin = ""} : (tensor<?x8xf32>) -> tensor<?x8xf32> {
^bb0(%arg0: tensor<?x8xf32>):
  %0 = edg.gelu_tanh %arg0 : tensor<?x8xf32>
  edg.yield %0 : tensor<?x8xf32>
}
func.func @launch_types(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{types do not match kernel @g}}
  %0 = edg.launch @g(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

edg.attention_kernel @a {mask = #edg.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.25 : f64, element_type = f32, has_positions, origin = ""}
func.func @launch_attention(%q: tensor<?x?x8xf32>) {
  // expected-error @+1 {{attention kernel @a takes 4 operands and gives one result}}
  %0 = edg.launch @a(%q, %q, %q) : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

edg.attention_kernel @a {mask = #edg.mask<causal>, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.25 : f64, element_type = f32, origin = ""}
func.func @gemm_epilogue(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{epilogue @a is not an elementwise edg.kernel}}
  %0 = edg.gemm %x, %w {epilogue = @a} : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  return
}

// -----

// Per-row distillation: the teacher shares the batch and vocabulary only.
func.func @distill_rows_vocab(%s: tensor<2x5x32xf32>, %t: tensor<2x9x16xf32>, %i: tensor<2x5xi32>, %l: tensor<2x5xi32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{teacher_logits must be [B, Tt, V] with the student's batch and vocabulary}}
  %r = edg.distill_kl_rows %s, %t, %i, %l : (tensor<2x5x32xf32>, tensor<2x9x16xf32>, tensor<2x5xi32>, tensor<2x5xi32>) -> tensor<2x5xf32>
  return %r : tensor<2x5xf32>
}

// -----

func.func @distill_rows_shape(%s: tensor<2x5x32xf32>, %t: tensor<2x9x32xf32>, %i: tensor<2x4xi32>, %l: tensor<2x5xi32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{logits must be [B, T, V]; teacher_index, labels and the result [B, T]}}
  %r = edg.distill_kl_rows %s, %t, %i, %l : (tensor<2x5x32xf32>, tensor<2x9x32xf32>, tensor<2x4xi32>, tensor<2x5xi32>) -> tensor<2x5xf32>
  return %r : tensor<2x5xf32>
}

// -----

func.func @distill_rows_tau(%s: tensor<2x5x32xf32>, %t: tensor<2x9x32xf32>, %i: tensor<2x5xi32>, %l: tensor<2x5xi32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{temperature must be > 0}}
  %r = edg.distill_kl_rows %s, %t, %i, %l {temperature = 0.0 : f64} : (tensor<2x5x32xf32>, tensor<2x9x32xf32>, tensor<2x5xi32>, tensor<2x5xi32>) -> tensor<2x5xf32>
  return %r : tensor<2x5xf32>
}
