#include "talon/text/normalizer.h"

#include "talon/text/nfc.h"
#include "talon/util/error.h"

namespace talon::text {

namespace {

constexpr int kMaxDepth = 32;  // nested Sequences; bounds the recursion

// Adds one normalizer spec to the flattened list (here: whether NFC runs;
// NFC is idempotent, so repeats collapse).
void add_spec(const nlohmann::json& spec, const util::JsonLocation& where, int depth, bool& nfc) {
  if (spec.is_null()) return;
  if (depth > kMaxDepth) fail("{}: Sequences nested deeper than {}", where.str(), kMaxDepth);
  util::JsonFields fields(spec, where);
  std::string type = fields.required_string("type");
  if (type == "NFC") {
    nfc = true;
  } else if (type == "Sequence") {
    const nlohmann::json& list = fields.required_array("normalizers");
    for (std::size_t i = 0; i < list.size(); ++i) add_spec(list[i], where / "normalizers" / i, depth + 1, nfc);
  } else {
    fail("{}: normalizer type \"{}\" is not supported (Talon supports NFC and Sequence)", (where / "type").str(), type);
  }
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& spec, const util::JsonLocation& where) {
  Normalizer n;
  add_spec(spec, where, 0, n.nfc_);
  return n;
}

std::string_view Normalizer::normalize(std::string_view text, std::string& buffer) const {
  return nfc_ ? nfc(text, buffer) : text;
}

}  // namespace talon::text
