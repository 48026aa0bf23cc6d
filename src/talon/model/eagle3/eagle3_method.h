// EAGLE-3 behind the draft-method interface (draft_method.h): the draft of
// eagle3_draft.h trained with training-time test (ttt.h) against the
// target's distribution over the draft vocabulary.
#pragma once

#include "talon/io/hf_config.h"
#include "talon/model/draft_method.h"
#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_distribution.h"
#include "talon/model/eagle3/ttt.h"

namespace talon::model {

// The TTT step's inputs of a batch that carries the target distribution.
TttBatch ttt_batch(const DraftBatch& batch);

class Eagle3Method : public DraftMethod {
 public:
  // draft_head: the target's lm_head rows of this draft-TP member's block
  // of the draft vocabulary, which the features' distribution is formed from.
  Eagle3Method(Eagle3Draft draft, DraftVocab vocab, at::Tensor draft_head, int ttt_length, TttOptions options);

  Strategy strategy() const override { return Strategy::Eagle3; }
  NamedTensors parameters() const override { return draft_.parameters(); }
  std::vector<parallel::TpShard> shards() const override { return draft_.shards(); }
  LossScope loss_scope() const override { return LossScope::MicroBatch; }
  // The TTT loss (ttt.h); metrics: per step the loss, the correct and the
  // supervised positions, then the micro-batch count.
  MicroBatchLoss loss(const DraftBatch& batch) const override;
  std::int64_t metric_count() const override { return 3 * static_cast<std::int64_t>(ttt_length_) + 1; }
  // loss = sum_s 0.8^s ploss_s with ploss the mean over micro-batches, acc
  // per step (brief §2 step 9), as before the interface existed.
  nlohmann::json record(const at::Tensor& metrics, double objective) const override;
  void save(const std::string& dir, const NamedTensors& whole) const override;
  nlohmann::json config_json() const override;

  const Eagle3Draft& draft() const { return draft_; }
  const DraftVocab& vocab() const { return vocab_; }
  const at::Tensor& draft_head() const { return draft_head_; }

 private:
  Eagle3Draft draft_;
  DraftVocab vocab_;
  at::Tensor draft_head_;
  int ttt_length_;
  TttOptions options_;
};

}  // namespace talon::model
