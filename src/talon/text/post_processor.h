// What encode(add_special_tokens=true) adds around the ids: tokenizer.json's
// "post_processor" (TemplateProcessing's "single" template, ByteLevel, which
// adds nothing, or a Sequence of those), optionally overridden by
// tokenizer_config.json's add_bos_token / add_eos_token as transformers does.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "talon/util/json_fields.h"

namespace talon::text {

class PostProcessor {
 public:
  using TokenLookup = std::function<std::optional<std::int32_t>(std::string_view)>;

  static PostProcessor from_json(const nlohmann::json& spec, const util::JsonLocation& where);

  // tokenizer_config.json: add_bos_token (when present) sets the prefix to
  // [bos_token] or nothing, add_eos_token (when present) the suffix to
  // [eos_token] or nothing, like transformers' update_post_processor.
  void apply_config(const util::JsonFields& config, const TokenLookup& token_to_id);

  void apply(std::vector<std::int32_t>& ids) const;

 private:
  std::vector<std::int32_t> prefix_, suffix_;
};

}  // namespace talon::text
