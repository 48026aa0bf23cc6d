// tokenizer.json's "pre_tokenizer" for byte-level BPE: any number of Split
// stages (regex or literal pattern, "Isolated" behaviour) followed by one
// ByteLevel stage (optional prefix space, optional GPT-2 regex), alone or in
// a Sequence. Other types, behaviours and orders are rejected when loading.
//
// The ByteLevel stage's byte -> unicode mapping is not done here: Talon's BPE
// works on raw bytes, which is the same thing spelled differently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "talon/text/regex.h"
#include "talon/util/json_fields.h"

namespace talon::text {

class PreTokenizer {
 public:
  static PreTokenizer from_json(const nlohmann::json& spec, const util::JsonLocation& where);

  // Calls emit(piece) for each non-empty word of `text` (valid UTF-8), in order.
  template <typename Emit>
  void split(std::string_view text, Emit&& emit) const {
    if (!text.empty()) split_from(0, text, emit);
  }

 private:
  template <typename Emit>
  void split_from(std::size_t stage, std::string_view text, Emit& emit) const;
  template <typename Emit>
  void byte_level(std::string_view text, Emit& emit) const;

  std::vector<Regex> splits_;
  bool add_prefix_space_ = false;
  std::optional<Regex> byte_level_regex_;  // GPT-2's pattern when use_regex
};

template <typename Emit>
void PreTokenizer::split_from(std::size_t stage, std::string_view text, Emit& emit) const {
  if (stage == splits_.size()) {
    byte_level(text, emit);
    return;
  }
  splits_[stage].split_isolated(text, [&](std::string_view piece) { split_from(stage + 1, piece, emit); });
}

template <typename Emit>
void PreTokenizer::byte_level(std::string_view text, Emit& emit) const {
  auto finish = [&](std::string_view piece) {
    if (byte_level_regex_) {
      byte_level_regex_->split_isolated(piece, emit);
    } else {
      emit(piece);
    }
  };
  if (add_prefix_space_ && text.front() != ' ') {
    std::string spaced;
    spaced.reserve(text.size() + 1);
    spaced.append(1, ' ').append(text);
    finish(spaced);
  } else {
    finish(text);
  }
}

}  // namespace talon::text
