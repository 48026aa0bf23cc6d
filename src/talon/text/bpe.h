// tokenizer.json's "model" of type BPE, encoding raw bytes. The vocabulary
// is spelled in GPT-2's byte alphabet (byte_level.h); since every symbol of a
// byte-level word is one byte, the merge loop starts from one id per byte and
// never builds the spelled string. The loop is Hugging Face's: repeatedly
// merge the adjacent pair of lowest rank, the leftmost among equal ranks.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "talon/text/merge_map.h"
#include "talon/text/string_id_map.h"
#include "talon/text/word_cache.h"
#include "talon/util/json_fields.h"

namespace talon::text {

class Bpe {
 public:
  static Bpe from_json(const nlohmann::json& model, const util::JsonLocation& where);

  // Appends the ids of one pre-tokenized word (raw bytes) to `ids`.
  void encode_word(std::string_view word, std::vector<std::int32_t>& ids) const;

  std::optional<std::int32_t> token_to_id(std::string_view token) const { return vocab_.find(token); }
  // The vocabulary spelled as in the file, token -> id.
  const StringIdMap& vocab() const { return vocab_; }

 private:
  void merge(std::string_view word, std::vector<std::int32_t>& ids) const;

  StringIdMap vocab_;                         // vocabulary spelling -> id
  StringIdMap byte_vocab_;                    // raw bytes -> id, for ignore_merges
  std::array<std::int32_t, 256> byte_ids_{};  // -1 where the byte's symbol is missing
  MergeMap merges_;
  std::optional<std::int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::shared_ptr<WordCache> cache_;  // shared by copies of the model
};

}  // namespace talon::text
