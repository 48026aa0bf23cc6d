// Byte-level BPE from a Hugging Face tokenizer.json, producing exactly the
// ids Hugging Face's `tokenizers` library produces (checked against goldens
// for Llama-3.1 and Qwen3). Pipeline, as in HF: added tokens on raw text ->
// normalizer -> added tokens on normalized text -> pre-tokenizer (Split
// regexes, ByteLevel) -> BPE -> post-processor (only with
// add_special_tokens). docs/tokenizer.md describes what is supported.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talon::text {

class Tokenizer {
 public:
  // dir holds tokenizer.json and optionally tokenizer_config.json
  static Tokenizer load(const std::string& dir);
  // The same from file contents; `source_name` names tokenizer.json in
  // errors. An empty tokenizer_config_json means there is none.
  static Tokenizer from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                             std::string source_name);

  // Invalid UTF-8 is first repaired (each maximal ill-formed subpart becomes
  // U+FFFD), as Python's errors="replace" does before HF sees the text.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // Throws talon::Error for an id that no token has.
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens = false) const;
  // len(encode(text.substr(0, cut))) for each cut (byte offsets on UTF-8 code point boundaries,
  // ascending), without re-encoding the whole prefix each time: added tokens split text into
  // independent pieces, so only the piece containing the cut needs re-encoding.
  std::vector<std::size_t> count_prefix_tokens(std::string_view text, const std::vector<std::size_t>& cuts) const;
  std::int64_t vocab_size() const;  // highest id + 1 (model vocab and added tokens)
  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  std::uint64_t fingerprint() const;  // XXH64 of tokenizer.json bytes, then tokenizer_config.json bytes
  const std::string& dir() const;     // empty when built by from_json
                                      // all const methods are safe to call from several threads at once

 private:
  friend class IncrementalEncoding;
  struct Impl;
  static Tokenizer build(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                         std::string source_name, std::string dir);
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Throws unless every id `tokenizer` can produce indexes a vocabulary of
// `vocab_size` (a target model's embedding rows); `source` names where that
// size comes from. A tokenizer of another model fails here, before any line.
void check_tokenizer_fits(const Tokenizer& tokenizer, std::int64_t vocab_size, const std::string& source);

}  // namespace talon::text
