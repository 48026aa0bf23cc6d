#include "talon/eval/decoding.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "talon/model/target_distribution.h"
#include "talon/util/error.h"

namespace talon::eval {

model::TargetFeatures prefill(const model::TargetModel& target, model::BatchCache& cache,
                              const std::vector<Tokens>& prompts, const std::vector<int>& aux_layers) {
  const auto rows = static_cast<std::int64_t>(prompts.size());
  std::int64_t longest = 0;
  for (const Tokens& p : prompts) longest = std::max(longest, static_cast<std::int64_t>(p.size()));
  if (longest == 0 || std::any_of(prompts.begin(), prompts.end(), [](const Tokens& p) { return p.empty(); })) {
    fail("decoding: every prompt needs at least one token");
  }
  at::Tensor ids = at::zeros({rows, longest}, at::kLong);
  std::vector<std::vector<std::int64_t>> kept(prompts.size());
  for (std::int64_t b = 0; b < rows; ++b) {
    const Tokens& p = prompts[static_cast<std::size_t>(b)];
    ids[b].narrow(0, 0, static_cast<std::int64_t>(p.size())).copy_(at::tensor(p, at::kLong));
    for (std::size_t i = 0; i < p.size(); ++i)
      kept[static_cast<std::size_t>(b)].push_back(static_cast<std::int64_t>(i));
  }
  // Right padding: a prompt's positions come before its padding, so plain
  // causal attention keeps them exact; the padding becomes holes.
  model::TargetFeatures f = target.prefill(ids, cache.kv(), aux_layers);
  cache.settle(kept);
  return f;
}

at::Tensor target_argmax(const model::TargetModel& target, const at::Tensor& hidden) {
  const at::Tensor flat = hidden.reshape({-1, hidden.size(-1)});
  at::IntArrayRef shape = hidden.sizes();
  return model::chunked_argmax(flat, target.lm_head(), 0, 0, target.tp())
      .cpu()
      .view(shape.slice(0, shape.size() - 1));
}

bool append_until_limit(Tokens& out, const Tokens& tokens, const GenerationLimits& limits) {
  for (std::int64_t token : tokens) {
    if (static_cast<std::int64_t>(out.size()) >= limits.max_new_tokens) return true;
    out.push_back(token);
    if (std::find(limits.stop_ids.begin(), limits.stop_ids.end(), token) != limits.stop_ids.end()) return true;
  }
  return static_cast<std::int64_t>(out.size()) >= limits.max_new_tokens;
}

at::Tensor at_last_positions(const at::Tensor& x, const std::vector<Tokens>& prompts) {
  std::vector<std::int64_t> last;
  for (const Tokens& p : prompts) last.push_back(static_cast<std::int64_t>(p.size()) - 1);
  const at::Tensor index = at::tensor(last, at::kLong).to(x.device());
  return x.index({at::arange(x.size(0), index.options()), index});
}

std::vector<std::int64_t> unfinished(const std::vector<bool>& over) {
  std::vector<std::int64_t> rows;
  for (std::size_t b = 0; b < over.size(); ++b) {
    if (!over[b]) rows.push_back(static_cast<std::int64_t>(b));
  }
  return rows;
}

}  // namespace talon::eval
