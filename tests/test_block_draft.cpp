// The block drafters' shared pieces (model/block/) and DFlash's objective
// (model/dflash/) against plain references written here from design
// dflash-dspark.md: explicit loops for masks, anchors, labels and weights;
// each block decoded alone, as an engine decodes it, for the backbone; an
// explicit per-row cross-entropy for the loss; finite differences for the
// gradients. fp64 and fp32.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <vector>

#include "talon/model/block/anchors.h"
#include "talon/model/block/block_attention.h"
#include "talon/model/block/block_draft.h"
#include "talon/model/block/block_forward.h"
#include "talon/model/dflash/dflash_objective.h"
#include "talon/model/flash_attention.h"
#include "block_draft_fixture.h"
#include "test_support.h"

namespace talon::model {
namespace {

// ------------------------------------------------------------ attention

// The mask written as design §2.1 reads, one query row and one key at a time.
at::Tensor explicit_mask(const at::Tensor& anchors, const at::Tensor& keep, std::int64_t bs, std::int64_t context,
                         std::int64_t window) {
  const std::int64_t batch = anchors.size(0), blocks = anchors.size(1), rows = blocks * bs;
  at::Tensor mask = at::zeros({batch, rows, context + rows}, at::kBool);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t n = 0; n < blocks; ++n) {
      const std::int64_t a = anchors[b][n].item<std::int64_t>();
      const bool kept = keep[b][n].item<bool>();
      for (std::int64_t k = 0; k < bs; ++k) {
        const std::int64_t row = n * bs + k;
        for (std::int64_t j = 0; j < context && kept; ++j) {
          const bool before_anchor = j < a;
          const bool in_window = window == 0 || j >= a + k - (window - 1);
          mask[b][row][j] = before_anchor && in_window;
        }
        for (std::int64_t k2 = 0; k2 < bs; ++k2) mask[b][row][context + n * bs + k2] = window == 0 || k2 <= k;
      }
    }
  }
  return mask;
}

struct AttentionCase {
  BlockAttentionInputs in;
  std::int64_t context;
};

AttentionCase random_attention(at::ScalarType type, std::int64_t window, std::uint64_t seed) {
  at::manual_seed(seed);
  const std::int64_t batch = 2, heads = 4, kv = 2, d = 8, bs = 4, blocks = 70, context = 300;
  auto opts = at::TensorOptions().dtype(type);
  at::Tensor anchors = std::get<0>(at::randint(0, context - 1, {batch, blocks}, at::kLong).sort(1));
  anchors[0][0] = 0;  // a block with no context at all
  at::Tensor keep = at::rand({batch, blocks}) > 0.2;
  keep[1][blocks - 1] = false;
  anchors = at::where(keep, anchors, 0);
  auto leaf = [&](std::vector<std::int64_t> shape) { return at::randn(shape, opts).requires_grad_(true); };
  BlockAttentionInputs in{leaf({batch, heads, blocks * bs, d}), leaf({batch, kv, context, d}),
                          leaf({batch, kv, context, d}),        leaf({batch, kv, blocks * bs, d}),
                          leaf({batch, kv, blocks * bs, d}),    anchors, keep, bs, window};
  return {in, context};
}

TEST(BlockAttention, MaskIsTheSpecsRules) {
  for (std::int64_t window : {0, 5}) {
    AttentionCase c = random_attention(at::kDouble, window, 1);
    at::Tensor want = explicit_mask(c.in.anchors, c.in.keep, c.in.block_size, c.context, window);
    EXPECT_TRUE(at::equal(block_attention_mask(c.in.anchors, c.in.keep, c.in.block_size, c.context, window), want))
        << "window " << window;
  }
}

TEST(BlockAttention, BlockwiseEqualsPlainWithGradients) {
  for (at::ScalarType type : kTypes) {
    for (std::int64_t window : {0, 7}) {
      AttentionCase c = random_attention(type, window, 2);
      const BlockAttentionInputs& in = c.in;
      at::Tensor grad = at::randn(in.q.sizes(), in.q.options());
      std::vector<at::Tensor> leaves = {in.q, in.context_k, in.context_v, in.block_k, in.block_v};
      at::Tensor got = block_attention(in);
      std::vector<at::Tensor> got_grads = torch::autograd::grad({got}, leaves, {grad});
      at::Tensor want = block_attention_reference(in);
      std::vector<at::Tensor> want_grads = torch::autograd::grad({want}, leaves, {grad});
      const std::string what = std::string(c10::toString(type)) + " window " + std::to_string(window);
      expect_close(got, want, tolerance(type), what + " output");
      const char* names[] = {"dq", "d context k", "d context v", "d block k", "d block v"};
      for (std::size_t i = 0; i < leaves.size(); ++i) {
        expect_close(got_grads[i], want_grads[i], tolerance(type), what + " " + names[i]);
      }
    }
  }
}

// The ranged loop on its own: each query's keys [lo, hi) against a softmax
// over exactly those keys, with empty ranges giving 0 and lse -inf, and key
// blocks of 4 so that skipping and partial masks are exercised.
TEST(RangedAttention, EqualsASoftmaxOverEachQuerysKeys) {
  for (at::ScalarType type : kTypes) {
    at::manual_seed(3);
    const std::int64_t heads = 2, kv = 1, queries = 11, keys = 13, d = 4;
    at::Tensor q = at::randn({1, heads, queries, d}, type), k = at::randn({1, kv, keys, d}, type),
               v = at::randn({1, kv, keys, d}, type);
    at::Tensor lo = at::randint(0, keys, {1, queries}, at::kLong), hi = at::randint(0, keys + 1, {1, queries}, at::kLong);
    lo[0][0] = 5;
    hi[0][0] = 5;  // empty
    const double scale = 0.5;
    FlashForward got = ranged_attention_forward_blocks(q, k, v, {lo, hi}, scale, /*block=*/4);
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t t = 0; t < queries; ++t) {
        const std::int64_t from = lo[0][t].item<std::int64_t>(), to = hi[0][t].item<std::int64_t>();
        if (from >= to) {
          EXPECT_TRUE(std::isinf(got.lse[0][h][t].item<double>()));
          EXPECT_EQ(got.out[0][h][t].abs().max().item<double>(), 0.0);
          continue;
        }
        at::Tensor s = at::matmul(k[0][0].narrow(0, from, to - from), q[0][h][t]) * scale;
        at::Tensor want = at::matmul(at::softmax(s, 0), v[0][0].narrow(0, from, to - from));
        expect_close(got.out[0][h][t], want, tolerance(type), "row " + std::to_string(t));
        EXPECT_NEAR(got.lse[0][h][t].item<double>(), at::logsumexp(s, 0).item<double>(), tolerance(type) * 10);
      }
    }
  }
}

// ------------------------------------------------------------ anchors

TEST(BlockAnchors, CandidatesAreTwoSupervisedTokensInARow) {
  at::Tensor loss_mask = at::tensor({0, 1, 1, 0, 1, 1, 1, 0}, at::kFloat).view({1, -1});
  at::Tensor want = flags({0, 1, 0, 0, 1, 1, 0}).view({1, -1});
  EXPECT_TRUE(at::equal(anchor_candidates(loss_mask), want));
}

// The draw against the spec's steps done by hand on the same random numbers.
TEST(BlockAnchors, SampleIsTheSmallestDrawsAmongCandidates) {
  at::manual_seed(4);
  const std::int64_t batch = 3, length = 40;
  at::Tensor loss_mask = (at::rand({batch, length}) > 0.3).to(at::kFloat);
  loss_mask[2].zero_();
  loss_mask[2][7] = 1;
  loss_mask[2][8] = 1;  // one candidate only: its other blocks are dropped
  for (std::int64_t num_anchors : {3, 100}) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(11);
    BlockAnchors got = sample_anchors(loss_mask, num_anchors, generator);
    at::Generator replay = at::make_generator<at::CPUGeneratorImpl>(11);
    at::Tensor u = at::rand({batch, length - 1}, replay, at::kFloat);
    std::vector<std::vector<std::int64_t>> chosen(batch);
    std::int64_t most = 0;
    for (std::int64_t b = 0; b < batch; ++b) {
      std::vector<std::pair<float, std::int64_t>> draws;
      for (std::int64_t i = 0; i + 1 < length; ++i) {
        if (loss_mask[b][i].item<float>() > 0.5 && loss_mask[b][i + 1].item<float>() > 0.5) {
          draws.emplace_back(u[b][i].item<float>(), i);
        }
      }
      most = std::max<std::int64_t>(most, static_cast<std::int64_t>(draws.size()));
      std::sort(draws.begin(), draws.end());
      for (std::size_t j = 0; j < draws.size() && static_cast<std::int64_t>(j) < num_anchors; ++j) {
        chosen[b].push_back(draws[j].second);
      }
      std::sort(chosen[b].begin(), chosen[b].end());
    }
    const std::int64_t blocks = std::min(num_anchors, most);
    ASSERT_EQ(got.anchors.sizes(), (std::vector<std::int64_t>{batch, blocks}));
    for (std::int64_t b = 0; b < batch; ++b) {
      for (std::int64_t n = 0; n < blocks; ++n) {
        const bool kept = n < static_cast<std::int64_t>(chosen[b].size());
        EXPECT_EQ(got.keep[b][n].item<bool>(), kept) << b << "," << n;
        EXPECT_EQ(got.anchors[b][n].item<std::int64_t>(), kept ? chosen[b][n] : 0) << b << "," << n;
      }
    }
  }
}

TEST(BlockAnchors, BlockInputsAreTheAnchorThenMasks) {
  at::Tensor ids = at::arange(100, 110, at::kLong).view({1, -1});
  BlockAnchors blocks{at::tensor({3, 8, 0}, at::kLong).view({1, -1}), flags({1, 1, 0}).view({1, -1})};
  at::Tensor want = at::tensor({103, 9, 9, 9, 108, 9, 9, 9, 9, 9, 9, 9}, at::kLong).view({1, -1});
  EXPECT_TRUE(at::equal(block_input_ids(ids, blocks, 4, 9), want));
}

// ------------------------------------------------------------ DFlash targets

// Design §2.2's worked example: S = 10, B = 4, loss_mask 1 on 2..9, anchors 3 and 8.
TEST(DFlashTargets, TheSpecsWorkedExample) {
  at::Tensor ids = at::arange(100, 110, at::kLong).view({1, -1});
  at::Tensor loss_mask = at::zeros({1, 10});
  loss_mask.narrow(1, 2, 8).fill_(1);
  BlockAnchors blocks{at::tensor({3, 8}, at::kLong).view({1, -1}), flags({1, 1}).view({1, -1})};
  const double gamma = 7;
  DFlashTargets t = dflash_targets(ids, loss_mask, blocks, 4, gamma);
  EXPECT_TRUE(at::equal(t.labels[0][0], at::tensor({103, 104, 105, 106}, at::kLong)));
  EXPECT_TRUE(at::equal(t.labels[0][1], at::tensor({108, 109, 109, 109}, at::kLong)));  // clamped to S - 1
  const double w[] = {0, 1, std::exp(-1 / gamma), std::exp(-2 / gamma)};
  for (int k = 0; k < 4; ++k) {
    EXPECT_DOUBLE_EQ(t.weights[0][0][k].item<double>(), w[k]) << k;
    EXPECT_DOUBLE_EQ(t.weights[0][1][k].item<double>(), k == 1 ? 1.0 : 0.0) << k;  // slots 2, 3 past S
  }
  // No prefix cut (§7 #5): an unsupervised token inside a block masks only itself.
  loss_mask[0][5] = 0;
  DFlashTargets cut = dflash_targets(ids, loss_mask, blocks, 4, std::nullopt);
  EXPECT_TRUE(at::equal(cut.mask[0][0], at::tensor({0.0, 1.0, 0.0, 1.0}, at::kDouble)));
  EXPECT_TRUE(at::equal(cut.weights, cut.mask));  // no decay
}

// ------------------------------------------------------------ backbone

// One block decoded alone, as an engine decodes it (design §2.4): the
// context rows 0..a-1 of this sample, the block's rows at a..a+bs-1, each
// query row attending over an explicit list of the keys it may see.
at::Tensor decode_one_block(const BlockDraft& m, const at::Tensor& features, const at::Tensor& ids, std::int64_t a,
                            bool kept) {
  const BlockDraftConfig& c = m.config;
  const std::int64_t bs = c.block_size, d = c.head_dim, heads = c.num_attention_heads,
                     groups = heads / c.num_key_value_heads;
  const double eps = c.rms_norm_eps;
  auto norm = [&](const at::Tensor& x, const at::Tensor& w) {
    return w * (x / at::sqrt((x * x).mean(-1, true) + eps));
  };
  // RoPE per row, pairs (i, i + d/2) turned by pos * theta^(-2i/d).
  auto rope = [&](const at::Tensor& x, std::int64_t position) {  // x [n, d]
    at::Tensor inv = 1.0 / at::pow(c.rope_theta, at::arange(0, d, 2, at::kLong).to(at::kFloat) / double(d));
    at::Tensor angle = inv * static_cast<double>(position);  // fp32, cos and sin too, as HF computes them
    at::Tensor cos = angle.cos().to(x.scalar_type()), sin = angle.sin().to(x.scalar_type());
    at::Tensor lo = x.narrow(-1, 0, d / 2), hi = x.narrow(-1, d / 2, d / 2);
    return at::cat({lo * cos - hi * sin, hi * cos + lo * sin}, -1);
  };
  const std::int64_t context = kept ? a : 0;
  at::Tensor cx = norm(at::matmul(features.narrow(0, 0, context), m.fc.t()), m.hidden_norm);  // [a, H]
  at::Tensor x = m.embed_tokens.index_select(0, ids);                                       // [bs, H]
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const BlockLayer& l = m.layers[i];
    const std::int64_t window = c.window_of(i);
    at::Tensor xa = norm(x, l.input_layernorm);
    std::vector<at::Tensor> out_rows;
    for (std::int64_t k = 0; k < bs; ++k) {
      std::vector<at::Tensor> head_outs;
      for (std::int64_t h = 0; h < heads; ++h) {
        const std::int64_t g = h / groups;
        auto q_of = [&](const at::Tensor& row) { return norm(at::matmul(l.q_proj.narrow(0, h * d, d), row), l.q_norm); };
        auto k_of = [&](const at::Tensor& row) { return norm(at::matmul(l.k_proj.narrow(0, g * d, d), row), l.k_norm); };
        auto v_of = [&](const at::Tensor& row) { return at::matmul(l.v_proj.narrow(0, g * d, d), row); };
        at::Tensor q = rope(q_of(xa[k]), a + k);
        std::vector<at::Tensor> scores, values;
        for (std::int64_t j = 0; j < context; ++j) {
          if (window > 0 && j < a + k - (window - 1)) continue;
          scores.push_back((q * rope(k_of(cx[j]), j)).sum() / std::sqrt(double(d)));
          values.push_back(v_of(cx[j]));
        }
        for (std::int64_t k2 = 0; k2 < bs; ++k2) {
          if (window > 0 && k2 > k) continue;
          scores.push_back((q * rope(k_of(xa[k2]), a + k2)).sum() / std::sqrt(double(d)));
          values.push_back(v_of(xa[k2]));
        }
        at::Tensor p = at::softmax(at::stack(scores), 0);
        head_outs.push_back(at::matmul(p, at::stack(values)));
      }
      out_rows.push_back(at::cat(head_outs));
    }
    at::Tensor h = x + at::matmul(at::stack(out_rows), l.o_proj.t());
    at::Tensor n2 = norm(h, l.post_attention_layernorm);
    at::Tensor gate = at::matmul(n2, l.gate_proj.t());
    x = h + at::matmul(gate * at::sigmoid(gate) * at::matmul(n2, l.up_proj.t()), l.down_proj.t());
  }
  return norm(x, m.norm);
}

TEST(BlockBackbone, EachBlockIsTheBlockDecodedAlone) {
  for (at::ScalarType type : kTypes) {
    BlockDraft m = tiny_draft(type, 6);
    BackboneCase c = backbone_case(m, type);
    at::Tensor ids = block_input_ids(c.input_ids, c.blocks, m.config.block_size, m.config.mask_token_id);
    at::NoGradGuard no_grad;
    at::Tensor got = block_hidden_states(m, c.features, ids, c.blocks.anchors, c.blocks.keep);
    at::Tensor plain = block_hidden_states(m, c.features, ids, c.blocks.anchors, c.blocks.keep, /*blockwise=*/false);
    expect_close(got, plain, tolerance(type), "blockwise against plain");
    const std::int64_t bs = m.config.block_size;
    for (std::int64_t b = 0; b < 2; ++b) {
      for (std::int64_t n = 0; n < 4; ++n) {
        if (!c.blocks.keep[b][n].item<bool>()) continue;  // a dropped block's rows are unused
        at::Tensor want = decode_one_block(m, c.features[b], ids[b].narrow(0, n * bs, bs),
                                           c.blocks.anchors[b][n].item<std::int64_t>(), true);
        expect_close(got[b].narrow(0, n * bs, bs), want, tolerance(type) * 10,
                     "sample " + std::to_string(b) + " block " + std::to_string(n));
      }
    }
    EXPECT_TRUE(at::isfinite(got).all().item<bool>());
  }
}

// ------------------------------------------------------------ DFlash objective

struct ObjectiveRef {
  double numerator = 0, denominator = 0, accepted = 0, blocks = 0;
  std::vector<double> correct, supervised;
};

// The objective row by row: logits of one row, its cross-entropy, its weight.
ObjectiveRef reference_objective(const at::Tensor& hidden, const at::Tensor& lm_head, const DFlashTargets& t,
                                 DFlashLossType type, double alpha) {
  const std::int64_t batch = t.labels.size(0), blocks = t.labels.size(1), bs = t.labels.size(2);
  ObjectiveRef r;
  r.correct.assign(bs, 0);
  r.supervised.assign(bs, 0);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t n = 0; n < blocks; ++n) {
      std::vector<double> ce(bs), q(bs), m(bs);
      std::vector<bool> right(bs);
      for (std::int64_t k = 0; k < bs; ++k) {
        at::Tensor logits = at::matmul(lm_head.to(at::kDouble), hidden[b][n * bs + k].to(at::kDouble));
        const std::int64_t y = t.labels[b][n][k].item<std::int64_t>();
        ce[k] = at::logsumexp(logits, 0).item<double>() - logits[y].item<double>();
        q[k] = std::exp(-ce[k]);
        m[k] = t.mask[b][n][k].item<double>();
        right[k] = logits.argmax().item<std::int64_t>() == y;
        r.correct[k] += right[k] && m[k] > 0.5;
        r.supervised[k] += m[k];
      }
      if (type == DFlashLossType::DFlash) {
        for (std::int64_t k = 0; k < bs; ++k) {
          r.numerator += t.weights[b][n][k].item<double>() * ce[k];
          r.denominator += t.weights[b][n][k].item<double>();
        }
      } else {
        std::vector<double> prefix(bs);
        double running = 1;
        for (std::int64_t k = 0; k < bs; ++k) {
          running *= m[k] > 0 ? (1 - alpha) * q[k] + alpha : 1.0;
          prefix[k] = running;
        }
        for (std::int64_t k = 0; k < bs; ++k) {
          double suffix = 0;
          for (std::int64_t j = k; j < bs; ++j) suffix += prefix[j] * m[j];
          const double w = type == DFlashLossType::DPace ? suffix
                           : type == DFlashLossType::DPaceCumulativeConfidenceOnly ? prefix[k]
                                                                                  : suffix / prefix[k];
          r.numerator += ce[k] * m[k] * w;
        }
      }
      bool any = false, leading = true;
      double accepted = 0;
      for (std::int64_t k = 0; k < bs; ++k) {
        if (m[k] <= 0) continue;
        any = true;
        leading = leading && right[k];
        accepted += leading;
      }
      if (any) {
        r.accepted += 1 + accepted;
        r.blocks += 1;
      }
    }
  }
  if (type != DFlashLossType::DFlash) r.denominator = static_cast<double>(batch);
  return r;
}

// A tiny draft, its batch of blocks, their inputs and DFlash's targets (gamma 7).
struct DFlashCase {
  BlockDraft m;
  BackboneCase c;
  at::Tensor ids;
  DFlashTargets targets;
};

DFlashCase dflash_case(at::ScalarType type, std::uint64_t seed) {
  DFlashCase d{tiny_draft(type, seed), {}, {}, {}};
  d.c = backbone_case(d.m, type);
  d.ids = block_input_ids(d.c.input_ids, d.c.blocks, d.m.config.block_size, d.m.config.mask_token_id);
  d.targets = dflash_targets(d.c.input_ids, d.c.loss_mask, d.c.blocks, d.m.config.block_size, 7.0);
  return d;
}

TEST(DFlashObjective, EveryTermEqualsTheRowByRowReference) {
  for (at::ScalarType type : kTypes) {
    DFlashCase d = dflash_case(type, 7);
    BlockDraft& m = d.m;
    const BackboneCase& c = d.c;
    const at::Tensor& ids = d.ids;
    DFlashTargets& targets = d.targets;
    // Labels the draft predicts now and then, so the accuracy and acceptance terms are not all 0.
    at::Tensor hidden = block_hidden_states(m, c.features, ids, c.blocks.anchors, c.blocks.keep).detach();
    targets.labels.select(2, 1).copy_(at::matmul(hidden, m.lm_head.t()).argmax(-1).view({2, 4, 4}).select(2, 1));
    for (DFlashLossType loss : {DFlashLossType::DFlash, DFlashLossType::DPace,
                                DFlashLossType::DPaceCumulativeConfidenceOnly,
                                DFlashLossType::DPaceContinuationValueOnly}) {
      ObjectiveRef want = reference_objective(hidden, m.lm_head, targets, loss, 0.3);
      for (std::int64_t chunk : {0, 1, 3}) {
        DFlashTerms got = dflash_objective(hidden, m.lm_head, targets, {loss, 0.3, chunk});
        const std::string what = std::string(c10::toString(type)) + " " + dflash_loss_type_name(loss) + " chunk " +
                                 std::to_string(chunk);
        EXPECT_NEAR(got.numerator.item<double>(), want.numerator, tolerance(type) * std::max(1.0, std::abs(want.numerator)))
            << what;
        EXPECT_NEAR(got.denominator.item<double>(), want.denominator, 1e-12) << what;
        EXPECT_EQ(got.accepted.item<double>(), want.accepted) << what;
        EXPECT_EQ(got.blocks.item<double>(), want.blocks) << what;
        for (std::int64_t k = 0; k < 4; ++k) {
          EXPECT_EQ(got.correct[k].item<double>(), want.correct[k]) << what << " slot " << k;
          EXPECT_DOUBLE_EQ(got.supervised[k].item<double>(), want.supervised[k]) << what << " slot " << k;
        }
      }
      if (loss == DFlashLossType::DFlash) {
        EXPECT_GT(want.accepted, want.blocks);  // some draft accepted
      }
    }
  }
}

// The gradients of every parameter: the production path (blockwise
// attention, chunked objective) against the plain one, and in fp64 against
// central finite differences of the loss.
TEST(DFlashObjective, GradientsOfEveryParameter) {
  for (at::ScalarType type : kTypes) {
    DFlashCase d = dflash_case(type, 8);
    BlockDraft& m = d.m;
    const BackboneCase& c = d.c;
    const at::Tensor& ids = d.ids;
    DFlashTargets& targets = d.targets;
    auto loss_of = [&](bool production) {
      at::Tensor h = block_hidden_states(m, c.features, ids, c.blocks.anchors, c.blocks.keep, production);
      DFlashTerms terms = dflash_objective(h, m.lm_head, targets, {DFlashLossType::DFlash, 0.5, production ? 2 : 0});
      return terms.numerator / terms.denominator;
    };
    NamedTensors params = m.parameters();
    std::vector<at::Tensor> leaves;
    for (auto& [name, t] : params) leaves.push_back(t);
    std::vector<at::Tensor> got = torch::autograd::grad({loss_of(true)}, leaves);
    std::vector<at::Tensor> want = torch::autograd::grad({loss_of(false)}, leaves);
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      expect_close(got[i], want[i], tolerance(type) * 10, std::string(c10::toString(type)) + " " + params[i].first);
      EXPECT_GT(want[i].abs().max().item<double>(), 0) << params[i].first << " gets no gradient";
    }
    if (type != at::kDouble) continue;
    at::manual_seed(9);
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      const std::int64_t e = at::randint(0, leaves[i].numel(), {1}, at::kLong).item<std::int64_t>();
      const double numeric = central_difference([&] { return loss_of(true).item<double>(); }, leaves[i], e);
      EXPECT_NEAR(got[i].view({-1})[e].item<double>(), numeric, 1e-6) << params[i].first;
    }
  }
}

}  // namespace
}  // namespace talon::model
