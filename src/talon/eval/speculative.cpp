#include "talon/eval/speculative.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "talon/model/draft_decoder.h"
#include "talon/model/target_distribution.h"

namespace talon::eval {
namespace {

at::Tensor lower_triangle(std::int64_t n) { return at::ones({n, n}, at::kBool).tril(); }

at::Tensor as_row(const std::vector<std::int64_t>& ids, at::Device device) {
  return at::tensor(ids, at::kLong).unsqueeze(0).to(device);
}

at::Tensor positions(std::int64_t first, std::int64_t count) { return at::arange(first, first + count, at::kLong); }

// The target's greedy next token after each position of hidden [1, n, H].
std::vector<std::int64_t> target_argmax(const model::TargetModel& target, const at::Tensor& hidden) {
  at::Tensor top = model::chunked_argmax(hidden[0], target.lm_head(), 16384, 2048, target.tp()).cpu();
  return {top.data_ptr<std::int64_t>(), top.data_ptr<std::int64_t>() + top.numel()};
}

// Appends tokens until a limit; true when generation is over.
bool append(std::vector<std::int64_t>& out, const std::vector<std::int64_t>& tokens, const GenerationLimits& limits) {
  for (std::int64_t token : tokens) {
    if (static_cast<std::int64_t>(out.size()) >= limits.max_new_tokens) return true;
    out.push_back(token);
    if (std::find(limits.stop_ids.begin(), limits.stop_ids.end(), token) != limits.stop_ids.end()) return true;
  }
  return static_cast<std::int64_t>(out.size()) >= limits.max_new_tokens;
}

}  // namespace

std::vector<std::int64_t> greedy_generate(const model::TargetModel& target, const std::vector<std::int64_t>& prompt,
                                          const GenerationLimits& limits) {
  const std::array<int, 3> aux = {0, 1, 2};  // extend() computes them; greedy decoding ignores them
  const auto n = static_cast<std::int64_t>(prompt.size());
  model::KvCache cache;
  std::vector<std::int64_t> out;
  model::TargetFeatures f = target.extend(as_row(prompt, target.device()), positions(0, n), lower_triangle(n), cache, aux);
  std::int64_t next = target_argmax(target, f.hidden.narrow(1, n - 1, 1))[0];
  while (!append(out, {next}, limits)) {
    f = target.extend(as_row({next}, target.device()), positions(cache.length(), 1), lower_triangle(1), cache, aux);
    next = target_argmax(target, f.hidden)[0];
  }
  return out;
}

Eagle3Proposer::Eagle3Proposer(const model::Eagle3Draft& draft, const at::Tensor& d2t)
    : draft_(draft), d2t_(d2t.to(at::kCPU, at::kLong)) {}

std::int64_t Eagle3Proposer::to_target(const model::DraftStep& step) const {
  const std::int64_t i = step.logits[0][-1].argmax().item<std::int64_t>();
  return i + d2t_[i].item<std::int64_t>();
}

void Eagle3Proposer::observe(std::int64_t first, const at::Tensor& aux, const std::vector<std::int64_t>& next) {
  const auto n = static_cast<std::int64_t>(next.size());
  cache_.keep(positions(0, first));  // drops the draft steps since the last verification
  const at::Tensor hidden = at::linear(aux.to(draft_.fc.scalar_type()), draft_.fc);
  last_ = model::draft_extend(draft_, hidden, as_row(next, hidden.device()), positions(first, n), lower_triangle(n),
                              cache_);
  verified_ = first + n;
}

std::vector<std::int64_t> Eagle3Proposer::propose(std::int64_t k) {
  // d_1 from the last verified position, then steps on the draft's own h
  // at the following positions (training's TTT steps).
  std::vector<std::int64_t> drafts = {to_target(last_)};
  model::DraftStep step = last_;
  for (std::int64_t j = 1; j < k; ++j) {
    step = model::draft_extend(draft_, step.hidden.narrow(1, -1, 1), as_row({drafts.back()}, step.hidden.device()),
                               positions(verified_ - 1 + j, 1), lower_triangle(1), cache_);
    drafts.push_back(to_target(step));
  }
  return drafts;
}

SpeculativeResult speculative_generate(const model::TargetModel& target, Proposer& proposer,
                                       const std::array<int, 3>& aux_layers, const std::vector<std::int64_t>& prompt,
                                       std::int64_t num_steps, const GenerationLimits& limits) {
  const at::Device device = target.device();
  SpeculativeResult result;
  result.accepted.assign(static_cast<std::size_t>(num_steps), 0);
  model::KvCache cache;  // the target's: s_0..s_{N-1}; `pending` is s_N
  const auto n = static_cast<std::int64_t>(prompt.size());
  model::TargetFeatures f = target.extend(as_row(prompt, device), positions(0, n), lower_triangle(n), cache, aux_layers);
  std::int64_t pending = target_argmax(target, f.hidden.narrow(1, n - 1, 1))[0];
  if (append(result.tokens, {pending}, limits)) return result;
  std::vector<std::int64_t> next(prompt.begin() + 1, prompt.end());
  next.push_back(pending);
  proposer.observe(0, f.aux, next);

  while (true) {
    const std::int64_t length = cache.length();  // N
    const std::vector<std::int64_t> drafts = proposer.propose(num_steps);
    std::vector<std::int64_t> block = {pending};
    block.insert(block.end(), drafts.begin(), drafts.end());
    const auto width = static_cast<std::int64_t>(block.size());
    f = target.extend(as_row(block, device), positions(length, width), lower_triangle(width), cache, aux_layers);
    const std::vector<std::int64_t> wanted = target_argmax(target, f.hidden);
    std::int64_t m = 0;
    while (m < num_steps && drafts[static_cast<std::size_t>(m)] == wanted[static_cast<std::size_t>(m)]) {
      ++result.accepted[static_cast<std::size_t>(m)];
      ++m;
    }
    result.accept_lengths.push_back(m + 1);
    std::vector<std::int64_t> produced(drafts.begin(), drafts.begin() + m);
    produced.push_back(wanted[static_cast<std::size_t>(m)]);
    if (append(result.tokens, produced, limits)) return result;
    cache.keep(positions(0, length + m + 1));  // s_N, d_1..d_m
    proposer.observe(length, f.aux.narrow(1, 0, m + 1), produced);
    pending = produced.back();
  }
}

}  // namespace talon::eval
