#include "talon/text/decoder.h"

#include <algorithm>

#include "talon/text/byte_level.h"
#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text {

Decoder Decoder::build(const nlohmann::json& spec, const util::JsonLocation& where, const Bpe& model,
                       const AddedVocabulary& added, const Normalizer& normalizer) {
  if (spec.is_null()) fail("{}: missing; Talon needs a ByteLevel decoder", where.str());
  std::string type = util::JsonFields(spec, where).required_string("type");
  if (type != "ByteLevel") {
    fail("{}: decoder type \"{}\" is not supported (Talon supports ByteLevel)", (where / "type").str(), type);
  }
  Decoder d;
  std::string bytes;
  // Added tokens come first so that, where one shares an id with a model
  // token, the stable sort keeps it: its content is what Hugging Face decodes.
  auto add = [&](std::int32_t id, std::string_view token) {
    if (!byte_level::token_to_bytes(token, bytes)) bytes.assign(token);
    if (d.arena_.size() + bytes.size() > UINT32_MAX) fail("{}: token strings exceed 4 GiB", where.str());
    // Hugging Face skips by the token's string, whatever id produced it (for
    // a normalized added token, its normalized string).
    d.entries_.push_back({id, added.is_special(token), static_cast<std::uint32_t>(d.arena_.size()),
                          static_cast<std::uint32_t>(bytes.size())});
    d.arena_ += bytes;
    d.vocab_size_ = std::max<std::int64_t>(d.vocab_size_, std::int64_t{id} + 1);
  };
  d.entries_.reserve(model.vocab().size() + added.tokens().size());
  std::string normalized;
  for (const auto& [id, token] : added.tokens()) {
    add(id, token.normalized ? normalizer.normalize(token.content, normalized) : std::string_view(token.content));
  }
  model.vocab().for_each([&](std::string_view token, std::int32_t id) { add(id, token); });
  std::stable_sort(d.entries_.begin(), d.entries_.end());
  auto last =
      std::unique(d.entries_.begin(), d.entries_.end(), [](const Entry& a, const Entry& b) { return a.id == b.id; });
  d.entries_.erase(last, d.entries_.end());
  return d;
}

const Decoder::Entry* Decoder::find(std::int32_t id) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), Entry{id, false, 0, 0});
  return it != entries_.end() && it->id == id ? &*it : nullptr;
}

std::string Decoder::decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const Entry* entry = find(ids[i]);
    if (!entry)
      fail("cannot decode id {} at position {}: no token has it (vocabulary size {})", ids[i], i, vocab_size_);
    if (skip_special_tokens && entry->special) continue;
    bytes.append(arena_, entry->offset, entry->length);
  }
  return util::is_valid_utf8(bytes) ? bytes : util::repair_utf8(bytes);
}

}  // namespace talon::text
