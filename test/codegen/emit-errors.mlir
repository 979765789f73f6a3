// RUN: edg-opt %s --edg-emit-cpp=output=%t.cc --split-input-file -verify-diagnostics
// RUN: edg-opt %s --edg-emit-cuda=output=%t.cu --split-input-file -verify-diagnostics
//
// What the emitters refuse, with a diagnostic: attention masks whose meaning
// depends on data they are not given, and IR that is not kernel level yet.

// expected-error @+1 {{the prefix mask needs per-row prefix lengths, which the attention kernel generator does not take}}
edg.attention_kernel @a {mask = #edg.mask<prefix>, num_heads = 2 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, element_type = bf16, origin = "test"}

// -----

// expected-error @+1 {{needs kernel-level IR: run edg-lower-to-kernels first}}
module {
  func.func @f(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %0 = edg.fusion (%x) : (tensor<?x8xf32>) -> tensor<?x8xf32> {
    ^bb0(%a: tensor<?x8xf32>):
      %g = edg.gelu_tanh %a : tensor<?x8xf32>
      edg.yield %g : tensor<?x8xf32>
    }
    return %0 : tensor<?x8xf32>
  }
}
