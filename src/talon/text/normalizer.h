// tokenizer.json's "normalizer": none, NFC, or a Sequence of those.
// Anything else is rejected when loading, naming the file and the type.
#pragma once

#include <string>
#include <string_view>

#include "talon/util/json_fields.h"

namespace talon::text {

class Normalizer {
 public:
  static Normalizer from_json(const nlohmann::json& spec, const util::JsonLocation& where);

  bool is_identity() const { return !nfc_; }
  // Normalized `text` (valid UTF-8): `text` itself or a view of `buffer`.
  std::string_view normalize(std::string_view text, std::string& buffer) const;

 private:
  bool nfc_ = false;
};

}  // namespace talon::text
