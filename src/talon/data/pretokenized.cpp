#include "talon/data/pretokenized.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "talon/util/error.h"
#include "talon/util/json_fields.h"

namespace talon::data {

namespace {

using nlohmann::json;
using util::JsonFields;
using util::JsonLocation;

// The list under `key` and where it sits. SpecForge also takes the [1, n]
// shape of a tokenizer's batched output, [[...]], so Talon does too.
std::pair<const json&, JsonLocation> sequence(const JsonFields& record, const char* key, std::string_view what) {
  const json& value = record.required(key);
  JsonLocation where = record.where() / key;
  if (value.is_array() && value.size() == 1 && value[0].is_array()) return {value[0], where / std::size_t{0}};
  if (!value.is_array()) where.fail_expected(what, value);
  return {value, where};
}

bool is_token_id(const json& id, std::int64_t vocab_size) {
  if (id.is_number_unsigned()) return id.get<std::uint64_t>() < static_cast<std::uint64_t>(vocab_size);
  return id.is_number_integer() && id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() < vocab_size;
}

// 0 or 1; SpecForge reads Python's False and True as those too.
std::optional<std::uint8_t> mask_value(const json& value) {
  if (value.is_boolean()) return value.get<bool>() ? 1 : 0;
  if (value.is_number_integer() && (value == 0 || value == 1)) return value.get<std::uint8_t>();
  return std::nullopt;
}

}  // namespace

bool is_pretokenized(const json& record) {
  JsonFields fields(record, JsonLocation());
  const char* tokens = fields.find("input_ids") ? "input_ids" : fields.find("loss_mask") ? "loss_mask" : nullptr;
  const char* turns = fields.find("messages") ? "messages" : fields.find("conversations") ? "conversations" : nullptr;
  if (tokens && turns) {
    fail("record has both '{}' (pre-tokenized) and '{}' (a conversation); expected one or the other", tokens, turns);
  }
  if (!tokens && !turns) {
    fail("record has none of 'messages' or 'conversations' (a conversation), 'input_ids' and 'loss_mask' "
         "(pre-tokenized)");
  }
  return tokens != nullptr;
}

TokenizedSample read_pretokenized(const json& record, std::int64_t vocab_size) {
  JsonFields fields(record, JsonLocation());
  const auto [ids, ids_at] = sequence(fields, "input_ids", "an array of token ids");
  const auto [mask, mask_at] = sequence(fields, "loss_mask", "an array of 0 and 1");
  if (ids.empty()) ids_at.fail_expected("at least one token id", ids);
  if (mask.size() != ids.size()) {
    fail("{}: expected {} values, one per entry of input_ids, found {}", mask_at.str(), ids.size(), mask.size());
  }
  TokenizedSample sample;
  sample.input_ids.reserve(ids.size());
  sample.loss_mask.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!is_token_id(ids[i], vocab_size)) {
      (ids_at / i).fail_expected(fmt::format("a token id in [0, {})", vocab_size), ids[i]);
    }
    const std::optional<std::uint8_t> supervised = mask_value(mask[i]);
    if (!supervised) (mask_at / i).fail_expected("0 or 1", mask[i]);
    sample.input_ids.push_back(ids[i].get<std::int32_t>());
    sample.loss_mask.push_back(*supervised);
  }
  return sample;
}

}  // namespace talon::data
