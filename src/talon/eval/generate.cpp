#include "talon/eval/generate.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "talon/util/error.h"

namespace talon::eval {
namespace {

// Draws one token per row of hidden [B, H] with temperature and top-p, by
// inverting the cumulative distribution (in vocabulary order) at one
// uniform draw: a tiny change in the logits (another batch shape, another
// kernel) moves each boundary by as little, so it rarely changes the
// token, where drawing a number per vocabulary entry (multinomial's
// exponential trick) or ordering by probability would often.
at::Tensor sample(const model::TargetModel& target, const at::Tensor& hidden, const Sampling& sampling,
                  std::vector<at::Generator>& generators) {
  const at::Tensor logits = at::linear(hidden, target.lm_head()).to(at::kCPU, at::kFloat);
  const at::Tensor probs = at::softmax(logits / sampling.temperature, -1);
  // Top-p keeps the most likely tokens while the probability before each
  // is under top_p (the first always): those at least as likely as the
  // last one kept.
  const at::Tensor sorted = std::get<0>(probs.sort(/*dim=*/-1, /*descending=*/true));
  const at::Tensor count = ((sorted.cumsum(-1) - sorted) < sampling.top_p).sum(-1, /*keepdim=*/true);
  const at::Tensor floor = sorted.gather(-1, count - 1);
  const at::Tensor cumulative = probs.masked_fill(probs < floor, 0).cumsum(-1);
  std::vector<std::int64_t> tokens;
  for (std::int64_t b = 0; b < hidden.size(0); ++b) {
    const at::Tensor u = at::rand({1}, generators[static_cast<std::size_t>(b)], at::kFloat) * cumulative[b][-1];
    // u rounded up to the total would land past the last kept token.
    const std::int64_t last = (probs[b] >= floor[b]).nonzero().max().item<std::int64_t>();
    const at::Tensor at = at::searchsorted(cumulative[b], u, /*out_int32=*/false, /*right=*/true);
    tokens.push_back(std::min(at.item<std::int64_t>(), last));
  }
  return at::tensor(tokens, at::kLong);
}

}  // namespace

std::vector<Tokens> generate(const model::TargetModel& target, const std::vector<Tokens>& prompts,
                             const GenerationLimits& limits, const Sampling& sampling,
                             const std::vector<std::uint64_t>& seeds) {
  const bool greedy = sampling.temperature <= 0;
  if (!greedy && target.tp().size() > 1) fail("generate: sampling needs the whole target on one process (no TP)");
  if (!greedy && seeds.size() != prompts.size())
    fail("generate: {} seeds for {} prompts", seeds.size(), prompts.size());
  std::vector<at::Generator> generators;
  for (std::uint64_t seed : seeds) generators.push_back(at::detail::createCPUGenerator(seed));
  auto next_tokens = [&](const at::Tensor& hidden) {
    return greedy ? target_argmax(target, hidden) : sample(target, hidden, sampling, generators);
  };
  const std::array<int, 3> aux = {0, 1, 2};  // extend() computes them; plain decoding ignores them

  const auto count = static_cast<std::int64_t>(prompts.size());
  std::vector<Tokens> out(prompts.size());
  if (prompts.empty()) return out;
  model::BatchCache cache(count);
  const model::TargetFeatures f = prefill(target, cache, prompts, aux);
  at::Tensor next = next_tokens(at_last_positions(f.hidden, prompts));
  std::vector<std::int64_t> rows(prompts.size());  // batch row -> prompt
  for (std::int64_t b = 0; b < count; ++b) rows[static_cast<std::size_t>(b)] = b;
  while (true) {
    std::vector<bool> over(rows.size());
    for (std::size_t b = 0; b < rows.size(); ++b) {
      over[b] = append_until_limit(out[static_cast<std::size_t>(rows[b])],
                                   {next[static_cast<std::int64_t>(b)].item<std::int64_t>()}, limits);
    }
    const std::vector<std::int64_t> going = unfinished(over);
    if (going.empty()) return out;
    if (going.size() < rows.size()) {
      cache.keep_rows(going);
      next = next.index_select(0, at::tensor(going, at::kLong));
      rows = select_rows(rows, going);
      if (!greedy) generators = select_rows(generators, going);
    }
    const auto batch = static_cast<std::int64_t>(rows.size());
    const model::TargetFeatures step =
        target.extend(next.unsqueeze(1), cache.positions(at::zeros({batch, 1}, at::kLong)),
                      cache.mask(at::ones({batch, 1, 1}, at::kBool)), cache.kv(), aux);
    cache.settle(std::vector<std::vector<std::int64_t>>(rows.size(), {0}));
    next = next_tokens(step.hidden.select(1, 0));
  }
}

}  // namespace talon::eval
