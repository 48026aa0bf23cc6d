#include "talon/data/sample_builder.h"

#include <algorithm>
#include <numeric>

#include "talon/util/error.h"

namespace talon::data {

std::size_t TokenizedSample::supervised() const {
  return std::accumulate(loss_mask.begin(), loss_mask.end(), std::size_t{0});
}

SampleBuilder::SampleBuilder(const text::Tokenizer& tokenizer, const text::ChatTemplate& chat_template,
                             std::optional<std::string> system_prompt, std::int64_t max_length)
    : tokenizer_(tokenizer),
      template_(chat_template),
      system_prompt_(std::move(system_prompt)),
      max_length_(max_length) {
  if (max_length_ <= 0) fail("--max-length must be positive, got {}", max_length_);
}

void fit_to_length(TokenizedSample& sample, std::size_t max_length) {
  sample.truncated = sample.input_ids.size() > max_length;
  if (sample.truncated) {
    sample.input_ids.resize(max_length);
    sample.loss_mask.resize(max_length);
  }
  if (!sample.loss_mask.empty()) sample.loss_mask.back() = 0;
}

TokenizedSample SampleBuilder::build(const text::Conversation& conversation,
                                     const nlohmann::ordered_json* tools) const {
  text::SupervisedText supervised =
      template_.render_supervised(text::with_system_prompt(conversation, template_, system_prompt_), tools);
  const std::string& rendered = supervised.text;
  TokenizedSample sample;
  sample.input_ids = tokenizer_.encode(rendered);
  const std::size_t n = sample.input_ids.size();
  sample.loss_mask.assign(n, 0);

  const auto& spans = supervised.spans;
  std::vector<std::size_t> cuts;
  cuts.reserve(2 * spans.size());
  for (const auto& [begin, end] : spans) {
    cuts.push_back(begin);
    cuts.push_back(end);
  }
  std::vector<std::size_t> counts = tokenizer_.count_prefix_tokens(rendered, cuts);
  for (std::size_t i = 0; i < spans.size(); ++i) {
    std::size_t first = std::min(counts[2 * i], n), last = std::min(counts[2 * i + 1], n);
    std::fill(sample.loss_mask.begin() + first, sample.loss_mask.begin() + last, 1);
  }
  fit_to_length(sample, static_cast<std::size_t>(max_length_));
  return sample;
}

}  // namespace talon::data
