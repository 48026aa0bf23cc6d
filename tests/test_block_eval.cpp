// Decoding with the block drafters (eval/block_proposer.h,
// model/block/block_decoder.h) on the tiny target: a block decoded over the
// cached context is training's block at that anchor; DSpark's drafts are
// the argmax of training's teacher-forced logits once the block continues
// with them; speculative decoding with DFlash and DSpark drafts is lossless
// at batch sizes 1 and 3; the acceptance report's three aggregations,
// conditional rates and histogram are their definitions.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "talon/eval/acceptance.h"
#include "talon/eval/block_proposer.h"
#include "talon/eval/generate.h"
#include "talon/io/safetensors.h"
#include "talon/model/block/anchors.h"
#include "talon/model/block/block_forward.h"
#include "talon/model/dflash/dflash_config.h"
#include "talon/model/dflash/dflash_drafts.h"
#include "talon/model/dspark/dspark_config.h"
#include "talon/model/dspark/dspark_drafts.h"
#include "talon/model/target_model.h"
#include "talon/model/target_weights.h"
#include "test_support.h"
#include "tiny_target.h"

namespace talon::eval {
namespace {

using testing::TempDir;

model::DSparkConfig example_config(const std::string& strategy) {
  const std::string path = std::string(TALON_SOURCE_DIR) + "/examples/tiny-" + strategy + "-config.json";
  if (strategy == "dspark") return model::load_dspark_config(path);
  return {model::load_dflash_config(path), {}};
}

// A backbone (and Markov head) with weights wide enough that drafts vary.
struct BlockModels {
  model::BlockDraft draft;
  model::MarkovHead head;
};

BlockModels block_models(const model::TargetModel& target, const model::DSparkConfig& config, at::ScalarType dtype,
                         std::uint64_t seed) {
  const at::TensorOptions to = at::TensorOptions().dtype(dtype);
  BlockModels m{model::BlockDraft::create(config.backbone, target.embed_tokens().to(dtype),
                                          target.lm_head().to(dtype), at::detail::createCPUGenerator(seed), to),
                model::MarkovHead::create(config.markov.rank > 0 ? config.markov : model::MarkovConfig{},
                                          config.backbone.vocab_size, config.backbone.hidden_size,
                                          at::detail::createCPUGenerator(seed + 1), to)};
  at::NoGradGuard no_grad;
  for (auto& [name, t] : m.draft.parameters()) {
    if (name.find("norm") == std::string::npos) t.mul_(15);
  }
  for (at::Tensor* t : m.head.slots()) t->mul_(20);
  return m;
}

Tokens prompt(std::int64_t n, std::int64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  at::Tensor ids = at::randint(1000, {n}, g, at::kLong);
  return {ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + n};
}

// Decoding's block, anchored after `a` verified positions, is training's
// block at anchor a over the same features (design §2.4 against §2.2), for
// full and sliding layers (the tiny DFlash config has one of each).
TEST(BlockDecoding, ABlockOverTheCachedContextIsTrainingsBlock) {
  TempDir tmp;
  const model::TargetModel target = testing::tiny_target_with_wide_weights(tmp);
  for (const char* strategy : {"dflash", "dspark"}) {
    const model::DSparkConfig config = example_config(strategy);
    const std::int64_t length = 14, bs = config.backbone.block_size;
    const Tokens sequence = prompt(length, 4);
    const at::Tensor ids = at::tensor(sequence, at::kLong).unsqueeze(0);
    const at::Tensor features = target.forward(ids, config.backbone.target_layer_ids).aux;
    for (const at::ScalarType dtype : {at::kDouble, at::kFloat}) {
      SCOPED_TRACE(std::string(strategy) + " " + c10::toString(dtype));
      BlockModels m = block_models(target, config, dtype, 7);
      const std::vector<std::int64_t> anchors = {0, 1, 5, 9};
      const at::Tensor anchor_tensor = at::tensor(anchors, at::kLong).unsqueeze(0);
      const at::Tensor keep = at::ones({1, static_cast<std::int64_t>(anchors.size())}, at::kBool);
      const at::Tensor block_ids =
          model::block_input_ids(ids, {anchor_tensor, keep}, bs, config.backbone.mask_token_id);
      at::NoGradGuard no_grad;
      const at::Tensor trained = model::block_hidden_states(m.draft, features.to(dtype), block_ids, anchor_tensor, keep);
      for (std::size_t n = 0; n < anchors.size(); ++n) {
        model::BlockContext context(m.draft);
        // The context arrives in two pieces, as verifications append it.
        const std::int64_t a = anchors[n], first = a / 2;
        if (first > 0) context.append(features[0].narrow(0, 0, first).to(dtype));
        if (a > first) context.append(features[0].narrow(0, first, a - first).to(dtype));
        const at::Tensor got = context.block(block_ids[0].narrow(0, static_cast<std::int64_t>(n) * bs, bs));
        const at::Tensor want = trained[0].narrow(0, static_cast<std::int64_t>(n) * bs, bs);
        const double scale = want.abs().max().item<double>();
        EXPECT_LE((got - want).abs().max().item<double>(), (dtype == at::kDouble ? 1e-10 : 1e-5) * scale)
            << "anchor " << a;
      }
    }
  }
}

// DSpark's sequential drafts are the argmax of the teacher-forced logits of
// training (design §3.2) once the block's previous tokens are the drafts.
TEST(BlockDecoding, DSparkDraftsAreTheTeacherForcedArgmaxOverThemselves) {
  TempDir tmp;
  const model::TargetModel target = testing::tiny_target_with_wide_weights(tmp);
  model::DSparkConfig config = example_config("dspark");
  for (const model::MarkovHeadType type :
       {model::MarkovHeadType::Vanilla, model::MarkovHeadType::Gated, model::MarkovHeadType::Rnn}) {
    config.markov.type = type;
    BlockModels m = block_models(target, config, at::kDouble, 3);
    const at::Tensor hidden = at::randn({config.backbone.block_size, config.backbone.hidden_size}, at::kDouble);
    const std::int64_t anchor = 17;
    const Tokens drafts = model::dspark_drafts(m.draft.lm_head, m.head, hidden, anchor);
    ASSERT_EQ(drafts.size(), static_cast<std::size_t>(config.backbone.block_size));
    Tokens previous = {anchor};
    previous.insert(previous.end(), drafts.begin(), drafts.end() - 1);
    at::NoGradGuard no_grad;
    const at::Tensor logits = at::linear(hidden, m.draft.lm_head) +
                              model::markov_block_bias(m.head, at::tensor(previous, at::kLong), hidden);
    for (std::size_t k = 0; k < drafts.size(); ++k) {
      EXPECT_EQ(drafts[k], logits[static_cast<std::int64_t>(k)].argmax().item<std::int64_t>())
          << model::markov_head_type_name(type) << " slot " << k;
    }
    EXPECT_GT(std::set<std::int64_t>(drafts.begin(), drafts.end()).size(), 1u);  // the head moves the drafts
  }
}

TEST(BlockDecoding, SpeculativeDecodingIsLosslessAtBatchOneAndThree) {
  TempDir tmp;
  const model::TargetModel target = testing::tiny_target_with_wide_weights(tmp);
  const GenerationLimits limits{20, {}};
  const std::vector<Tokens> prompts = {prompt(9, 1), prompt(4, 2), prompt(13, 3)};
  const std::vector<Tokens> want = generate(target, prompts, limits);
  for (const char* strategy : {"dflash", "dspark"}) {
    const model::DSparkConfig config = example_config(strategy);
    const BlockModels m = block_models(target, config, at::kFloat, 5);
    BlockDrafter drafter = [&](const at::Tensor& hidden, std::int64_t anchor) {
      return std::string(strategy) == "dflash" ? model::dflash_drafts(m.draft.lm_head, hidden)
                                               : model::dspark_drafts(m.draft.lm_head, m.head, hidden, anchor);
    };
    for (std::size_t batch : {std::size_t{1}, prompts.size()}) {
      AcceptanceReport report;
      for (std::size_t first = 0; first < prompts.size(); first += batch) {
        const std::vector<Tokens> part(prompts.begin() + static_cast<std::ptrdiff_t>(first),
                                       prompts.begin() + static_cast<std::ptrdiff_t>(first + batch));
        BlockProposer proposer(m.draft, drafter, static_cast<std::int64_t>(batch));
        const std::vector<SpeculativeResult> got =
            speculative_generate(target, proposer, config.backbone.target_layer_ids, part, limits);
        for (std::size_t i = 0; i < batch; ++i) report.add(got[i], got[i].tokens == want[first + i]);
      }
      EXPECT_EQ(report.mismatches, 0) << strategy << " batch " << batch;
      EXPECT_EQ(report.tokens, 60);
      const std::int64_t drafts = std::string(strategy) == "dflash" ? config.backbone.block_size - 1
                                                                    : config.backbone.block_size;
      EXPECT_LE(report.accepted.size(), static_cast<std::size_t>(drafts));
    }
  }
}

// Two prompts: lengths {1, 3} then {2, 2, 2}; the aggregations by hand.
TEST(AcceptanceReport, TheThreeAggregationsAndTheHistogram) {
  AcceptanceReport r;
  SpeculativeResult a, b;
  a.accept_lengths = {1, 3};
  a.accepted = {1, 1};
  a.tokens = Tokens(5);  // the prefill's token and 4 from verifications
  b.accept_lengths = {2, 2, 2};
  b.accepted = {3};
  b.tokens = Tokens(7);
  r.add(a, true);
  r.add(b, false);
  EXPECT_DOUBLE_EQ(r.acceptance_length(), 10.0 / 5);                      // over verifications
  EXPECT_DOUBLE_EQ(r.acceptance_length_per_prompt(), (2.0 + 2.0) / 2);     // mean of per-prompt means
  EXPECT_DOUBLE_EQ(r.acceptance_length_per_request(), (5.0 / 2 + 7.0 / 3) / 2);  // SGLang's per request
  EXPECT_EQ(r.histogram, (std::vector<std::int64_t>{0, 1, 3, 1}));
  EXPECT_EQ(r.accepted, (std::vector<std::int64_t>{4, 1}));
  EXPECT_EQ(r.acceptance_rates(), (std::vector<double>{4.0 / 5, 1.0 / 5}));
  EXPECT_EQ(r.conditional_acceptance_rates(), (std::vector<double>{4.0 / 5, 1.0 / 4}));
  EXPECT_EQ(r.mismatches, 1);
}

}  // namespace
}  // namespace talon::eval
