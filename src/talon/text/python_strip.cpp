#include "talon/text/python_strip.h"

#include <array>
#include <string>
#include <vector>

#include "talon/util/utf8.h"

namespace talon::text {
namespace {

// Every code point for which Python 3's str.isspace() is true (Unicode
// bidirectional class WS, B or S, or general category Zs).
constexpr std::array<char32_t, 29> kPythonSpaces = {
    0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x1C,   0x1D,   0x1E,   0x1F,   0x20,
    0x85,   0xA0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
    0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
};

// Their UTF-8 encodings. Matching encoded sequences at the ends of the text
// is exact for valid UTF-8 (no encoding is a suffix or prefix of another
// character's) and safe for invalid input.
const std::vector<std::string>& space_encodings() {
  static const std::vector<std::string> encodings = [] {
    std::vector<std::string> out;
    for (char32_t cp : kPythonSpaces) util::append_utf8(out.emplace_back(), cp);
    return out;
  }();
  return encodings;
}

std::size_t leading_space(std::string_view text) {
  for (const std::string& s : space_encodings()) {
    if (text.substr(0, s.size()) == s) return s.size();
  }
  return 0;
}

std::size_t trailing_space(std::string_view text) {
  for (const std::string& s : space_encodings()) {
    if (text.size() >= s.size() && text.substr(text.size() - s.size()) == s) return s.size();
  }
  return 0;
}

}  // namespace

std::string_view python_strip(std::string_view text) {
  while (std::size_t n = leading_space(text)) text.remove_prefix(n);
  while (std::size_t n = trailing_space(text)) text.remove_suffix(n);
  return text;
}

}  // namespace talon::text
