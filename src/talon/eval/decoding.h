// What greedy generation, sampling and speculative decoding share: a batch
// of prompts of different lengths run through the target into a
// BatchCache, the target's next token, and when a sequence is over.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "talon/model/batch_cache.h"
#include "talon/model/target_model.h"

namespace talon::eval {

using Tokens = std::vector<std::int64_t>;

struct GenerationLimits {
  std::int64_t max_new_tokens = 256;
  Tokens stop_ids;  // generation ends after the first of these (it is kept)
};

// Runs each prompt (non-empty) through the target as row b of `cache`
// (empty, one row per prompt). Returns the features [B, longest, ...]; row
// b's are its first |prompt b| positions.
model::TargetFeatures prefill(const model::TargetModel& target, model::BatchCache& cache,
                              const std::vector<Tokens>& prompts, const std::vector<int>& aux_layers);

// The target's greedy token after each position of hidden [..., H]: int64
// [...] on the CPU.
at::Tensor target_argmax(const model::TargetModel& target, const at::Tensor& hidden);

// Appends `tokens` to `out` until a limit; true when the sequence is over.
bool append_until_limit(Tokens& out, const Tokens& tokens, const GenerationLimits& limits);

// x [B, longest, ...] (prefill's features) at each row's last prompt
// position: [B, ...].
at::Tensor at_last_positions(const at::Tensor& x, const std::vector<Tokens>& prompts);

// The rows (ascending) whose sequence is not over.
std::vector<std::int64_t> unfinished(const std::vector<bool>& over);

// items[rows[0]], items[rows[1]], ...: per-row state as a batch shrinks.
template <class T>
std::vector<T> select_rows(const std::vector<T>& items, const std::vector<std::int64_t>& rows) {
  std::vector<T> kept;
  for (std::int64_t row : rows) kept.push_back(items[static_cast<std::size_t>(row)]);
  return kept;
}

}  // namespace talon::eval
