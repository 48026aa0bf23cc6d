// Tokenizer::encode of a text that changes only near its end from one call
// to the next: a conversation rendered again after each of its turns. Added
// tokens cut text into pieces that are encoded independently (Hugging
// Face's pipeline), so only the text after the last added token before the
// first changed byte is encoded again, and a conversation's encodings cost
// its length once rather than once per turn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "talon/text/tokenizer.h"

namespace talon::text {

class IncrementalEncoding {
 public:
  explicit IncrementalEncoding(const Tokenizer& tokenizer);

  // tokenizer.encode(text) (no special tokens added).
  const std::vector<std::int32_t>& encode(std::string_view text);
  // Bytes of the last text encoded again (the rest was reused): what the
  // tests measure.
  std::size_t last_encoded_bytes() const { return last_encoded_bytes_; }

 private:
  // An added token's piece [begin, end) of the text and the ids up to its end.
  struct Anchor {
    std::size_t begin, end, ids;
  };
  // Encodes text_ from byte `from` (an anchor's end, or 0) after ids_.
  void encode_from(std::size_t from);

  Tokenizer tokenizer_;
  bool reusable_ = true;            // no single_word tokens (they look at the byte before a piece)
  std::size_t longest_token_ = 0;   // bytes of the longest added token
  std::string text_;
  std::vector<std::int32_t> ids_;
  std::vector<Anchor> anchors_;     // ascending; only when text_ is valid UTF-8
  std::size_t last_encoded_bytes_ = 0;
};

}  // namespace talon::text
