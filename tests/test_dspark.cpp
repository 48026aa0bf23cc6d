// DSpark's heads and objective (model/dspark/) against plain references
// written here from design dflash-dspark.md §3: each Markov head as its
// formula, slot by slot; every loss term and metric row by row; gradients
// of every parameter against the plain path and finite differences.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <vector>

#include "block_draft_fixture.h"
#include "talon/model/block/block_forward.h"
#include "talon/model/dspark/dspark_objective.h"
#include "talon/model/dspark/markov_head.h"
#include "test_support.h"

namespace talon::model {
namespace {

const MarkovHeadType kHeadTypes[] = {MarkovHeadType::Vanilla, MarkovHeadType::Gated, MarkovHeadType::Rnn};

MarkovHead tiny_head(MarkovHeadType type, at::ScalarType dtype, std::uint64_t seed, bool confidence_with_markov = true) {
  MarkovConfig config{6, type, true, confidence_with_markov};
  MarkovHead head = MarkovHead::create(config, tiny_config().vocab_size, tiny_config().hidden_size,
                                       at::make_generator<at::CPUGeneratorImpl>(seed), at::TensorOptions().dtype(dtype));
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  for (at::Tensor* t : head.slots()) t->normal_(0, 0.4);  // biases too, so that a dropped one shows
  return head;
}

// Design §3.1 per slot: prev a token id, h [H]; `state` the rnn's, updated.
at::Tensor reference_bias(const MarkovHead& m, std::int64_t prev, const at::Tensor& h, at::Tensor& state) {
  at::Tensor e = m.w1[prev];
  switch (m.config.type) {
    case MarkovHeadType::Vanilla:
      return at::matmul(m.w2, e);
    case MarkovHeadType::Gated: {
      at::Tensor gate = at::sigmoid(at::matmul(m.gate_weight, at::cat({h, e})) + m.gate_bias);
      return at::matmul(m.w2, gate * e);
    }
    case MarkovHeadType::Rnn: {
      const std::int64_t r = m.config.rank;
      at::Tensor z = at::matmul(m.joint_weight, at::cat({state, e, h})) + m.joint_bias;
      at::Tensor g = at::sigmoid(z.narrow(0, 0, r)), c = at::tanh(z.narrow(0, r, r)), o = z.narrow(0, 2 * r, r);
      state = g * state + (1 - g) * c;
      return at::matmul(m.w2, at::tanh(o));
    }
  }
  return {};
}

TEST(MarkovHead, BlockBiasIsTheFormulaSlotBySlot) {
  for (at::ScalarType type : kTypes) {
    for (MarkovHeadType head_type : kHeadTypes) {
      MarkovHead head = tiny_head(head_type, type, 1);
      at::manual_seed(2);
      at::Tensor prev = at::randint(0, 50, {2, 3, 4}, at::kLong), hidden = at::randn({2, 3, 4, 16}, type);
      at::NoGradGuard no_grad;
      at::Tensor got = markov_block_bias(head, prev, hidden);
      at::Tensor got_confidence = confidence_logits(head, prev, hidden);
      for (std::int64_t b = 0; b < 2; ++b) {
        for (std::int64_t n = 0; n < 3; ++n) {
          at::Tensor state = at::zeros({head.config.rank}, type);
          for (std::int64_t k = 0; k < 4; ++k) {
            const std::int64_t p = prev[b][n][k].item<std::int64_t>();
            const std::string what = std::string(markov_head_type_name(head_type)) + " " + c10::toString(type) +
                                     " slot " + std::to_string(k);
            expect_close(got[b][n][k], reference_bias(head, p, hidden[b][n][k], state), tolerance(type), what);
            at::Tensor features = at::cat({hidden[b][n][k], head.w1[p]});
            at::Tensor want = at::matmul(head.confidence_weight[0], features) + head.confidence_bias[0];
            expect_close(got_confidence[b][n][k], want, tolerance(type), what + " confidence");
          }
        }
      }
    }
  }
  // Without the Markov features the confidence head reads h alone.
  MarkovHead plain = tiny_head(MarkovHeadType::Vanilla, at::kDouble, 3, false);
  ASSERT_EQ(plain.confidence_weight.size(1), 16);
  at::Tensor h = at::randn({5, 16}, at::kDouble), prev = at::randint(0, 50, {5}, at::kLong);
  at::NoGradGuard no_grad;
  expect_close(confidence_logits(plain, prev, h), at::matmul(h, plain.confidence_weight[0]) + plain.confidence_bias[0],
               1e-12, "hidden-only confidence");
}

// Design §3.2's worked example: gamma = 4, anchor 3, loss_mask 0 at 6.
TEST(DSparkTargets, TheSpecsWorkedExample) {
  at::Tensor ids = at::arange(100, 110, at::kLong).view({1, -1});
  at::Tensor loss_mask = at::ones({1, 10});
  loss_mask[0][6] = 0;
  BlockAnchors blocks{at::tensor({3, 0}, at::kLong).view({1, -1}), flags({1, 0}).view({1, -1})};
  DSparkTargets t = dspark_targets(ids, loss_mask, blocks, 4, 4.0);
  EXPECT_TRUE(at::equal(t.labels[0][0], at::tensor({104, 105, 106, 107}, at::kLong)));
  EXPECT_TRUE(at::equal(t.previous[0][0], at::tensor({103, 104, 105, 106}, at::kLong)));
  EXPECT_TRUE(at::equal(t.target_index[0][0], at::tensor({3, 4, 5, 6}, at::kLong)));
  // lm[6] = 0 cuts slot 2 and, through the prefix product, slot 3.
  EXPECT_TRUE(at::equal(t.eval_mask[0][0], at::tensor({1.0, 1.0, 0.0, 0.0}, at::kDouble)));
  EXPECT_DOUBLE_EQ(t.weights[0][0][0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(t.weights[0][0][1].item<double>(), std::exp(-1 / 4.0));
  EXPECT_EQ(t.eval_mask[0][1].sum().item<double>(), 0);  // the dropped block
  // Past the end of the sequence: slots whose label would be at S or later.
  BlockAnchors late{at::tensor({7}, at::kLong).view({1, -1}), flags({1}).view({1, -1})};
  loss_mask[0][6] = 1;
  EXPECT_TRUE(at::equal(dspark_targets(ids, loss_mask, late, 4, 4.0).eval_mask[0][0],
                        at::tensor({1.0, 1.0, 0.0, 0.0}, at::kDouble)));
}

struct TermsRef {
  double ce = 0, l1 = 0, confidence = 0, den = 0, tau = 0, blocks = 0;
  std::vector<double> accept, evaluated, correct;
};

TermsRef reference_terms(const at::Tensor& hidden, const at::Tensor& lm_head, const at::Tensor& z,
                         const MarkovHead& m, const DSparkTargets& t) {
  const std::int64_t batch = t.labels.size(0), blocks = t.labels.size(1), bs = t.labels.size(2);
  TermsRef r;
  r.accept.assign(bs, 0);
  r.evaluated.assign(bs, 0);
  r.correct.assign(bs, 0);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t n = 0; n < blocks; ++n) {
      at::Tensor state = at::zeros({m.config.rank}, hidden.scalar_type());
      double running = 1, expected = 0;
      bool any = false;
      for (std::int64_t k = 0; k < bs; ++k) {
        at::Tensor h = hidden[b][n * bs + k].to(at::kDouble);
        const std::int64_t prev = t.previous[b][n][k].item<std::int64_t>(), y = t.labels[b][n][k].item<std::int64_t>();
        at::Tensor logits = at::matmul(lm_head, hidden[b][n * bs + k]) + reference_bias(m, prev, hidden[b][n * bs + k], state);
        logits = logits.to(at::kDouble);
        at::Tensor q = at::softmax(logits, 0);
        at::Tensor p = at::softmax(at::matmul(lm_head, z[b][t.target_index[b][n][k].item<std::int64_t>()]).to(at::kDouble), 0);
        const double w = t.weights[b][n][k].item<double>(), e = t.eval_mask[b][n][k].item<double>();
        const double ce = -std::log(q[y].item<double>());
        const double l1 = (q - p).abs().sum().item<double>();
        const double accept = std::min(1.0, std::max(0.0, 1 - l1 / 2));
        at::Tensor features = at::cat({hidden[b][n * bs + k], m.w1[prev]});
        const double c = (at::matmul(m.confidence_weight[0], features) + m.confidence_bias[0]).item<double>();
        // BCE with logits: -(a log sigmoid(c) + (1 - a) log(1 - sigmoid(c))).
        const double s = 1 / (1 + std::exp(-c));
        const double bce = -(accept * std::log(s) + (1 - accept) * std::log(1 - s));
        r.ce += w * ce;
        r.l1 += w * l1;
        r.confidence += w * bce;
        r.den += w;
        r.accept[k] += accept * e;
        r.evaluated[k] += e;
        r.correct[k] += (logits.argmax().item<std::int64_t>() == y) * e;
        running *= accept * e;
        expected += running;
        any = any || e > 0;
      }
      if (any) {
        r.tau += 1 + expected;
        r.blocks += 1;
      }
    }
  }
  return r;
}

struct DSparkCase {
  BlockDraft backbone;
  BackboneCase batch;
  at::Tensor block_ids, final_hidden;
  DSparkTargets targets;
};

DSparkCase dspark_case(at::ScalarType type, std::uint64_t seed) {
  DSparkCase c{tiny_draft(type, seed), {}, {}, {}, {}};
  c.batch = backbone_case(c.backbone, type);
  c.batch.loss_mask[1][9] = 0;  // a prefix cut inside a block
  c.block_ids = block_input_ids(c.batch.input_ids, c.batch.blocks, 4, c.backbone.config.mask_token_id);
  c.final_hidden = at::randn({2, 12, 16}, type);
  c.targets = dspark_targets(c.batch.input_ids, c.batch.loss_mask, c.batch.blocks, 4, 4.0);
  return c;
}

TEST(DSparkObjective, EveryTermEqualsTheRowByRowReference) {
  for (at::ScalarType type : kTypes) {
    for (MarkovHeadType head_type : kHeadTypes) {
      DSparkCase c = dspark_case(type, 4);
      MarkovHead head = tiny_head(head_type, type, 5);
      at::Tensor hidden =
          block_hidden_states(c.backbone, c.batch.features, c.block_ids, c.batch.blocks.anchors, c.batch.blocks.keep)
              .detach();
      // Final states that agree with the draft here and there, so that
      // acceptance and accuracy are not all 0.
      c.final_hidden.select(1, 3).copy_(hidden.select(1, 4));
      TermsRef want;
      {
        at::NoGradGuard no_grad;
        want = reference_terms(hidden, c.backbone.lm_head, c.final_hidden, head, c.targets);
      }
      for (std::int64_t chunk : {0, 1, 3}) {
        DSparkTerms got = dspark_objective(hidden, c.backbone.lm_head, c.final_hidden, head, c.targets, {0.1, 0.9, 1.0, chunk});
        const std::string what = std::string(c10::toString(type)) + " " + markov_head_type_name(head_type) +
                                 " chunk " + std::to_string(chunk);
        const double tol = tolerance(type) * 10;
        EXPECT_NEAR(got.ce.item<double>(), want.ce, tol * std::max(1.0, want.ce)) << what;
        EXPECT_NEAR(got.l1.item<double>(), want.l1, tol * std::max(1.0, want.l1)) << what;
        EXPECT_NEAR(got.confidence.item<double>(), want.confidence, tol * std::max(1.0, want.confidence)) << what;
        EXPECT_NEAR(got.denominator.item<double>(), want.den, 1e-12) << what;
        EXPECT_NEAR(got.tau.item<double>(), want.tau, tol * want.tau) << what;
        EXPECT_EQ(got.blocks.item<double>(), want.blocks) << what;
        for (std::int64_t k = 0; k < 4; ++k) {
          EXPECT_NEAR(got.accept_rate[k].item<double>(), want.accept[k], tol) << what << " slot " << k;
          EXPECT_EQ(got.evaluated[k].item<double>(), want.evaluated[k]) << what << " slot " << k;
          EXPECT_EQ(got.correct[k].item<double>(), want.correct[k]) << what << " slot " << k;
        }
        const DSparkObjectiveOptions options{0.1, 0.9, 1.0, chunk};
        const double loss = dspark_loss(got, got.denominator, options).item<double>();
        const double den = want.den + 1e-6;
        EXPECT_NEAR(loss, 0.1 * want.ce / den + 0.9 * want.l1 / den + want.confidence / den, tol * std::max(1.0, loss))
            << what;
      }
      EXPECT_GT(want.tau, want.blocks);  // some slot accepted with some probability
    }
  }
}

TEST(DSparkObjective, GradientsOfEveryParameter) {
  for (at::ScalarType type : kTypes) {
    for (MarkovHeadType head_type : kHeadTypes) {
      DSparkCase c = dspark_case(type, 6);
      MarkovHead head = tiny_head(head_type, type, 7);
      auto loss_of = [&](bool production, double confidence_alpha = 1.0) {
        at::Tensor h = block_hidden_states(c.backbone, c.batch.features, c.block_ids, c.batch.blocks.anchors,
                                           c.batch.blocks.keep, production);
        const DSparkObjectiveOptions options{0.1, 0.9, confidence_alpha, production ? 2 : 0};
        DSparkTerms terms = dspark_objective(h, c.backbone.lm_head, c.final_hidden, head, c.targets, options);
        return dspark_loss(terms, terms.denominator, options);
      };
      NamedTensors params = c.backbone.parameters();
      const auto head_shapes = MarkovHead::parameter_shapes(head.config, 50, 16);
      std::vector<at::Tensor*> head_slots = head.slots();
      for (std::size_t i = 0; i < head_slots.size(); ++i) params.emplace_back(head_shapes[i].first, *head_slots[i]);
      std::vector<at::Tensor> leaves;
      for (auto& [name, t] : params) leaves.push_back(t);
      std::vector<at::Tensor> got = torch::autograd::grad({loss_of(true)}, leaves);
      std::vector<at::Tensor> want = torch::autograd::grad({loss_of(false)}, leaves);
      const std::string what = std::string(c10::toString(type)) + " " + markov_head_type_name(head_type) + " ";
      for (std::size_t i = 0; i < leaves.size(); ++i) {
        expect_close(got[i], want[i], tolerance(type) * 10, what + params[i].first);
        EXPECT_GT(want[i].abs().max().item<double>(), 0) << what << params[i].first << " gets no gradient";
      }
      if (type != at::kDouble) continue;
      // The confidence head's target a* is detached (design §3.2), so its
      // term's gradient is not the derivative of the loss with respect to
      // the parameters a* depends on: finite differences check those
      // without the confidence term, and the confidence head with it.
      std::vector<at::Tensor> without_confidence = torch::autograd::grad({loss_of(true, 0.0)}, leaves, {}, {}, false, true);
      at::manual_seed(8);
      for (std::size_t i = 0; i < leaves.size(); ++i) {
        const bool confidence = params[i].first.rfind("confidence_head.", 0) == 0;
        const double alpha = confidence ? 1.0 : 0.0;
        const std::int64_t e = at::randint(0, leaves[i].numel(), {1}, at::kLong).item<std::int64_t>();
        const double numeric =
            central_difference([&] { return loss_of(true, alpha).item<double>(); }, leaves[i], e);
        const at::Tensor& analytic = confidence ? got[i] : without_confidence[i];
        EXPECT_NEAR(analytic.view({-1})[e].item<double>(), numeric, 1e-6) << what << params[i].first;
      }
    }
  }
}

}  // namespace
}  // namespace talon::model
