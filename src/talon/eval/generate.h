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

}  // namespace talon::eval
