// Plain decoding with the target alone, a batch of prompts at a time over a
// KV cache: greedy (the output speculative decoding must reproduce) or
// sampled with temperature and top-p (regenerating training answers).
#pragma once

#include <cstdint>
#include <vector>

#include "talon/eval/decoding.h"

namespace talon::eval {

struct Sampling {
  double temperature = 0;  // 0: greedy
  double top_p = 1;        // sample from the smallest set of tokens whose probability reaches top_p
};

// The generated tokens of each prompt (prompt excluded). When sampling,
// sequence b draws from its own generator seeded by seeds[b], so the batch
// it runs in does not change the numbers it draws (only, at a near tie,
// the last bits of its logits can). Sampling needs the whole vocabulary on
// one process (no target TP).
std::vector<Tokens> generate(const model::TargetModel& target, const std::vector<Tokens>& prompts,
                             const GenerationLimits& limits, const Sampling& sampling = {},
                             const std::vector<std::uint64_t>& seeds = {});

// Generation for a batch of conversations that go on turn after turn
// (regenerating a dataset's replies), each keeping its KV cache between
// turns. A prompt runs through the target only from where it departs from
// the tokens its conversation's cache holds (the previous prompt and the
// reply as fed back, which the chat template renders and the tokenizer
// encodes again, so they usually agree up to the new user turn); the cache
// is cut back to that common prefix. A conversation's turns so run its
// tokens through the target once, not once per turn. Replies are generate()'s for the same
// prompts, up to the last bits of the logits (another batch shape).
class ContinuedGeneration {
 public:
  // Conversations 0 .. count - 1, none started.
  ContinuedGeneration(const model::TargetModel& target, std::int64_t count);

  // The next reply of each conversation in `going` (ascending; any other
  // is over and leaves for good) to prompts[i]; last[i]: no turn follows,
  // so its cache is dropped once the reply ends. A reply ends as
  // generate()'s do or where prompt and reply fill the target's
  // max_position_embeddings (a prompt must leave room for one token).
  std::vector<Tokens> reply(const std::vector<std::int64_t>& going, const std::vector<Tokens>& prompts,
                            const std::vector<bool>& last, const GenerationLimits& limits,
                            const Sampling& sampling = {}, const std::vector<std::uint64_t>& seeds = {});

  // Prompt tokens run through the target so far (the cost the tests count).
  std::int64_t prefilled() const { return prefilled_; }

 private:
  // Runs each row's prompt from where its cache ends; the hidden state
  // [B, H] at each prompt's last token.
  at::Tensor run_prompts(const std::vector<Tokens>& prompts);
  void keep_rows(const std::vector<std::int64_t>& rows);

  const model::TargetModel& target_;
  model::BatchCache cache_;
  std::vector<std::int64_t> conversations_;  // batch row -> conversation
  std::vector<Tokens> cached_;               // batch row -> the tokens its cache holds
  std::int64_t prefilled_ = 0;
};

}  // namespace talon::eval
