// The CUDA flash attention kernels (flash_attention_cuda.cu, reached through
// flash_attention.h's dispatch for CUDA tensors) against attention written
// out plainly on the CPU in fp64: scores under an explicit [L, L] mask, a
// softmax, and the backward formulas of flash_attention.h. Every test skips
// without a GPU or without the kernels in the build.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "talon/model/flash_attention.h"

namespace talon::model {
namespace {

bool have_kernel() { return at::hasCUDA() && flash_attention_has_cuda_kernel(); }

struct Shape {
  std::int64_t batch, heads, kv_heads, head_dim, length;
};

std::string describe(const Shape& s) {
  return "B " + std::to_string(s.batch) + " h " + std::to_string(s.heads) + " kv " + std::to_string(s.kv_heads) +
         " d " + std::to_string(s.head_dim) + " L " + std::to_string(s.length);
}

// B = 2, h = 4, kv = 2 at each head dim and length asked of the kernel (L = 1,
// a partial 32-row tile, ten tiles), then one head per kv head, and one kv
// head for six query heads over three samples.
std::vector<Shape> shapes() {
  std::vector<Shape> result;
  for (std::int64_t d : {16, 64, 128}) {
    for (std::int64_t length : {1, 37, 300}) result.push_back({2, 4, 2, d, length});
  }
  result.push_back({2, 3, 3, 32, 64});
  result.push_back({3, 6, 1, 32, 65});
  return result;
}

// Sample b holds L, L / 2 + 1, then 1 real tokens, in turn.
std::vector<std::int64_t> sample_lengths(const Shape& s) {
  std::vector<std::int64_t> lengths;
  for (std::int64_t b = 0; b < s.batch; ++b) {
    const std::int64_t choices[] = {s.length, s.length / 2 + 1, 1};
    lengths.push_back(choices[b % 3]);
  }
  return lengths;
}

// [L, L]: query t sees key j when j <= t and j < length.
at::Tensor visible(std::int64_t L, std::int64_t length) {
  at::Tensor mask = at::zeros({L, L}, at::kBool);
  auto m = mask.accessor<bool, 2>();
  for (std::int64_t t = 0; t < L; ++t) {
    for (std::int64_t j = 0; j < L; ++j) m[t][j] = j <= t && j < length;
  }
  return mask;
}

// [L, L] fp64 scaled scores of one query head against its kv head, -inf where masked.
at::Tensor scores(const at::Tensor& q, const at::Tensor& k, std::int64_t length, double scale) {
  at::Tensor s = at::matmul(q, k.t()) * scale;
  return s.masked_fill(visible(q.size(0), length).logical_not(), -INFINITY);
}

struct Inputs {
  at::Tensor q, k, v, grad_out;  // CPU, in the element type under test
  at::Tensor lengths;            // CPU int64
  std::vector<std::int64_t> length_values;
  double scale;
};

Inputs make_inputs(const Shape& s, at::ScalarType type) {
  Inputs in;
  in.q = at::randn({s.batch, s.heads, s.length, s.head_dim}).to(type);
  in.k = at::randn({s.batch, s.kv_heads, s.length, s.head_dim}).to(type);
  in.v = at::randn({s.batch, s.kv_heads, s.length, s.head_dim}).to(type);
  in.grad_out = at::randn({s.batch, s.heads, s.length, s.head_dim}).to(type);
  in.length_values = sample_lengths(s);
  in.lengths = at::tensor(in.length_values, at::kLong);
  in.scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  return in;
}

struct Reference {
  at::Tensor out, lse, delta;  // fp64: [B, h, L, d], [B, h, L], rowsum(grad_out * out) [B, h, L]
};

Reference reference_forward(const Inputs& in) {
  const at::Tensor q = in.q.to(at::kDouble), k = in.k.to(at::kDouble), v = in.v.to(at::kDouble);
  const std::int64_t batch = q.size(0), heads = q.size(1), group = heads / k.size(1);
  Reference ref{at::zeros_like(q), at::zeros({batch, heads, q.size(2)}, at::kDouble), {}};
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t h = 0; h < heads; ++h) {
      at::Tensor s = scores(q[b][h], k[b][h / group], in.length_values[b], in.scale);
      at::Tensor lse = at::logsumexp(s, -1);
      ref.out[b][h].copy_(at::matmul(at::exp(s - lse.unsqueeze(1)), v[b][h / group]));
      ref.lse[b][h].copy_(lse);
    }
  }
  ref.delta = (in.grad_out.to(at::kDouble) * ref.out).sum(-1);
  return ref;
}

// fp64 gradients from the formulas: P = exp(scores - lse), dv = P^T grad_out,
// dS = P (grad_out v^T - delta), dq = scale dS k, dk = scale dS^T q; dk and dv
// summed over the query heads of a kv head.
FlashGrads reference_backward(const Inputs& in, const at::Tensor& lse, const at::Tensor& delta) {
  const at::Tensor q = in.q.to(at::kDouble), k = in.k.to(at::kDouble), v = in.v.to(at::kDouble);
  const at::Tensor grad_out = in.grad_out.to(at::kDouble);
  const at::Tensor lse_d = lse.to(at::kDouble), delta_d = delta.to(at::kDouble);
  const std::int64_t batch = q.size(0), heads = q.size(1), group = heads / k.size(1);
  FlashGrads grads{at::zeros_like(q), at::zeros_like(k), at::zeros_like(v)};
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t h = 0; h < heads; ++h) {
      const std::int64_t kv = h / group;
      at::Tensor p = at::exp(scores(q[b][h], k[b][kv], in.length_values[b], in.scale) - lse_d[b][h].unsqueeze(1));
      at::Tensor ds = p * (at::matmul(grad_out[b][h], v[b][kv].t()) - delta_d[b][h].unsqueeze(1));
      grads.dq[b][h].copy_(at::matmul(ds, k[b][kv]) * in.scale);
      grads.dk[b][kv].add_(at::matmul(ds.t(), q[b][h]) * in.scale);
      grads.dv[b][kv].add_(at::matmul(p.t(), grad_out[b][h]));
    }
  }
  return grads;
}

// max |got - want| <= tolerance * max(max |want|, 1). The inputs are N(0, 1)
// draws, so every tensor compared is of order 1; the floor is for the ones
// that are zero in exact arithmetic (L = 1: P = 1, dP = delta, so dq = dk = 0)
// and come out as fp32 rounding noise.
void expect_close(const at::Tensor& got, const at::Tensor& want, double tolerance, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const at::Tensor error = (got.to(at::kCPU).to(at::kDouble) - want).abs();
  const double bound = tolerance * std::max(want.abs().max().item<double>(), 1.0);
  const double worst = error.max().item<double>();
  EXPECT_LE(worst, bound) << what << ": max error " << worst << " at flat index " << error.argmax().item<std::int64_t>()
                          << ", allowed " << bound;
}

at::Tensor cuda(const at::Tensor& x) { return x.to(at::kCUDA); }

void check_forward(const Shape& shape, at::ScalarType type, double tolerance) {
  const Inputs in = make_inputs(shape, type);
  const Reference ref = reference_forward(in);
  const FlashForward got = flash_attention_forward(cuda(in.q), cuda(in.k), cuda(in.v), cuda(in.lengths), in.scale);
  EXPECT_EQ(got.out.scalar_type(), type) << describe(shape);
  EXPECT_EQ(got.lse.scalar_type(), at::kFloat) << describe(shape);
  expect_close(got.out, ref.out, tolerance, "out, " + describe(shape));
  expect_close(got.lse, ref.lse, 1e-4, "lse, " + describe(shape));  // fp32 from inputs exact in fp32
}

// The kernel against the formulas for a softmax with log-sum-exp `lse` and
// whole output `out`, given in q's dtype (delta = rowsum(grad_out * out)).
void check_backward(const Inputs& in, const at::Tensor& out, const at::Tensor& lse, double tolerance,
                    const std::string& what) {
  const at::Tensor given = out.to(in.q.scalar_type());
  const FlashGrads want = reference_backward(in, lse, (in.grad_out.to(at::kDouble) * given.to(at::kDouble)).sum(-1));
  const FlashGrads got = flash_attention_backward(cuda(in.q), cuda(in.k), cuda(in.v), cuda(in.lengths),
                                                  cuda(in.grad_out), cuda(given), cuda(lse.to(at::kFloat)), in.scale);
  EXPECT_EQ(got.dq.scalar_type(), in.q.scalar_type()) << what;
  expect_close(got.dq, want.dq, tolerance, "dq, " + what);
  expect_close(got.dk, want.dk, tolerance, "dk, " + what);
  expect_close(got.dv, want.dv, tolerance, "dv, " + what);
}

TEST(FlashAttentionCuda, ForwardMatchesPlainAttentionFp32) {
  if (!have_kernel()) GTEST_SKIP() << "needs a GPU and a build with the CUDA kernels";
  at::manual_seed(1);
  for (const Shape& shape : shapes()) check_forward(shape, at::kFloat, 1e-4);
}

TEST(FlashAttentionCuda, ForwardMatchesPlainAttentionBf16) {
  if (!have_kernel()) GTEST_SKIP() << "needs a GPU and a build with the CUDA kernels";
  at::manual_seed(2);
  for (const Shape& shape : shapes()) check_forward(shape, at::kBFloat16, 2e-2);  // out rounded to bf16
}

TEST(FlashAttentionCuda, BackwardMatchesPlainGradientsFp32) {
  if (!have_kernel()) GTEST_SKIP() << "needs a GPU and a build with the CUDA kernels";
  at::manual_seed(3);
  for (const Shape& shape : shapes()) {
    const Inputs in = make_inputs(shape, at::kFloat);
    const Reference ref = reference_forward(in);
    check_backward(in, ref.out, ref.lse, 1e-4, describe(shape));
  }
}

TEST(FlashAttentionCuda, BackwardMatchesPlainGradientsBf16) {
  if (!have_kernel()) GTEST_SKIP() << "needs a GPU and a build with the CUDA kernels";
  at::manual_seed(4);
  for (const Shape& shape : shapes()) {
    const Inputs in = make_inputs(shape, at::kBFloat16);
    const Reference ref = reference_forward(in);
    check_backward(in, ref.out, ref.lse, 2e-2, describe(shape));  // gradients rounded to bf16
  }
}

// TTT's softmax covers extra keys outside k: its lse is larger and its
// output, hence delta, differs. The kernel must take both as given;
// recomputing them from q and k would give this attention's own gradients,
// which the test tells apart.
TEST(FlashAttentionCuda, BackwardUsesTheGivenLseAndOutput) {
  if (!have_kernel()) GTEST_SKIP() << "needs a GPU and a build with the CUDA kernels";
  at::manual_seed(5);
  for (const Shape& shape : {Shape{2, 4, 2, 64, 37}, Shape{2, 4, 2, 128, 300}}) {
    const Inputs in = make_inputs(shape, at::kFloat);
    const Reference ref = reference_forward(in);
    // log(exp(lse) + extra mass) with the extra between 0.5 and 2 times this attention's own.
    const at::Tensor wider_lse = ref.lse + at::log1p(0.5 + 1.5 * at::rand(ref.lse.sizes(), at::kDouble));
    const at::Tensor other_out = ref.out + at::randn(ref.out.sizes(), at::kDouble);
    const FlashGrads own = reference_backward(in, ref.lse, ref.delta);
    const FlashGrads wider = reference_backward(in, wider_lse, (in.grad_out.to(at::kDouble) * other_out).sum(-1));
    ASSERT_GT((own.dq - wider.dq).abs().max().item<double>(), 0.1 * own.dq.abs().max().item<double>());
    check_backward(in, other_out, wider_lse, 1e-4, "given lse and output, " + describe(shape));
  }
}

}  // namespace
}  // namespace talon::model
