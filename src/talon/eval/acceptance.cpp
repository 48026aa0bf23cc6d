#include "talon/eval/acceptance.h"

#include <chrono>

namespace talon::eval {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double AcceptanceReport::acceptance_length() const {
  return verifications > 0 ? static_cast<double>(accepted_tokens) / static_cast<double>(verifications) : 0.0;
}

std::vector<double> AcceptanceReport::acceptance_rates() const {
  std::vector<double> rates;
  for (std::int64_t count : accepted) {
    rates.push_back(verifications > 0 ? static_cast<double>(count) / static_cast<double>(verifications) : 0.0);
  }
  return rates;
}

nlohmann::json AcceptanceReport::to_json() const {
  auto per_second = [&](double seconds) { return seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0; };
  return {{"prompts", prompts},
          {"generated_tokens", tokens},
          {"verifications", verifications},
          {"acceptance_length", acceptance_length()},
          {"acceptance_rate_per_position", acceptance_rates()},
          {"speculative_tokens_per_s", per_second(speculative_seconds)},
          {"greedy_tokens_per_s", per_second(greedy_seconds)},
          {"lossless_mismatches", mismatches}};
}

AcceptanceReport measure_acceptance(const model::TargetModel& target, const model::Eagle3Draft& draft,
                                    const at::Tensor& d2t, const std::array<int, 3>& aux_layers,
                                    const std::vector<std::vector<std::int64_t>>& prompts, std::int64_t num_steps,
                                    const GenerationLimits& limits) {
  AcceptanceReport report;
  report.accepted.assign(static_cast<std::size_t>(num_steps), 0);
  for (const std::vector<std::int64_t>& prompt : prompts) {
    auto start = std::chrono::steady_clock::now();
    Eagle3Proposer proposer(draft, d2t);
    const SpeculativeResult fast = speculative_generate(target, proposer, aux_layers, prompt, num_steps, limits);
    report.speculative_seconds += seconds_since(start);
    start = std::chrono::steady_clock::now();
    const std::vector<std::int64_t> plain = greedy_generate(target, prompt, limits);
    report.greedy_seconds += seconds_since(start);

    ++report.prompts;
    report.tokens += static_cast<std::int64_t>(fast.tokens.size());
    report.verifications += static_cast<std::int64_t>(fast.accept_lengths.size());
    for (std::int64_t length : fast.accept_lengths) report.accepted_tokens += length;
    for (std::size_t i = 0; i < fast.accepted.size(); ++i) report.accepted[i] += fast.accepted[i];
    if (fast.tokens != plain) ++report.mismatches;
  }
  return report;
}

}  // namespace talon::eval
