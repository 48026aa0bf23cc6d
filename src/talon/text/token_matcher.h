// Leftmost-longest matching of a fixed set of strings (the added tokens), as
// Hugging Face does with Aho-Corasick: the match starting earliest wins, the
// longest among those, the first-added among equal strings. A byte trie with
// a first-byte filter: added tokens are few and text rarely contains their
// first byte, so most of the text is skipped one table lookup per byte.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace talon::text {

class TokenMatcher {
 public:
  // Patterns are numbered 0, 1, ... in the order added; an empty one never matches.
  void add(std::string_view pattern);

  struct Match {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t pattern = 0;
  };
  // The leftmost-longest match starting at or after `from`; false when none.
  bool find(std::string_view text, std::size_t from, Match& match) const;
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, std::uint32_t>> children;  // sorted by byte
    std::int64_t pattern = -1;
  };
  std::uint32_t child(std::uint32_t node, unsigned char byte) const;  // 0 when absent

  std::vector<Node> nodes_{Node{}};
  std::array<bool, 256> first_byte_{};
  std::size_t patterns_ = 0;
};

}  // namespace talon::text
