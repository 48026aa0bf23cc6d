// Reading one code point of UTF-8 that is already known to be valid (the
// tokenizer repairs its input first), without the checks util/utf8.h makes.
#pragma once

#include <cstddef>
#include <string_view>

namespace talon::text {

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

}  // namespace talon::text
