// UTF-8 validation and repair. Repair follows the Unicode "maximal subpart"
// rule, the one Python's bytes.decode(errors="replace"), Rust's
// String::from_utf8_lossy and WHATWG's TextDecoder all use: each maximal
// ill-formed subsequence becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace talon::util {

// Byte offset of the first ill-formed sequence, or npos when valid.
std::size_t find_invalid_utf8(std::string_view bytes);
inline bool is_valid_utf8(std::string_view bytes) {
  return find_invalid_utf8(bytes) == std::string_view::npos;
}

std::string repair_utf8(std::string_view bytes);

// Appends the UTF-8 encoding of a code point (<= 0x10FFFF, not a surrogate).
void append_utf8(std::string& out, char32_t cp);

// Reading UTF-8 already known to be valid (the tokenizer repairs its input
// first), without the checks above: these run once per code point.

// Bytes in the sequence that starts with `lead`.
inline std::size_t utf8_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

struct CodePoint {
  char32_t value;
  std::size_t length;  // bytes
};

// The code point starting at byte i of valid UTF-8.
inline CodePoint decode_code_point(std::string_view text, std::size_t i) {
  auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = utf8_length(lead);
  char32_t value = length == 1 ? lead : length == 2 ? (lead & 0x1F) : length == 3 ? (lead & 0x0F) : (lead & 0x07);
  for (std::size_t k = 1; k < length; ++k) value = (value << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  return {value, length};
}

}  // namespace talon::util
