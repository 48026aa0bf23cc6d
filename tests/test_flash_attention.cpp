// The blockwise attention (flash_attention.h) and the TTT attention built on
// it (ttt_attention.h) against plain [L, L] forms: outputs, log-sum-exp and
// the gradients of q and of every step's keys and values, for block sizes
// that do not divide L, GQA, right padding, in fp64 and fp32.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <vector>

#include "talon/model/flash_attention.h"
#include "talon/model/layers.h"
#include "talon/model/eagle3/ttt_attention.h"

namespace talon::model {
namespace {

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

struct Inputs {
  at::Tensor q, k, v, lengths;
};

// B = 2 samples (the second right-padded), 4 query heads over 2 kv heads.
Inputs random_inputs(std::int64_t length, std::int64_t dim, at::ScalarType dtype, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto randn = [&](std::int64_t heads) { return at::randn({2, heads, length, dim}, gen, at::kDouble).to(dtype); };
  Inputs in{randn(4), randn(2), randn(2), at::tensor(std::vector<std::int64_t>{length, length / 2 + 1})};
  return in;
}

// Naive attention with its own mask, in the inputs' dtype through autograd:
// query t of sample b sees keys j <= t with j < lengths[b].
struct Naive {
  at::Tensor out, lse;
};
Naive naive_attention(const Inputs& in, double scale) {
  const std::int64_t length = in.q.size(2);
  at::Tensor k = repeat_kv(in.k, 2), v = repeat_kv(in.v, 2);
  at::Tensor scores = at::matmul(in.q, k.transpose(-2, -1)) * scale;
  at::Tensor t = at::arange(length).view({-1, 1}), j = at::arange(length).view({1, -1});
  at::Tensor hidden = (j > t).view({1, 1, length, length}) | (j.view({1, 1, 1, length}) >= in.lengths.view({-1, 1, 1, 1}));
  scores = scores.masked_fill(hidden, -INFINITY);
  return {at::matmul(at::softmax(scores, -1), v), at::logsumexp(scores, -1)};
}

void expect_blocks_match_naive(at::ScalarType dtype, double tolerance) {
  for (std::int64_t length : {1, 5, 37}) {
    Inputs in = random_inputs(length, 8, dtype, 10 + length);
    const double scale = 1 / std::sqrt(8.0);
    at::Tensor q = in.q.clone().requires_grad_(), k = in.k.clone().requires_grad_(), v = in.v.clone().requires_grad_();
    Naive want = naive_attention({q, k, v, in.lengths}, scale);
    at::Tensor grad_out = at::randn_like(want.out);
    auto [dq, dk, dv] = [&] {
      auto g = torch::autograd::grad({want.out}, {q, k, v}, {grad_out});
      return std::make_tuple(g[0], g[1], g[2]);
    }();
    at::Tensor delta = (grad_out * want.out).sum(-1).detach();
    for (std::int64_t block : {1, 4, 16, 64}) {
      FlashForward got = flash_attention_forward_blocks(in.q, in.k, in.v, in.lengths, scale, block);
      EXPECT_LE(max_diff(got.out, want.out), tolerance) << "L " << length << " block " << block;
      EXPECT_LE(max_diff(got.lse, want.lse), tolerance) << "L " << length << " block " << block;
      FlashGrads grads = flash_attention_backward_blocks(in.q, in.k, in.v, in.lengths, grad_out, got.lse, delta,
                                                         scale, block);
      EXPECT_LE(max_diff(grads.dq, dq), tolerance) << "L " << length << " block " << block;
      EXPECT_LE(max_diff(grads.dk, dk), tolerance) << "L " << length << " block " << block;
      EXPECT_LE(max_diff(grads.dv, dv), tolerance) << "L " << length << " block " << block;
    }
    // The padded sample's rows past its length still see its real keys only.
    if (length > 2) {
      EXPECT_GT(want.out.abs().sum().item<double>(), 0);
    }
  }
}

TEST(FlashAttention, BlocksMatchNaiveFp64) { expect_blocks_match_naive(at::kDouble, 1e-12); }
TEST(FlashAttention, BlocksMatchNaiveFp32) { expect_blocks_match_naive(at::kFloat, 1e-5); }

// The dispatching entry points on the CPU against the block loop, their slow
// twin: PyTorch's fused kernel when no sample is padded, the block loop when
// one is. The backward is given a softmax over more keys than k holds (a
// larger lse and another output, as TTT gives it), whose gradients differ
// from this attention's own.
void expect_dispatch_matches_blocks(at::ScalarType dtype, double tolerance) {
  for (std::int64_t length : {1, 37, 300}) {
    for (bool padded : {false, true}) {
      Inputs in = random_inputs(length, 16, dtype, 20 + length);
      if (!padded) in.lengths.fill_(length);
      const double scale = 1 / std::sqrt(16.0);
      const FlashForward want = flash_attention_forward_blocks(in.q, in.k, in.v, in.lengths, scale);
      const FlashForward got = flash_attention_forward(in.q, in.k, in.v, in.lengths, scale);
      EXPECT_EQ(got.lse.scalar_type(), want.lse.scalar_type());
      EXPECT_LE(max_diff(got.out, want.out), tolerance) << "L " << length << " padded " << padded;
      EXPECT_LE(max_diff(got.lse, want.lse), tolerance) << "L " << length << " padded " << padded;

      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(30 + length);
      const at::Tensor wider_lse = want.lse + at::log1p(0.5 + 1.5 * at::rand(want.lse.sizes(), gen, want.lse.scalar_type()));
      const at::Tensor other_out = want.out + at::randn(want.out.sizes(), gen, at::kDouble).to(dtype);
      const at::Tensor grad_out = at::randn(want.out.sizes(), gen, at::kDouble).to(dtype);
      const at::Tensor delta = (grad_out * other_out).sum(-1);
      const FlashGrads slow =
          flash_attention_backward_blocks(in.q, in.k, in.v, in.lengths, grad_out, wider_lse, delta, scale);
      const FlashGrads fast = flash_attention_backward(in.q, in.k, in.v, in.lengths, grad_out, other_out, wider_lse, scale);
      EXPECT_LE(max_diff(fast.dq, slow.dq), tolerance) << "L " << length << " padded " << padded;
      EXPECT_LE(max_diff(fast.dk, slow.dk), tolerance) << "L " << length << " padded " << padded;
      EXPECT_LE(max_diff(fast.dv, slow.dv), tolerance) << "L " << length << " padded " << padded;
    }
  }
}

TEST(FlashAttention, DispatchMatchesBlocksFp64) { expect_dispatch_matches_blocks(at::kDouble, 1e-12); }
TEST(FlashAttention, DispatchMatchesBlocksFp32) { expect_dispatch_matches_blocks(at::kFloat, 2e-5); }

// The target's attention (PyTorch's fused kernel; on the CPU its flash
// kernel, with grouped kv heads) against the plain form, over lengths that
// span several of the kernel's blocks, in fp64 and fp32.
TEST(FlashAttention, CausalAttentionMatchesReferenceAcrossBlocks) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  for (auto [dtype, tolerance] : {std::pair{at::kDouble, 1e-12}, std::pair{at::kFloat, 1e-5}}) {
    for (std::int64_t length : {1, 37, 600}) {
      at::Tensor q = at::randn({2, 4, length, 16}, gen, at::kDouble).to(dtype);
      at::Tensor k = at::randn({2, 2, length, 16}, gen, at::kDouble).to(dtype);
      at::Tensor v = at::randn({2, 2, length, 16}, gen, at::kDouble).to(dtype);
      EXPECT_LE(max_diff(causal_attention(q, k, v), causal_attention_reference(q, k, v)), tolerance)
          << c10::toString(dtype) << " length " << length;
    }
  }
}

// ------------------------------------------------------------ TTT attention

// Steps 0..T-1 of random keys and values; the production function and the
// reference are each differentiated for q and every cache entry.
void expect_ttt_attention_matches(at::ScalarType dtype, double tolerance, std::int64_t length) {
  const int T = 7;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(length));
  auto randn = [&](std::int64_t heads) {
    return at::randn({2, heads, length, 8}, gen, at::kDouble).to(dtype).requires_grad_();
  };
  at::Tensor lengths = at::tensor(std::vector<std::int64_t>{length, length / 2 + 3});
  TttKvCache cache;
  for (int s = 0; s < T; ++s) {
    cache.keys.push_back(randn(2));
    cache.values.push_back(randn(2));
    at::Tensor q = randn(4);
    at::Tensor got = ttt_attention(q, cache, lengths), want = ttt_attention_reference(q, cache, lengths);
    EXPECT_LE(max_diff(got, want), tolerance) << "step " << s;
    at::Tensor grad_out = at::randn(got.sizes(), gen, at::kDouble).to(dtype);
    std::vector<at::Tensor> wrt = {q};
    wrt.insert(wrt.end(), cache.keys.begin(), cache.keys.end());
    wrt.insert(wrt.end(), cache.values.begin(), cache.values.end());
    auto g_got = torch::autograd::grad({got}, wrt, {grad_out});
    auto g_want = torch::autograd::grad({want}, wrt, {grad_out});
    for (std::size_t i = 0; i < wrt.size(); ++i) {
      EXPECT_LE(max_diff(g_got[i], g_want[i]), tolerance) << "step " << s << " input " << i;
      EXPECT_GT(g_want[i].abs().max().item<double>(), 0) << "step " << s << " input " << i;
    }
  }
}

// 300 and 600 positions span two and three 256-row blocks, neither a multiple.
TEST(TttAttention, BlockwiseMatchesReferenceFp64) {
  expect_ttt_attention_matches(at::kDouble, 1e-10, 13);
  expect_ttt_attention_matches(at::kDouble, 1e-10, 300);
}
TEST(TttAttention, BlockwiseMatchesReferenceFp32) { expect_ttt_attention_matches(at::kFloat, 1e-5, 600); }

}  // namespace
}  // namespace talon::model
