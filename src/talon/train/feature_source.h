// Where the draft's inputs come from: the target model run in the loop
// (online_features.h) or hidden states cached by `talon cache`
// (offline_features.h). The trainer deals micro-batches out in rounds, one
// per draft-DP position, and a source turns a round into this rank's
// DraftBatch; both give the same batch for the same samples (brief §2).
#pragma once

#include <optional>
#include <vector>

#include "talon/data/batcher.h"
#include "talon/model/draft_method.h"
#include "talon/parallel/layout.h"

namespace talon::train {

// The target's next-token distribution over a method's draft vocabulary,
// for a method that reads it (EAGLE-3): the vocabulary, the target's
// lm_head rows of this rank's block of it, and, offline, the target's
// lm_head rows of this rank's block of the whole vocabulary under draft TP
// (rows rank * V / n onwards; all V rows without draft TP) for the
// full-vocabulary argmax (online the target's own lm_head serves).
struct DistributionReads {
  model::DraftVocab vocab;
  at::Tensor draft_head;
  at::Tensor vocab_rows;
};

class FeatureSource {
 public:
  virtual ~FeatureSource() = default;
  // round[d] is draft-DP position d's micro-batch, if it has one. Returns
  // this rank's own, on the draft's device, or nullopt when it has none.
  virtual std::optional<model::DraftBatch> make_round(const std::vector<std::optional<data::Batch>>& round,
                                                    const parallel::Layout& layout) const = 0;
};

}  // namespace talon::train
