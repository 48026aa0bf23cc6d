// DSpark behind the draft-method interface (draft_method.h): the block
// backbone with the Markov and confidence heads, trained with DSpark's
// objective (dspark_objective.h), normalised over the step or, as DeepSpec
// does, per micro-step.
#pragma once

#include <optional>

#include "talon/model/block/block_draft.h"
#include "talon/model/draft_method.h"
#include "talon/model/dspark/dspark_config.h"
#include "talon/model/dspark/dspark_objective.h"
#include "talon/model/dspark/markov_head.h"

namespace talon::model {

struct DSparkTraining {
  std::optional<double> decay_gamma = 4.0;  // --loss-decay-gamma; DeepSpec's recipe 4
  // Step: one ratio over the whole optimizer step, the same on every layout;
  // Round: DeepSpec's mean over micro-steps of rank-global ratios (+1e-6),
  // which depends on the world size (design §7 #9).
  LossScope normalization = LossScope::Step;
  DSparkObjectiveOptions objective;
  bool blockwise_attention = true;  // false: the plain masked reference
};

class DSparkMethod : public DraftMethod {
 public:
  DSparkMethod(BlockDraft backbone, MarkovHead head, DSparkTraining training);

  Strategy strategy() const override { return Strategy::DSpark; }
  NamedTensors parameters() const override;  // the backbone's, then the heads'
  std::vector<parallel::TpShard> shards() const override;
  LossScope loss_scope() const override { return training_.normalization; }
  double denominator_epsilon() const override { return 1e-6; }  // DeepSpec's
  // numerator: alpha_ce CE + alpha_l1 L1 + alpha_conf BCE, each summed with
  // the weights; metrics: those three sums, the weights' sum, per slot the
  // acceptance rate, the evaluated and the correct, then tau and the blocks.
  MicroBatchLoss loss(const DraftBatch& batch) const override;
  std::int64_t metric_count() const override { return 3 * backbone_.config.block_size + 6; }
  // loss, ce_loss, l1_loss, confidence_loss; per slot acc and accept_rate;
  // tau_probabilistic (DeepSpec's metrics).
  nlohmann::json record(const at::Tensor& metrics, double objective) const override;
  void save(const std::string& dir, const NamedTensors& whole) const override;
  nlohmann::json config_json() const override;

  const BlockDraft& backbone() const { return backbone_; }
  const MarkovHead& head() const { return head_; }

 private:
  BlockDraft backbone_;
  MarkovHead head_;
  DSparkTraining training_;
};

}  // namespace talon::model
