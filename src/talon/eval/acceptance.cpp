#include "talon/eval/acceptance.h"

#include <algorithm>
#include <chrono>

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

namespace {

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

}  // namespace

double AcceptanceReport::acceptance_length_per_prompt() const { return mean(prompt_means); }

double AcceptanceReport::acceptance_length_per_request() const { return mean(prompt_tokens_per_verification); }

std::vector<double> AcceptanceReport::acceptance_rates() const {
  std::vector<double> rates;
  for (std::int64_t count : accepted) {
    rates.push_back(verifications > 0 ? static_cast<double>(count) / static_cast<double>(verifications) : 0.0);
  }
  return rates;
}

std::vector<double> AcceptanceReport::conditional_acceptance_rates() const {
  std::vector<double> rates;
  std::int64_t before = verifications;
  for (std::int64_t count : accepted) {
    rates.push_back(before > 0 ? static_cast<double>(count) / static_cast<double>(before) : 0.0);
    before = count;
  }
  return rates;
}

void AcceptanceReport::add(const SpeculativeResult& r, bool lossless) {
  ++prompts;
  tokens += static_cast<std::int64_t>(r.tokens.size());
  const auto rounds = static_cast<std::int64_t>(r.accept_lengths.size());
  verifications += rounds;
  std::int64_t sum = 0;
  for (std::int64_t length : r.accept_lengths) {
    sum += length;
    if (static_cast<std::int64_t>(histogram.size()) <= length) histogram.resize(static_cast<std::size_t>(length) + 1);
    ++histogram[static_cast<std::size_t>(length)];
  }
  accepted_tokens += sum;
  if (accepted.size() < r.accepted.size()) accepted.resize(r.accepted.size());
  for (std::size_t d = 0; d < r.accepted.size(); ++d) accepted[d] += r.accepted[d];
  if (rounds > 0) {
    prompt_means.push_back(static_cast<double>(sum) / static_cast<double>(rounds));
    prompt_tokens_per_verification.push_back(static_cast<double>(r.tokens.size()) / static_cast<double>(rounds));
  }
  if (!lossless) ++mismatches;
}

nlohmann::json AcceptanceReport::to_json() const {
  auto per_second = [&](double seconds) { return seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0; };
  return {{"prompts", prompts},
          {"generated_tokens", tokens},
          {"verifications", verifications},
          {"acceptance_length", acceptance_length()},
          {"acceptance_length_per_prompt", acceptance_length_per_prompt()},
          {"acceptance_length_per_request", acceptance_length_per_request()},
          {"acceptance_rate_per_position", acceptance_rates()},
          {"conditional_acceptance_rate_per_position", conditional_acceptance_rates()},
          {"acceptance_length_histogram", histogram},
          {"speculative_tokens_per_s", per_second(speculative_seconds)},
          {"greedy_tokens_per_s", per_second(greedy_seconds)},
          {"lossless_mismatches", mismatches}};
}

AcceptanceReport measure_acceptance(const model::TargetModel& target, const ProposerFactory& make_proposer,
                                    const std::vector<int>& aux_layers, std::int64_t depth,
                                    const std::vector<Tokens>& prompts, const GenerationLimits& limits,
                                    std::int64_t batch_size) {
  AcceptanceReport report;
  report.accepted.assign(static_cast<std::size_t>(depth), 0);
  for (std::size_t first = 0; first < prompts.size(); first += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(prompts.size(), first + static_cast<std::size_t>(batch_size));
    const std::vector<Tokens> batch(prompts.begin() + static_cast<std::ptrdiff_t>(first),
                                    prompts.begin() + static_cast<std::ptrdiff_t>(end));
    auto start = std::chrono::steady_clock::now();
    std::unique_ptr<Proposer> proposer = make_proposer(static_cast<std::int64_t>(batch.size()));
    const std::vector<SpeculativeResult> fast = speculative_generate(target, *proposer, aux_layers, batch, limits);
    report.speculative_seconds += seconds_since(start);
    start = std::chrono::steady_clock::now();
    const std::vector<Tokens> plain = generate(target, batch, limits);
    report.greedy_seconds += seconds_since(start);
    for (std::size_t i = 0; i < batch.size(); ++i) report.add(fast[i], fast[i].tokens == plain[i]);
  }
  return report;
}

}  // namespace talon::eval
