// The two character classes of Rust's `regex` crate that Hugging Face's added
// tokens use for lstrip / rstrip / single_word: \s (Unicode White_Space) and
// \w (Alphabetic, marks, decimal digits, connector punctuation, joiners).
#pragma once

#include <string_view>

namespace talon::text {

bool is_white_space(char32_t c);
bool is_word_char(char32_t c);

// Code points at the edges of valid UTF-8 (text must be non-empty).
char32_t first_code_point(std::string_view text);
char32_t last_code_point(std::string_view text);

// Length in bytes of the run of White_Space at the start / end of `text`.
std::size_t leading_white_space(std::string_view text);
std::size_t trailing_white_space(std::string_view text);

}  // namespace talon::text
