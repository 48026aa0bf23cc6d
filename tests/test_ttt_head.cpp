// The chunked head and loss (ttt_head.h, custom autograd) against the same
// computation over the whole sequence under plain autograd: loss, accuracy
// numerator and the gradients of the hidden state, norm and lm_head, for
// chunk sizes that do not divide L and steps whose rows run past the end.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <ATen/core/grad_mode.h>

#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_distribution.h"
#include "talon/model/eagle3/ttt_head.h"

namespace talon::model {
namespace {

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

void expect_chunks_match_whole(at::ScalarType dtype, double tolerance) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(21);
  io::DraftConfig c;
  c.hidden_size = 16, c.intermediate_size = 32, c.num_attention_heads = 2, c.num_key_value_heads = 1;
  c.head_dim = 8, c.vocab_size = 40, c.draft_vocab_size = 12, c.target_hidden_size = 16, c.rms_norm_eps = 1e-6;
  const std::int64_t B = 2, L = 13;
  at::Tensor embed = at::randn({c.vocab_size, c.hidden_size}, gen, at::kDouble).to(dtype);
  Eagle3Draft draft = Eagle3Draft::create(c, embed, gen, at::TensorOptions().dtype(dtype));
  {
    at::NoGradGuard no_grad;
    draft.lm_head.mul_(8);  // confident logits: argmaxes vary by row
    draft.norm.copy_(1 + 0.2 * at::randn({c.hidden_size}, gen, at::kDouble));
  }
  TargetDistribution target{at::randn({B, L, 16}, gen, at::kDouble).to(dtype),
                            at::randn({c.draft_vocab_size, 16}, gen, at::kDouble).to(dtype), {}};
  at::Tensor hidden = at::randn({B, L, c.hidden_size}, gen, at::kDouble).to(dtype).requires_grad_();
  at::Tensor mask = (at::rand({B, L}, gen, at::kDouble) < 0.6).to(at::kFloat);  // holes
  mask[0][L - 1] = 1;                                                           // a live uniform row

  std::vector<at::Tensor> wrt = {hidden, draft.norm, draft.lm_head};
  for (std::int64_t step : {0, 3}) {
    StepLoss whole = step_loss(draft, hidden, target, step, mask, 0);
    auto g_whole = torch::autograd::grad({whole.loss}, wrt);
    EXPECT_GT(whole.correct.item<double>(), 0);
    for (std::int64_t chunk : {std::int64_t{1}, std::int64_t{4}, std::int64_t{5}, L, std::int64_t{64}}) {
      SCOPED_TRACE(::testing::Message() << "step " << step << " chunk " << chunk);
      StepLoss chunked = step_loss(draft, hidden, target, step, mask, chunk);
      EXPECT_NEAR(chunked.loss.item<double>(), whole.loss.item<double>(), tolerance);
      EXPECT_EQ(chunked.correct.item<double>(), whole.correct.item<double>());
      auto g_chunked = torch::autograd::grad({chunked.loss * 1.7}, wrt);  // a non-unit upstream gradient
      for (std::size_t i = 0; i < wrt.size(); ++i) {
        EXPECT_LE(max_diff(g_chunked[i], g_whole[i] * 1.7), tolerance) << "input " << i;
        EXPECT_GT(g_whole[i].abs().max().item<double>(), 1e-6) << "input " << i;
      }
    }
  }
}

TEST(StepLoss, ChunkedMatchesWholeFp64) { expect_chunks_match_whole(at::kDouble, 1e-12); }
TEST(StepLoss, ChunkedMatchesWholeFp32) { expect_chunks_match_whole(at::kFloat, 1e-5); }

}  // namespace
}  // namespace talon::model
