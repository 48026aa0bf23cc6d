#include "talon/text/token_matcher.h"

#include <algorithm>

namespace talon::text {

std::uint32_t TokenMatcher::child(std::uint32_t node, unsigned char byte) const {
  const auto& children = nodes_[node].children;
  auto it = std::lower_bound(children.begin(), children.end(), byte,
                             [](const auto& entry, unsigned char b) { return entry.first < b; });
  return it != children.end() && it->first == byte ? it->second : 0;
}

void TokenMatcher::add(std::string_view pattern) {
  std::size_t index = patterns_++;
  if (pattern.empty()) return;
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
  std::uint32_t node = 0;
  for (char c : pattern) {
    auto byte = static_cast<unsigned char>(c);
    std::uint32_t next = child(node, byte);
    if (next == 0) {
      next = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
      auto& children = nodes_[node].children;
      auto it = std::lower_bound(children.begin(), children.end(), byte,
                                 [](const auto& entry, unsigned char b) { return entry.first < b; });
      children.insert(it, {byte, next});
    }
    node = next;
  }
  if (nodes_[node].pattern < 0) nodes_[node].pattern = static_cast<std::int64_t>(index);
}

bool TokenMatcher::find(std::string_view text, std::size_t from, Match& match) const {
  if (empty()) return false;
  for (std::size_t begin = from; begin < text.size(); ++begin) {
    if (!first_byte_[static_cast<unsigned char>(text[begin])]) continue;
    std::uint32_t node = 0;
    std::int64_t best = -1;
    std::size_t best_end = 0;
    for (std::size_t i = begin; i < text.size(); ++i) {
      node = child(node, static_cast<unsigned char>(text[i]));
      if (node == 0) break;
      if (nodes_[node].pattern >= 0) {
        best = nodes_[node].pattern;
        best_end = i + 1;
      }
    }
    if (best >= 0) {
      match = {begin, best_end, static_cast<std::size_t>(best)};
      return true;
    }
  }
  return false;
}

}  // namespace talon::text
