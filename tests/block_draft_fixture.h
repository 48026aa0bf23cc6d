// What the block drafters' tests share: a tiny backbone with weights large
// enough to matter, a batch of blocks over it, and closeness in fp64/fp32.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "talon/model/block/anchors.h"
#include "talon/model/block/block_draft.h"

namespace talon::model {

// A bool tensor: at::tensor takes no list of bools.
inline at::Tensor flags(std::initializer_list<int> values) { return at::tensor(std::vector<std::int64_t>(values.begin(), values.end())).to(at::kBool); }

inline const at::ScalarType kTypes[] = {at::kDouble, at::kFloat};
inline double tolerance(at::ScalarType type) { return type == at::kDouble ? 1e-10 : 2e-5; }

inline void expect_close(const at::Tensor& got, const at::Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double scale = std::max(1.0, want.abs().max().item<double>());
  const double diff = (got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>();
  EXPECT_LE(diff, tol * scale) << what << ": max |difference| " << diff;
}

inline BlockDraftConfig tiny_config() {
  BlockDraftConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.vocab_size = 50;
  c.max_position_embeddings = 256;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000;
  c.sliding = {true, false};
  c.sliding_window = 6;
  c.block_size = 4;
  c.target_layer_ids = {0, 2};
  c.num_target_layers = 4;
  c.mask_token_id = 49;
  return c;
}

inline BlockDraft tiny_draft(at::ScalarType type, std::uint64_t seed) {
  at::manual_seed(seed);
  const BlockDraftConfig c = tiny_config();
  at::Tensor embed = at::randn({c.vocab_size, c.hidden_size}, type), lm_head = at::randn({c.vocab_size, c.hidden_size}, type) * 0.5;
  BlockDraft draft = BlockDraft::create(c, embed, lm_head, at::make_generator<at::CPUGeneratorImpl>(seed),
                                        at::TensorOptions().dtype(type));
  // Weights large enough to matter, and norm weights away from 1 so that a
  // norm applied in the wrong place shows.
  at::NoGradGuard no_grad;
  for (auto& [name, t] : draft.parameters()) {
    if (name.find("norm") != std::string::npos) {
      t.uniform_(0.5, 1.5);
    } else {
      t.normal_(0, 0.3);
    }
  }
  return draft;
}

// (loss(x + h) - loss(x - h)) / 2h at element e of `leaf` (under no grad),
// the element restored.
inline double central_difference(const std::function<double()>& loss, const at::Tensor& leaf, std::int64_t e,
                                 double h = 1e-6) {
  at::NoGradGuard no_grad;
  at::Tensor flat = leaf.view({-1});
  const double saved = flat[e].item<double>();
  flat[e] = saved + h;
  const double up = loss();
  flat[e] = saved - h;
  const double down = loss();
  flat[e] = saved;
  return (up - down) / (2 * h);
}

struct BackboneCase {
  at::Tensor features, input_ids, loss_mask;
  BlockAnchors blocks;
};

inline BackboneCase backbone_case(const BlockDraft& m, at::ScalarType type) {
  const std::int64_t batch = 2, length = 12;
  at::manual_seed(5);
  BackboneCase c;
  c.features = at::randn({batch, length, 2 * m.config.hidden_size}, type);
  c.input_ids = at::randint(0, m.config.vocab_size - 1, {batch, length}, at::kLong);
  c.loss_mask = at::ones({batch, length});
  c.loss_mask[0].narrow(0, 0, 3).zero_();
  c.blocks = {at::tensor({0, 3, 5, 10, 2, 4, 0, 0}, at::kLong).view({batch, 4}),
              flags({1, 1, 1, 1, 1, 1, 0, 0}).view({batch, 4})};
  return c;
}

}  // namespace talon::model
