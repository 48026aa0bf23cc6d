// The production TTT path (model/eagle3/ttt.h, target_distribution.h) against a
// plain reference written here from brief §2: one explicit attention mask
// over the concatenated keys of all steps, full-vocabulary target logits
// shifted step by step, the loss and accuracy as the brief states them.
// Also a finite-difference check of the production gradients in fp64.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <vector>

#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_distribution.h"
#include "talon/model/eagle3/ttt.h"
#include "test_support.h"

namespace talon::model {
namespace {

// ---------------------------------------------------------------- reference

at::Tensor ref_rms_norm(const at::Tensor& x, const at::Tensor& w, double eps) {
  at::Tensor x32 = x.to(at::promote_types(x.scalar_type(), at::kFloat));
  at::Tensor y = x32 / at::sqrt((x32 * x32).mean(-1, true) + eps);
  return w * y.to(x.scalar_type());
}

// Rotate-half RoPE written per pair: (x_i, x_{i+d/2}) turned by angle pos * inv_freq_i.
at::Tensor ref_rope(const at::Tensor& x, std::int64_t first_position, double theta) {
  const std::int64_t length = x.size(2), d = x.size(3), half = d / 2;
  at::Tensor i = at::arange(0, d, 2, at::kLong).to(at::kFloat) / static_cast<double>(d);
  at::Tensor inv_freq = 1.0 / at::pow(theta, i);  // [d/2] fp32
  at::Tensor angle = at::arange(first_position, first_position + length, at::kLong).to(at::kFloat).unsqueeze(1) * inv_freq;
  at::Tensor cos = angle.cos().to(x.scalar_type()), sin = angle.sin().to(x.scalar_type());  // [L, d/2]
  at::Tensor a = x.narrow(-1, 0, half), b = x.narrow(-1, half, half);
  return at::cat({a * cos - b * sin, b * cos + a * sin}, -1);
}

struct RefResult {
  at::Tensor loss;
  std::vector<double> ploss, correct, supervised;
};

// Brief §2, literally: every step recomputes p and pm from the shifted z.
RefResult reference_ttt(const Eagle3Draft& m, const at::Tensor& input_ids_in, const at::Tensor& loss_mask_in,
                        const at::Tensor& lengths, const at::Tensor& aux, const at::Tensor& target_hidden,
                        const at::Tensor& target_lm_head, const at::Tensor& used, const at::Tensor& t2d, int T) {
  const auto& c = m.config;
  const std::int64_t B = input_ids_in.size(0), L = input_ids_in.size(1), heads = c.num_attention_heads,
                     kv_heads = c.num_key_value_heads, d = c.head_dim;
  const double eps = c.rms_norm_eps;
  auto shift = [](const at::Tensor& x) {
    return at::cat({x.narrow(1, 1, x.size(1) - 1), at::zeros_like(x.narrow(1, 0, 1))}, 1);
  };
  at::Tensor z = at::matmul(target_hidden, target_lm_head.t());  // [B, L, V]: the full logits
  at::Tensor input_ids = shift(input_ids_in), loss_mask = loss_mask_in.clone();
  z = shift(z);

  RefResult out;
  const at::ScalarType wide = at::promote_types(m.fc.scalar_type(), at::kFloat);
  out.loss = at::zeros({}, wide);
  std::vector<at::Tensor> keys, values;  // [B, heads, L, d] per step
  // EAGLE-3.1's fc_norm (design dflash-dspark.md §5): each aux layer's
  // features normed alone before fc.
  at::Tensor fused = aux;
  if (c.fc_norm) {
    const std::int64_t w = c.target_hidden_size;
    fused = at::cat({ref_rms_norm(aux.narrow(-1, 0, w), m.fc_norm_0, eps),
                     ref_rms_norm(aux.narrow(-1, w, w), m.fc_norm_1, eps),
                     ref_rms_norm(aux.narrow(-1, 2 * w, w), m.fc_norm_2, eps)},
                    -1);
  }
  at::Tensor h_in = at::matmul(fused, m.fc.t());
  for (int s = 0; s < T; ++s) {
    at::Tensor e = m.embed_tokens.index_select(0, input_ids.flatten()).view({B, L, -1}).to(m.fc.scalar_type());
    at::Tensor x = at::cat({ref_rms_norm(e, m.input_layernorm, eps), ref_rms_norm(h_in, m.hidden_norm, eps)}, -1);
    at::Tensor q = at::matmul(x, m.q_proj.t()).view({B, L, heads, d}).permute({0, 2, 1, 3});
    at::Tensor k = at::matmul(x, m.k_proj.t()).view({B, L, kv_heads, d}).permute({0, 2, 1, 3});
    at::Tensor v = at::matmul(x, m.v_proj.t()).view({B, L, kv_heads, d}).permute({0, 2, 1, 3});
    q = ref_rope(q, s, c.rope_theta);
    k = ref_rope(k, s, c.rope_theta);
    keys.push_back(k.repeat_interleave(heads / kv_heads, 1));
    values.push_back(v.repeat_interleave(heads / kv_heads, 1));

    // The mask over [k_0 | k_1 | ... | k_s], (s + 1) L keys, built entry by entry.
    at::Tensor allowed = at::zeros({B, 1, L, (s + 1) * L}, at::kBool);
    auto a = allowed.accessor<bool, 4>();
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t n = lengths[b].item<std::int64_t>();
      for (std::int64_t t = 0; t < L; ++t) {
        for (std::int64_t j = 0; j < (s + 1) * L; ++j) {
          a[b][0][t][j] = j < L ? (j <= t && j < n) : (j % L == t);
        }
      }
    }
    at::Tensor K = at::cat(keys, 2), V = at::cat(values, 2);
    at::Tensor scores = (at::matmul(q, K.transpose(2, 3)) / std::sqrt(static_cast<double>(d))).to(wide);
    at::Tensor attn = at::matmul(at::softmax(scores.masked_fill(allowed.logical_not(), -INFINITY), -1).to(q.scalar_type()), V);
    at::Tensor h = h_in + at::matmul(attn.permute({0, 2, 1, 3}).reshape({B, L, heads * d}), m.o_proj.t());
    at::Tensor y = ref_rms_norm(h, m.post_attention_layernorm, eps);
    h = h + at::matmul(at::silu(at::matmul(y, m.gate_proj.t())) * at::matmul(y, m.up_proj.t()), m.down_proj.t());
    at::Tensor logits = at::matmul(ref_rms_norm(h, m.norm, eps), m.lm_head.t());

    at::Tensor p = at::softmax(z.index_select(2, used).to(wide), -1);
    at::Tensor pm = t2d.index_select(0, z.argmax(-1).flatten()).view({B, L}).to(at::kFloat) * loss_mask;
    at::Tensor loss_s = -(pm.unsqueeze(-1) * p * at::log_softmax(logits.to(wide), -1)).sum() / double(B * L);
    out.loss = out.loss + std::pow(0.8, s) * loss_s;
    out.ploss.push_back(loss_s.item<double>());
    out.correct.push_back((pm * (logits.argmax(-1) == p.argmax(-1)).to(at::kFloat)).sum().item<double>());
    out.supervised.push_back(loss_mask.sum().item<double>());
    // EAGLE-3.1's norm_output: the next step reads the final-normed state,
    // the very tensor lm_head read.
    h_in = c.norm_output ? ref_rms_norm(h, m.norm, eps) : h;
    input_ids = shift(input_ids);
    z = shift(z);
    loss_mask = shift(loss_mask);
  }
  return out;
}

// ---------------------------------------------------------------- fixtures

io::DraftConfig tiny_config(bool fc_norm = false, bool norm_output = false) {
  io::DraftConfig c;
  c.fc_norm = fc_norm;
  c.norm_output = norm_output;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.vocab_size = 50;
  c.draft_vocab_size = 20;
  c.target_hidden_size = 24;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000;
  return c;
}

struct Problem {
  Eagle3Draft draft;
  at::Tensor input_ids, loss_mask, lengths, aux, target_hidden, target_lm_head;
  at::Tensor used;  // [Vd] the draft vocabulary's target ids, ascending
  DraftVocab vocab;
};

// Random weights scaled up so the draft's predictions vary by position,
// two samples of different lengths (right padding), a sparse loss mask.
// live_last_row: position L-1 is supervised and token 0 is in the draft
// vocabulary, so the uniform last row and pm[L-1] = t2d[0] reach the loss.
Problem make_problem(at::ScalarType dtype, std::uint64_t seed, bool live_last_row = false,
                     const io::DraftConfig& c = tiny_config()) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const std::int64_t B = 2, L = 11, V = c.vocab_size, Vd = c.draft_vocab_size, Ht = c.target_hidden_size;
  Problem p;
  at::Tensor embed = at::randn({V, c.hidden_size}, gen, at::kDouble).to(dtype);
  p.draft = Eagle3Draft::create(c, embed, gen, at::TensorOptions().dtype(dtype));
  {
    at::NoGradGuard no_grad;
    for (auto& [name, t] : p.draft.parameters()) {
      if (name.find("norm") != std::string::npos) t.copy_(1 + 0.1 * at::randn(t.sizes(), gen, at::kDouble));
      else t.mul_(3);
    }
  }
  p.lengths = at::tensor(std::vector<std::int64_t>{L, 7});
  p.input_ids = at::randint(0, V, {B, L}, gen, at::kLong);
  p.loss_mask = (at::rand({B, L}, gen, at::kDouble) < 0.7).to(at::kFloat);
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t n = p.lengths[b].item<std::int64_t>();
    p.input_ids[b].narrow(0, n, L - n).zero_();
    p.loss_mask[b].narrow(0, n - 1, L - n + 1).zero_();  // Talon: loss_mask[n-1] = 0, 0 in padding
  }
  p.aux = at::randn({B, L, 3 * Ht}, gen, at::kDouble).to(dtype);
  p.target_hidden = at::randn({B, L, c.hidden_size}, gen, at::kDouble).to(dtype);
  p.target_lm_head = at::randn({V, c.hidden_size}, gen, at::kDouble).to(dtype);
  // Draft vocab: a random Vd-subset, so some argmaxes fall outside it.
  at::Tensor pick = at::randperm(V, gen, at::kLong).narrow(0, 0, Vd);
  if (live_last_row) {
    pick = at::cat({at::zeros({1}, at::kLong), pick.masked_select(pick != 0).narrow(0, 0, Vd - 1)});
    p.loss_mask[0][L - 1] = 1;
  }
  p.used = std::get<0>(pick.sort());
  p.vocab.d2t = p.used - at::arange(Vd, at::kLong);
  p.vocab.t2d = at::zeros({V}, at::kBool).index_fill_(0, p.used, true);
  return p;
}

TargetDistribution target_of(const Problem& p) {
  return target_distribution(p.target_hidden, p.target_lm_head, draft_head_rows(p.target_lm_head, p.vocab), p.vocab);
}

TttOutput production(const Problem& p, int T, const TttOptions& options = {}) {
  TttBatch batch{p.input_ids, p.loss_mask, p.lengths, p.aux, target_of(p)};
  return ttt_forward(p.draft, batch, T, options);
}

std::vector<at::Tensor> gradients(const Eagle3Draft& draft, const at::Tensor& loss) {
  std::vector<at::Tensor> params;
  for (auto& [name, t] : draft.parameters()) params.push_back(t);
  return torch::autograd::grad({loss}, params);
}

// The plain path, the default long-context path, and mixtures with head
// chunks that do not divide L = 11.
std::vector<TttOptions> option_sets() {
  return {TttOptions::plain(), TttOptions{}, TttOptions{true, 3, true}, TttOptions{true, 4, false},
          TttOptions{false, 5, true}};
}

// Returns the reference's correct predictions summed over the steps.
double expect_matches_reference(at::ScalarType dtype, double tolerance, std::uint64_t seed, bool live_last_row,
                                const TttOptions& options, const io::DraftConfig& config = tiny_config()) {
  SCOPED_TRACE(::testing::Message() << "blockwise " << options.blockwise_attention << " chunk "
                                    << options.head_chunk << " recompute " << options.recompute);
  const int T = 5;
  Problem p = make_problem(dtype, seed, live_last_row, config);
  TttOutput got = production(p, T, options);
  RefResult want = reference_ttt(p.draft, p.input_ids, p.loss_mask, p.lengths, p.aux, p.target_hidden,
                                 p.target_lm_head, p.used, p.vocab.t2d, T);
  EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), tolerance);
  double total_correct = 0;
  for (int s = 0; s < T; ++s) {
    EXPECT_NEAR(got.ploss[s].item<double>(), want.ploss[s], tolerance) << "step " << s;
    EXPECT_EQ(got.correct[s].item<double>(), want.correct[s]) << "step " << s;
    EXPECT_EQ(got.supervised[s].item<double>(), want.supervised[s]) << "step " << s;
    total_correct += want.correct[s];
  }
  EXPECT_GT(want.ploss[0], 0.01);  // the problem is not degenerate
  EXPECT_GT(want.supervised[0], 3);

  std::vector<at::Tensor> g_got = gradients(p.draft, got.loss), g_want = gradients(p.draft, want.loss);
  auto names = p.draft.parameters();
  for (std::size_t i = 0; i < g_got.size(); ++i) {
    double diff = (g_got[i] - g_want[i]).abs().max().item<double>();
    EXPECT_LE(diff, tolerance) << names[i].first;
    EXPECT_GT(g_want[i].abs().max().item<double>(), 1e-6) << names[i].first << " gets no gradient";
  }
  return total_correct;
}

// EAGLE-3.1: fc_norm and norm_output, alone and together, every option
// set, fp64 and fp32, against the reference's literal reading of them.
TEST(Ttt, Eagle31MatchesReference) {
  for (const auto& [fc_norm, norm_output] : {std::pair{true, false}, std::pair{false, true}, std::pair{true, true}}) {
    SCOPED_TRACE(::testing::Message() << "fc_norm " << fc_norm << " norm_output " << norm_output);
    for (const TttOptions& options : option_sets()) {
      expect_matches_reference(at::kDouble, 1e-10, 5, false, options, tiny_config(fc_norm, norm_output));
      expect_matches_reference(at::kFloat, 1e-5, 6, false, options, tiny_config(fc_norm, norm_output));
    }
  }
}

// Seeds 1-3 plus a live last row; the accuracy numerators must be exercised.
// Every option set, so the long-context paths (blockwise attention, chunked
// head, recomputation) are held to the same reference as the plain one.
TEST(Ttt, MatchesReferenceFp64) {
  for (const TttOptions& options : option_sets()) {
    double correct = 0;
    for (std::uint64_t seed : {1, 2, 3}) correct += expect_matches_reference(at::kDouble, 1e-10, seed, false, options);
    correct += expect_matches_reference(at::kDouble, 1e-10, 4, true, options);
    EXPECT_GT(correct, 0);
  }
}

TEST(Ttt, MatchesReferenceFp32) {
  for (const TttOptions& options : option_sets()) {
    double correct = 0;
    for (std::uint64_t seed : {1, 2, 3}) correct += expect_matches_reference(at::kFloat, 1e-5, seed, false, options);
    correct += expect_matches_reference(at::kFloat, 1e-5, 4, true, options);
    EXPECT_GT(correct, 0);
  }
}

// The live last row is supervised: its pm is t2d[0] = 1 against a uniform p.
TEST(Ttt, LastRowSeesUniformTarget) {
  Problem p = make_problem(at::kDouble, 4, true);
  TargetDistribution target = target_of(p);
  const std::int64_t L = p.input_ids.size(1);
  EXPECT_EQ(target.in_draft[0][L - 1].item<double>(), 1.0);
  EXPECT_EQ(p.loss_mask[0][L - 1].item<double>(), 1.0);
}

// Central differences of the production loss in fp64 against autograd, on
// a few entries of every parameter; the long-context path with two chunks.
TEST(Ttt, GradientMatchesFiniteDifferences) {
  const int T = 3;
  Problem p = make_problem(at::kDouble, 7);
  const TttOptions options{true, 6, true};
  at::Tensor loss = production(p, T, options).loss;
  std::vector<at::Tensor> grads = gradients(p.draft, loss);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  auto params = p.draft.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    at::Tensor flat = params[i].second.detach().view({-1});  // shares storage with the parameter
    at::Tensor g = grads[i].reshape({-1});
    for (int k = 0; k < 4; ++k) {
      const std::int64_t idx = at::randint(0, flat.numel(), {1}, gen, at::kLong).item<std::int64_t>();
      const double h = 1e-6, saved = flat[idx].item<double>();
      flat[idx] = saved + h;
      double up = production(p, T, options).loss.item<double>();
      flat[idx] = saved - h;
      double down = production(p, T, options).loss.item<double>();
      flat[idx] = saved;
      const double numeric = (up - down) / (2 * h), analytic = g[idx].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-7 + 1e-5 * std::abs(numeric)) << params[i].first << "[" << idx << "]";
    }
  }
}

TEST(TargetDistribution, ChunkedArgmaxMatchesFullArgmaxWithTies) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Tensor hidden = at::randn({40, 8}, gen, at::kDouble);
  at::Tensor lm_head = at::randn({97, 8}, gen, at::kDouble);
  lm_head = lm_head / lm_head.norm(2, -1, true);  // unit rows: hidden = c * row r has its maximum at r
  // Duplicate rows across chunk boundaries create exact ties, and the first
  // two rows of hidden point at them.
  lm_head[70].copy_(lm_head[3]);
  lm_head[50].copy_(lm_head[20]);
  hidden[0].copy_(lm_head[3] * 10);
  hidden[1].copy_(lm_head[20] * 10);
  at::Tensor want = at::matmul(hidden, lm_head.t()).argmax(-1);
  EXPECT_EQ(want[0].item<std::int64_t>(), 3);
  EXPECT_EQ(want[1].item<std::int64_t>(), 20);
  for (std::int64_t chunk : {1, 7, 16, 97, 200}) {
    for (std::int64_t rows : {1, 3, 40, 64}) {
      EXPECT_TRUE(at::equal(chunked_argmax(hidden, lm_head, chunk, rows), want)) << "chunk " << chunk << " rows " << rows;
    }
  }
  EXPECT_TRUE(at::equal(chunked_argmax(hidden, lm_head), want));  // the block sized to the work
}

// The block grows with the rows and their width up to 2048 x 16384 logits,
// from at least 2^20; sizes worked by hand.
TEST(TargetDistribution, ArgmaxBlockFollowsTheWork) {
  const ArgmaxBlock tiny = argmax_block(100, 64);  // 8 N H = 51,200 < 2^20 = 1,048,576
  EXPECT_EQ(tiny.rows, 100);
  EXPECT_EQ(tiny.vocab_chunk, 10485);
  const ArgmaxBlock mid = argmax_block(8191, 64);  // 8 N H = 4,193,792 over 2048 rows
  EXPECT_EQ(mid.rows, 2048);
  EXPECT_EQ(mid.vocab_chunk, 2047);
  const ArgmaxBlock large = argmax_block(16384, 4096);  // an 8B target at 16K: the cap
  EXPECT_EQ(large.rows, 2048);
  EXPECT_EQ(large.vocab_chunk, 16384);
  // One size given without the other is refused, not looped on.
  const at::Tensor hidden = at::ones({4, 8}), lm_head = at::ones({16, 8});
  testing::expect_error([&] { chunked_argmax(hidden, lm_head, 0, 2); }, {"chunked_argmax", "positive"});
}

TEST(TargetDistribution, LastRowIsUniformAndShifted) {
  Problem p = make_problem(at::kDouble, 3);
  TargetDistribution got = target_of(p);
  const std::int64_t L = p.input_ids.size(1), Vd = p.vocab.d2t.size(0);
  at::Tensor z = at::matmul(p.target_hidden, p.target_lm_head.t());
  at::Tensor want = at::softmax(z.narrow(1, 1, L - 1).index_select(2, p.used), -1);
  EXPECT_TRUE(at::allclose(got.probs(0, L - 1), want, 1e-12, 1e-14));
  EXPECT_TRUE(at::allclose(got.probs(L - 1, 3), at::full({2, 3, Vd}, 1.0 / Vd, at::kDouble)));
  // Any window: rows past the end are uniform, the others the shifted softmax.
  at::Tensor window = got.probs(L - 4, 6);
  EXPECT_TRUE(at::allclose(window.narrow(1, 0, 3), want.narrow(1, L - 4, 3), 1e-12, 1e-14));
  EXPECT_TRUE(at::allclose(window.narrow(1, 3, 3), at::full({2, 3, Vd}, 1.0 / Vd, at::kDouble)));
  at::Tensor top = z.narrow(1, 1, L - 1).argmax(-1);
  at::Tensor in_draft = p.vocab.t2d.index_select(0, top.flatten()).view({2, L - 1}).to(at::kFloat);
  EXPECT_TRUE(at::equal(got.in_draft.narrow(1, 0, L - 1), in_draft));
  EXPECT_GT(in_draft.sum().item<double>(), 0);  // both cases occur
  EXPECT_LT(in_draft.sum().item<double>(), 2 * (L - 1));
  EXPECT_EQ(got.in_draft[0][L - 1].item<double>(), p.vocab.t2d[0].item<bool>() ? 1.0 : 0.0);
}

}  // namespace
}  // namespace talon::model
