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

}  // namespace talon::util
