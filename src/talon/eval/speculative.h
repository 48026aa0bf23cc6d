// Speculative decoding with greedy verification, as SGLang runs an EAGLE-3
// draft, over a batch of prompts with a KV cache for every model.
//
// Once the target has run s_0..s_{N-1} and chosen s_N, a Proposer (the
// EAGLE-3 draft) proposes a tree of drafts after s_N (a chain when topk is
// 1); the target runs s_N and the tree in one pass, each node seeing its
// ancestors. From s_N, the child equal to the target's argmax is accepted
// while there is one; the argmax after the last accepted node is the bonus
// token. An acceptance length is the tokens one verification yields:
// accepted drafts + 1. The output is the target's own greedy one.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "talon/eval/decoding.h"
#include "talon/eval/draft_tree.h"

namespace talon::eval {

// What proposes the drafts, for a batch of sequences.
class Proposer {
 public:
  virtual ~Proposer() = default;
  // Row b's target has verified its next n_b positions: aux[b] [n_b, 3H]
  // are its features there and next[b] the token after each (the last is
  // the bonus token, not run by the target yet). Drafts proposed since the
  // last observe() are void.
  virtual void observe(const std::vector<at::Tensor>& aux, const std::vector<Tokens>& next) = 0;
  // A tree after each row's last observed token; all of the same size.
  virtual std::vector<DraftTree> propose() = 0;
  // Keeps the rows `rows` (ascending) of the batch.
  virtual void keep_rows(const std::vector<std::int64_t>& rows) = 0;
};

struct SpeculativeResult {
  Tokens tokens;                             // generated, prompt excluded
  std::vector<std::int64_t> accept_lengths;  // per verification: accepted drafts + 1
  std::vector<std::int64_t> accepted;        // [depth]: verifications that accepted a draft at depth i + 1
};

// prompts: one per row of the proposer's batch; aux_layers: the target
// layers the proposer observes.
std::vector<SpeculativeResult> speculative_generate(const model::TargetModel& target, Proposer& proposer,
                                                    const std::vector<int>& aux_layers,
                                                    const std::vector<Tokens>& prompts, const GenerationLimits& limits);

}  // namespace talon::eval
