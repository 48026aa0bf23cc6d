#include "talon/eval/acceptance.h"

#include <algorithm>
#include <chrono>

#include "talon/eval/eagle3_proposer.h"
#include "talon/eval/generate.h"

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
                                    const at::Tensor& d2t, const std::vector<int>& aux_layers,
                                    const std::vector<Tokens>& prompts, const TreeShape& shape,
                                    const GenerationLimits& limits, std::int64_t batch_size) {
  AcceptanceReport report;
  report.accepted.assign(static_cast<std::size_t>(shape.num_steps), 0);
  for (std::size_t first = 0; first < prompts.size(); first += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(prompts.size(), first + static_cast<std::size_t>(batch_size));
    const std::vector<Tokens> batch(prompts.begin() + static_cast<std::ptrdiff_t>(first),
                                    prompts.begin() + static_cast<std::ptrdiff_t>(end));
    auto start = std::chrono::steady_clock::now();
    Eagle3Proposer proposer(draft, d2t, shape, static_cast<std::int64_t>(batch.size()));
    const std::vector<SpeculativeResult> fast = speculative_generate(target, proposer, aux_layers, batch, limits);
    report.speculative_seconds += seconds_since(start);
    start = std::chrono::steady_clock::now();
    const std::vector<Tokens> plain = generate(target, batch, limits);
    report.greedy_seconds += seconds_since(start);

    for (std::size_t i = 0; i < batch.size(); ++i) {
      const SpeculativeResult& r = fast[i];
      ++report.prompts;
      report.tokens += static_cast<std::int64_t>(r.tokens.size());
      report.verifications += static_cast<std::int64_t>(r.accept_lengths.size());
      for (std::int64_t length : r.accept_lengths) report.accepted_tokens += length;
      for (std::size_t d = 0; d < r.accepted.size(); ++d) report.accepted[d] += r.accepted[d];
      if (r.tokens != plain[i]) ++report.mismatches;
    }
  }
  return report;
}

}  // namespace talon::eval
