// tokenizer.json's "added_tokens": strings matched in the text before the
// model runs, each becoming one id. Matching is Hugging Face's: tokens with
// normalized=false are found in the raw text first, then tokens with
// normalized=true in the normalized remainder; leftmost-longest; single_word
// tokens only between non-word characters; lstrip / rstrip tokens swallow
// the white space beside them. Ids are assigned as Hugging Face assigns them
// on load (a token already in the model vocabulary keeps that id, others
// take the next free id after the model vocabulary, in file order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "talon/text/bpe.h"
#include "talon/text/normalizer.h"
#include "talon/text/token_matcher.h"
#include "talon/util/json_fields.h"

namespace talon::text {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A piece of text: either an added token's id, or text (id < 0) to encode.
struct Segment {
  std::size_t begin;
  std::size_t end;
  std::int32_t id;
};

class AddedVocabulary {
 public:
  // `added_tokens` may be null (no added tokens).
  static AddedVocabulary from_json(const nlohmann::json& added_tokens, const util::JsonLocation& where,
                                   const Bpe& model, const Normalizer& normalizer);

  // Append the segments of `text`, matching the normalized=false tokens
  // (split_raw, on raw text) or the normalized=true ones (split_normalized,
  // on normalized text). Segments cover the text in order.
  void split_raw(std::string_view text, std::vector<Segment>& segments) const { split(raw_, text, segments); }
  void split_normalized(std::string_view text, std::vector<Segment>& segments) const {
    split(normalized_, text, segments);
  }
  bool has_normalized_tokens() const { return !normalized_.matcher.empty(); }

  std::optional<std::int32_t> token_to_id(std::string_view content) const;
  // id -> token, for every added token.
  const std::unordered_map<std::int32_t, AddedToken>& tokens() const { return by_id_; }
  bool is_special(std::string_view content) const { return special_.count(std::string(content)) != 0; }

 private:
  struct MatchSet {
    TokenMatcher matcher;
    std::vector<std::int32_t> ids;  // pattern index -> id
  };
  void split(const MatchSet& set, std::string_view text, std::vector<Segment>& segments) const;

  std::unordered_map<std::string, std::int32_t> by_content_;
  std::unordered_map<std::int32_t, AddedToken> by_id_;
  std::unordered_set<std::string> special_;
  MatchSet raw_, normalized_;
};

}  // namespace talon::text
