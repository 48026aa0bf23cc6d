// The draft's inputs read from a hidden-state cache (`talon cache`), with
// no target model loaded: the target layers' outputs and the final hidden
// state come from the shards as they are, and the target distribution (for
// a method that reads it) is the target's lm_head applied to the cached
// final hidden state (brief §2: its Vd draft rows for the probabilities,
// all V rows for the argmax). Every rank reads its own
// draft-DP position's micro-batch; the members of a draft-TP group read the
// same one, and split the full-vocabulary argmax by vocabulary rows.
#pragma once

#include "talon/data/hidden_state_cache.h"
#include "talon/train/feature_source.h"

namespace talon::train {

class OfflineFeatures : public FeatureSource {
 public:
  // distribution: for a method that reads the target distribution, with
  // its vocab_rows, on `device` in `dtype`, the dtype the cached states are
  // computed in.
  OfflineFeatures(data::HiddenStateCache cache, std::optional<DistributionReads> distribution,
                  parallel::Group draft_tp, at::Device device, at::ScalarType dtype);
  std::optional<model::DraftBatch> make_round(const std::vector<std::optional<data::Batch>>& round,
                                              const parallel::Layout& layout) const override;

 private:
  // The batch (of the cache's own dataset) with its cached states, right-
  // padded with zeros, on the draft's device. Online, padding holds the
  // target's states for token 0 instead; either way nothing reaches the
  // loss, because loss_mask is 0 there and on each sample's last position
  // (brief §2, Talon), the one row whose target reads the first padding.
  model::DraftBatch make(const data::Batch& batch) const;

  data::HiddenStateCache cache_;
  std::optional<DistributionReads> distribution_;  // on the draft's device
  parallel::Group draft_tp_;
  at::Device device_;
  at::ScalarType dtype_;
};

}  // namespace talon::train
