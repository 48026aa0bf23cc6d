// What `talon eval` measures: over a set of prompts, the draft's acceptance
// length (tokens per target verification, the bonus token counted, as
// SGLang reports it), the acceptance rate of each draft position, and
// tokens/s with and without speculation. Every prompt is decoded both ways,
// and the two outputs must agree (speculative decoding is lossless).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "talon/eval/draft_tree.h"
#include "talon/eval/speculative.h"
#include "talon/model/eagle3_draft.h"

namespace talon::eval {

struct AcceptanceReport {
  std::int64_t prompts = 0;
  std::int64_t tokens = 0;             // generated, over all prompts
  std::int64_t verifications = 0;      // target passes after each prefill
  std::int64_t accepted_tokens = 0;    // sum of the acceptance lengths
  std::vector<std::int64_t> accepted;  // [num_steps]: verifications that accepted a draft at depth i + 1
  std::int64_t mismatches = 0;         // prompts whose speculative output differs from greedy: must be 0
  double speculative_seconds = 0, greedy_seconds = 0;

  double acceptance_length() const;
  std::vector<double> acceptance_rates() const;  // accepted[i] / verifications
  nlohmann::json to_json() const;
};

// Decodes `batch_size` prompts at a time, with the draft and without.
AcceptanceReport measure_acceptance(const model::TargetModel& target, const model::Eagle3Draft& draft,
                                    const at::Tensor& d2t, const std::vector<int>& aux_layers,
                                    const std::vector<Tokens>& prompts, const TreeShape& shape,
                                    const GenerationLimits& limits, std::int64_t batch_size);

}  // namespace talon::eval
