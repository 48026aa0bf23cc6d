// Speculative decoding with greedy verification, as SGLang runs an EAGLE-3
// draft, and plain greedy decoding, the output it must reproduce token for
// token. Both keep a KV cache for every model.
//
// Chain drafting: once the target has run s_0..s_{N-1} and chosen s_N, a
// Proposer (the EAGLE-3 draft) proposes d_1..d_k after s_N; the target runs
// s_N, d_1..d_k in one pass, the longest prefix of the drafts equal to its
// argmax is accepted, and its next argmax is the bonus token. An acceptance
// length is the tokens one verification yields: accepted drafts + 1.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "talon/model/draft_decoder.h"
#include "talon/model/target_model.h"

namespace talon::eval {

struct GenerationLimits {
  std::int64_t max_new_tokens = 256;
  std::vector<std::int64_t> stop_ids;  // generation ends after the first of these (it is kept)
};

// What proposes the drafts.
class Proposer {
 public:
  virtual ~Proposer() = default;
  // The target has verified positions [first, first + n): `aux` [1, n, 3H]
  // are its features there and next[i] the token after position first + i
  // (the last is the bonus token, which the target has not run yet).
  // Whatever the proposer assumed beyond position first - 1 is void.
  virtual void observe(std::int64_t first, const at::Tensor& aux, const std::vector<std::int64_t>& next) = 0;
  // k tokens to follow the last observed one.
  virtual std::vector<std::int64_t> propose(std::int64_t k) = 0;
};

// The EAGLE-3 draft: a KV cache over the positions the target verified
// (fc of its aux layers, with the embedding of the token that follows);
// draft steps run on the draft's own h and are rolled back by the next
// observe().
class Eagle3Proposer : public Proposer {
 public:
  // draft: the whole draft on the target's device and dtype; d2t [Vd] maps
  // draft index i to target id i + d2t[i].
  Eagle3Proposer(const model::Eagle3Draft& draft, const at::Tensor& d2t);
  void observe(std::int64_t first, const at::Tensor& aux, const std::vector<std::int64_t>& next) override;
  std::vector<std::int64_t> propose(std::int64_t k) override;

 private:
  std::int64_t to_target(const model::DraftStep& step) const;  // the last position's proposal

  const model::Eagle3Draft& draft_;
  at::Tensor d2t_;  // CPU int64
  model::KvCache cache_;
  model::DraftStep last_;  // the draft's output at the last verified position
  std::int64_t verified_ = 0;
};

// The target alone, one token per forward.
std::vector<std::int64_t> greedy_generate(const model::TargetModel& target, const std::vector<std::int64_t>& prompt,
                                          const GenerationLimits& limits);

struct SpeculativeResult {
  std::vector<std::int64_t> tokens;          // generated, prompt excluded
  std::vector<std::int64_t> accept_lengths;  // per verification: accepted drafts + 1
  std::vector<std::int64_t> accepted;        // [k]: verifications whose draft i was accepted
};

// num_steps: drafts per verification (SGLang's --speculative-num-steps);
// aux_layers: the target layers the proposer observes.
SpeculativeResult speculative_generate(const model::TargetModel& target, Proposer& proposer,
                                       const std::array<int, 3>& aux_layers, const std::vector<std::int64_t>& prompt,
                                       std::int64_t num_steps, const GenerationLimits& limits);

}  // namespace talon::eval
