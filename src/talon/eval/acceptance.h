// What `talon eval` measures: over a set of prompts, the draft's acceptance
// length (tokens per target verification, the bonus token counted, as
// SGLang reports it), the acceptance rate of each draft position, and
// tokens/s with and without speculation. Every prompt is decoded both ways,
// and the two outputs must agree (speculative decoding is lossless).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "talon/eval/speculative.h"

namespace talon::eval {

struct AcceptanceReport {
  std::int64_t prompts = 0;
  std::int64_t tokens = 0;             // generated, over all prompts
  std::int64_t verifications = 0;      // target passes after each prefill
  std::int64_t accepted_tokens = 0;    // sum of the acceptance lengths
  std::vector<std::int64_t> accepted;  // [max depth]: verifications that accepted a draft at depth i + 1
  std::vector<std::int64_t> histogram;  // [max length + 1]: verifications whose acceptance length is i
  // Per prompt: the mean acceptance length of its verifications, and its
  // generated tokens per verification (SGLang's spec_accept_length, which
  // counts the prefill's token too).
  std::vector<double> prompt_means, prompt_tokens_per_verification;
  std::int64_t mismatches = 0;         // prompts whose speculative output differs from greedy: must be 0
  double speculative_seconds = 0, greedy_seconds = 0;

  // The three aggregations in use (design dflash-dspark.md §6): over all
  // verifications (DeepSpec's, and Talon's headline); the mean over prompts
  // of each prompt's mean (z-lab's); the mean over requests of SGLang's
  // spec_accept_length.
  double acceptance_length() const;
  double acceptance_length_per_prompt() const;
  double acceptance_length_per_request() const;
  std::vector<double> acceptance_rates() const;  // accepted[i] / verifications
  // accepted[i] / accepted[i - 1] (verifications for i = 0): a draft at
  // depth i + 1 accepted given every earlier one was (accept_rate@k).
  std::vector<double> conditional_acceptance_rates() const;
  nlohmann::json to_json() const;
  void add(const SpeculativeResult& result, bool lossless);
};

// What proposes the drafts for a batch of `rows` prompts: an EAGLE-3
// proposer, or a block drafter's (train/draft_methods.h picks it).
using ProposerFactory = std::function<std::unique_ptr<Proposer>(std::int64_t rows)>;

// Decodes `batch_size` prompts at a time, with the draft and without.
// aux_layers: the target layers the proposer reads; depth: the most drafts
// a verification can accept (the per-depth figures have this many entries).
AcceptanceReport measure_acceptance(const model::TargetModel& target, const ProposerFactory& proposer,
                                    const std::vector<int>& aux_layers, std::int64_t depth,
                                    const std::vector<Tokens>& prompts, const GenerationLimits& limits,
                                    std::int64_t batch_size);

}  // namespace talon::eval
