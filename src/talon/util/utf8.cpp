#include "talon/util/utf8.h"

#include <cstdint>

namespace talon::util {

namespace {

// Length of the well-formed prefix of a sequence starting at bytes[i]
// (Unicode Table 3-7) and whether it is complete. A lead byte that can never
// start a sequence yields {1, false}.
struct Subpart {
  std::size_t length;
  bool complete;
};

Subpart scan(std::string_view bytes, std::size_t i) {
  auto b0 = static_cast<std::uint8_t>(bytes[i]);
  if (b0 < 0x80) return {1, true};
  std::size_t need;
  std::uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {1, false};
  }
  std::size_t len = 1;
  for (std::size_t k = 0; k < need; ++k) {
    if (i + len >= bytes.size()) return {len, false};
    auto b = static_cast<std::uint8_t>(bytes[i + len]);
    std::uint8_t min = k == 0 ? lo : 0x80, max = k == 0 ? hi : 0xBF;
    if (b < min || b > max) return {len, false};
    ++len;
  }
  return {len, true};
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    Subpart s = scan(bytes, i);
    if (!s.complete) return i;
    i += s.length;
  }
  return std::string_view::npos;
}

std::string repair_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    Subpart s = scan(bytes, i);
    if (s.complete) {
      out.append(bytes.substr(i, s.length));
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
    }
    i += s.length;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace talon::util
