// Where the draft's inputs come from: the target model run in the loop
// (online_features.h) or hidden states cached by `talon cache`
// (offline_features.h). The trainer deals micro-batches out in rounds, one
// per draft-DP position, and a source turns a round into this rank's
// TttBatch; both give the same batch for the same samples (brief §2).
#pragma once

#include <optional>
#include <vector>

#include "talon/data/batcher.h"
#include "talon/model/ttt.h"
#include "talon/parallel/layout.h"

namespace talon::train {

class FeatureSource {
 public:
  virtual ~FeatureSource() = default;
  // round[d] is draft-DP position d's micro-batch, if it has one. Returns
  // this rank's own, on the draft's device, or nullopt when it has none.
  virtual std::optional<model::TttBatch> make_round(const std::vector<std::optional<data::Batch>>& round,
                                                    const parallel::Layout& layout) const = 0;
};

}  // namespace talon::train
