// Turning ids back into text, as Hugging Face's ByteLevel decoder does: each
// token's characters are mapped back to bytes through GPT-2's table (a token
// with a character outside the table contributes its own UTF-8 instead), the
// bytes of all tokens are concatenated, and ill-formed UTF-8 becomes U+FFFD
// (maximal subparts, like String::from_utf8_lossy). An added token with
// normalized=true is decoded from its normalized content, as tokenizers
// 0.23 does (huggingface/tokenizers#1995). Each token's bytes are computed
// once when loading, into one arena indexed by a table sorted by id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "talon/text/added_vocabulary.h"
#include "talon/text/bpe.h"
#include "talon/text/normalizer.h"
#include "talon/util/json_fields.h"

namespace talon::text {

class Decoder {
 public:
  // `spec` is tokenizer.json's "decoder", which must be ByteLevel.
  static Decoder build(const nlohmann::json& spec, const util::JsonLocation& where, const Bpe& model,
                       const AddedVocabulary& added, const Normalizer& normalizer);

  // Throws talon::Error for an id with no token.
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const;
  std::int64_t vocab_size() const { return vocab_size_; }

 private:
  struct Entry {
    std::int32_t id;
    bool special;
    std::uint32_t offset;  // bytes in arena_
    std::uint32_t length;
    bool operator<(const Entry& other) const { return id < other.id; }
  };
  const Entry* find(std::int32_t id) const;

  std::vector<Entry> entries_;  // sorted by id, one per id
  std::string arena_;
  std::int64_t vocab_size_ = 0;
};

}  // namespace talon::text
