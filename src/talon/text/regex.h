// A compiled PCRE2 pattern (UTF + UCP, JIT when available) with Oniguruma's
// match iteration, the one Hugging Face's Split pre-tokenizer relies on.
// Safe to share between threads: match data and the JIT stack are per thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "talon/util/utf8.h"

namespace talon::text {

class Regex {
 public:
  // `pattern` is in Oniguruma syntax (translated by onig_to_pcre2); `where`
  // names it in errors.
  static Regex onig(std::string_view pattern, const std::string& where);
  static Regex literal(std::string_view text, const std::string& where);

  // Leftmost-first match starting at or after byte `start` of valid UTF-8.
  bool find(std::string_view subject, std::size_t start, std::size_t& begin, std::size_t& end) const;

  // Splits `text` into the gaps between matches and the matches themselves
  // (Hugging Face's "Isolated" behaviour), calling emit(piece) for each
  // non-empty piece in order. Empty matches follow Oniguruma's find_iter:
  // after one, the search resumes a code point later, and an empty match
  // right after a non-empty one is skipped.
  template <typename Emit>
  void split_isolated(std::string_view text, Emit&& emit) const;

 private:
  struct Code;
  Regex(std::shared_ptr<const Code> code) : code_(std::move(code)) {}
  static Regex compile(const std::string& pcre2_pattern, std::string_view original, bool literal,
                       const std::string& where);

  std::shared_ptr<const Code> code_;
};

template <typename Emit>
void Regex::split_isolated(std::string_view text, Emit&& emit) const {
  std::size_t prev = 0, pos = 0;
  bool skip_next_empty = false;
  while (pos <= text.size()) {
    std::size_t begin, end;
    if (!find(text, pos, begin, end)) break;
    pos = end;
    if (begin == end) {
      pos += pos < text.size() ? util::utf8_length(static_cast<unsigned char>(text[pos])) : 1;
      if (skip_next_empty) {
        skip_next_empty = false;
        continue;
      }
    } else {
      skip_next_empty = true;
    }
    if (prev < begin) emit(text.substr(prev, begin - prev));
    if (begin < end) emit(text.substr(begin, end - begin));
    prev = end;
  }
  if (prev < text.size()) emit(text.substr(prev));
}

}  // namespace talon::text
