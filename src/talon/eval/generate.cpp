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

const std::vector<int> kAux = {0, 1, 2};  // extend() computes them; plain decoding ignores them

// The next token of each row of hidden [B, H]: greedy, or drawn from row
// b's generator.
class NextToken {
 public:
  NextToken(const model::TargetModel& target, const Sampling& sampling, const std::vector<std::uint64_t>& seeds,
            std::size_t rows)
      : target_(target), sampling_(sampling) {
    if (!greedy() && target.tp().size() > 1) fail("generate: sampling needs the whole target on one process (no TP)");
    if (!greedy() && seeds.size() != rows) fail("generate: {} seeds for {} prompts", seeds.size(), rows);
    for (std::uint64_t seed : seeds) generators_.push_back(at::detail::createCPUGenerator(seed));
  }
  bool greedy() const { return sampling_.temperature <= 0; }
  at::Tensor operator()(const at::Tensor& hidden) {
    return greedy() ? target_argmax(target_, hidden) : sample(target_, hidden, sampling_, generators_);
  }
  void keep_rows(const std::vector<std::int64_t>& rows) {
    if (!greedy()) generators_ = select_rows(generators_, rows);
  }

 private:
  const model::TargetModel& target_;
  Sampling sampling_;
  std::vector<at::Generator> generators_;
};

}  // namespace

std::vector<Tokens> generate(const model::TargetModel& target, const std::vector<Tokens>& prompts,
                             const GenerationLimits& limits, const Sampling& sampling,
                             const std::vector<std::uint64_t>& seeds) {
  NextToken next_tokens(target, sampling, seeds, prompts.size());

  const auto count = static_cast<std::int64_t>(prompts.size());
  std::vector<Tokens> out(prompts.size());
  if (prompts.empty()) return out;
  model::BatchCache cache(count);
  const model::TargetFeatures f = prefill(target, cache, prompts, kAux);
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
      next_tokens.keep_rows(going);
    }
    const auto batch = static_cast<std::int64_t>(rows.size());
    const model::TargetFeatures step =
        target.extend(next.unsqueeze(1), cache.positions(at::zeros({batch, 1}, at::kLong)),
                      cache.mask(at::ones({batch, 1, 1}, at::kBool)), cache.kv(), kAux);
    cache.settle(std::vector<std::vector<std::int64_t>>(rows.size(), {0}));
    next = next_tokens(step.hidden.select(1, 0));
  }
}

ContinuedGeneration::ContinuedGeneration(const model::TargetModel& target, std::int64_t count)
    : target_(target), cache_(count), cached_(static_cast<std::size_t>(count)) {
  for (std::int64_t c = 0; c < count; ++c) conversations_.push_back(c);
}

void ContinuedGeneration::keep_rows(const std::vector<std::int64_t>& rows) {
  if (rows.size() == conversations_.size()) return;
  cache_.keep_rows(rows);
  conversations_ = select_rows(conversations_, rows);
  cached_ = select_rows(cached_, rows);
}

at::Tensor ContinuedGeneration::run_prompts(const std::vector<Tokens>& prompts) {
  const auto rows = static_cast<std::int64_t>(prompts.size());
  // Each row keeps what its prompt shares with its cache, less the last
  // token, whose hidden state the first reply token needs.
  std::vector<std::int64_t> done(prompts.size());
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    const Tokens& cached = cached_[b];
    const Tokens& prompt = prompts[b];
    const auto same = std::mismatch(cached.begin(), cached.end(), prompt.begin(), prompt.end()).first - cached.begin();
    done[b] = std::min<std::int64_t>(same, static_cast<std::int64_t>(prompt.size()) - 1);
    prefilled_ += static_cast<std::int64_t>(prompt.size()) - done[b];
    cached_[b] = prompt;
  }
  if (cache_.kv().length() == 0) return at_last_positions(prefill(target_, cache_, prompts, kAux).hidden, prompts);
  cache_.keep_first(done);
  // In blocks, so that attention scores [B, heads, block, T] stay small
  // when a long prompt runs again whole.
  constexpr std::int64_t kBlock = 256;
  at::Tensor last = at::empty({rows, target_.config().hidden_size}, target_.embed_tokens().options());
  while (true) {
    std::int64_t width = 0;
    for (std::size_t b = 0; b < prompts.size(); ++b) {
      width = std::max(width, static_cast<std::int64_t>(prompts[b].size()) - done[b]);
    }
    if (width == 0) return last;
    width = std::min(width, kBlock);
    at::Tensor ids = at::zeros({rows, width}, at::kLong);
    std::vector<std::vector<std::int64_t>> kept(prompts.size());
    for (std::size_t b = 0; b < prompts.size(); ++b) {
      const auto row = static_cast<std::int64_t>(b);
      const std::int64_t n = std::min(width, static_cast<std::int64_t>(prompts[b].size()) - done[b]);
      if (n == 0) continue;
      ids[row].narrow(0, 0, n).copy_(at::tensor(Tokens(prompts[b].begin() + done[b], prompts[b].begin() + done[b] + n)));
      for (std::int64_t i = 0; i < n; ++i) kept[b].push_back(i);
    }
    // Each row's tokens come first in the block, so causal attention among
    // them keeps them exact; the rest of its block become holes.
    const at::Tensor offsets = at::arange(width, at::kLong).expand({rows, width});
    const at::Tensor causal = at::ones({width, width}, at::kBool).tril().expand({rows, width, width});
    const model::TargetFeatures f =
        target_.extend(ids, cache_.positions(offsets), cache_.mask(causal), cache_.kv(), kAux);
    cache_.settle(kept);
    for (std::size_t b = 0; b < prompts.size(); ++b) {
      const auto n = static_cast<std::int64_t>(kept[b].size());
      done[b] += n;
      if (n > 0 && done[b] == static_cast<std::int64_t>(prompts[b].size())) {
        last[static_cast<std::int64_t>(b)].copy_(f.hidden[static_cast<std::int64_t>(b)][n - 1]);
      }
    }
  }
}

std::vector<Tokens> ContinuedGeneration::reply(const std::vector<std::int64_t>& going,
                                               const std::vector<Tokens>& prompts, const std::vector<bool>& last,
                                               const GenerationLimits& limits, const Sampling& sampling,
                                               const std::vector<std::uint64_t>& seeds) {
  if (prompts.size() != going.size() || last.size() != going.size()) {
    fail("continued generation: {} prompts and {} flags for {} conversations", prompts.size(), last.size(),
         going.size());
  }
  std::vector<Tokens> out(going.size());
  if (going.empty()) return out;
  // Conversations are rows in ascending order, so the rows of `going` are found in one pass.
  std::vector<std::int64_t> rows;
  for (std::size_t r = 0, i = 0; i < going.size(); ++i) {
    while (r < conversations_.size() && conversations_[r] < going[i]) ++r;
    if (r == conversations_.size() || conversations_[r] != going[i]) {
      fail("continued generation: conversation {} is over or was never started", going[i]);
    }
    rows.push_back(static_cast<std::int64_t>(r));
  }
  keep_rows(rows);
  const std::int64_t context = target_.config().max_position_embeddings;
  std::vector<GenerationLimits> row_limits(going.size(), limits);
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    const auto length = static_cast<std::int64_t>(prompts[b].size());
    if (length == 0 || length >= context) {
      fail("continued generation: a prompt of {} tokens, expected 1 to {} (max_position_embeddings {} less one)",
           length, context - 1, context);
    }
    row_limits[b].max_new_tokens = std::min(limits.max_new_tokens, context - length);
  }
  NextToken next_tokens(target_, sampling, seeds, prompts.size());
  at::Tensor next = next_tokens(run_prompts(prompts));
  std::vector<std::int64_t> slots(going.size());  // batch row -> index in `going`
  for (std::size_t b = 0; b < slots.size(); ++b) slots[b] = static_cast<std::int64_t>(b);
  std::vector<bool> over(going.size(), false);
  while (true) {
    // Rows whose reply is over stay in the batch, keeping no new column,
    // unless their conversation is too.
    std::vector<std::int64_t> staying;
    for (std::size_t b = 0; b < slots.size(); ++b) {
      const auto slot = static_cast<std::size_t>(slots[b]);
      if (!over[b]) {
        over[b] = append_until_limit(out[slot], {next[static_cast<std::int64_t>(b)].item<std::int64_t>()},
                                     row_limits[slot]);
      }
      if (!over[b] || !last[slot]) staying.push_back(static_cast<std::int64_t>(b));
    }
    if (std::all_of(over.begin(), over.end(), [](bool o) { return o; })) {
      keep_rows(staying);
      return out;
    }
    if (staying.size() < slots.size()) {
      keep_rows(staying);
      next = next.index_select(0, at::tensor(staying, at::kLong));
      slots = select_rows(slots, staying);
      over = select_rows(over, staying);
      next_tokens.keep_rows(staying);
    }
    const auto batch = static_cast<std::int64_t>(slots.size());
    std::vector<std::vector<std::int64_t>> kept(slots.size());
    for (std::size_t b = 0; b < slots.size(); ++b) {
      if (over[b]) continue;
      kept[b] = {0};
      cached_[b].push_back(next[static_cast<std::int64_t>(b)].item<std::int64_t>());
    }
    const model::TargetFeatures step =
        target_.extend(next.unsqueeze(1), cache_.positions(at::zeros({batch, 1}, at::kLong)),
                       cache_.mask(at::ones({batch, 1, 1}, at::kBool)), cache_.kv(), kAux);
    cache_.settle(kept);
    next = next_tokens(step.hidden.select(1, 0));
  }
}

}  // namespace talon::eval
