// Turns one conversation into a training sample: rendered with the chat
// template, tokenized, truncated, with the loss mask of brief §2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/text/chat_template.h"
#include "talon/text/conversation.h"
#include "talon/text/tokenizer.h"

namespace talon::data {

struct TokenizedSample {
  std::vector<std::int32_t> input_ids;  // [n], n <= max_length
  std::vector<std::uint8_t> loss_mask;  // [n], 1 on supervised tokens
  bool truncated = false;               // the rendered text had more than max_length tokens
  std::size_t supervised() const;       // number of ones in loss_mask
};

// What every sample goes through, rendered or pre-tokenized: keeps the first
// max_length tokens (truncated says whether any were cut), then sets
// loss_mask[n-1] = 0 (Talon: its shifted target lies past the end of the
// sample).
void fit_to_length(TokenizedSample& sample, std::size_t max_length);

class SampleBuilder {
 public:
  // system_prompt: nullopt keeps the template's default, "" drops it.
  SampleBuilder(const text::Tokenizer& tokenizer, const text::ChatTemplate& chat_template,
                std::optional<std::string> system_prompt, std::int64_t max_length);

  // loss_mask[t] = 1 for tokens of each supervised span (ChatTemplate::
  // render_supervised: content through the end-of-turn string), mapped from
  // bytes to tokens as [len(encode(text[:begin])), len(encode(text[:end]))),
  // then fit_to_length. tools: the record's "tools" (nullptr for none).
  TokenizedSample build(const text::Conversation& conversation, const nlohmann::ordered_json* tools = nullptr) const;

 private:
  const text::Tokenizer& tokenizer_;
  const text::ChatTemplate& template_;
  std::optional<std::string> system_prompt_;
  std::int64_t max_length_;
};

}  // namespace talon::data
