#include "talon/text/byte_level.h"

#include <array>

#include "talon/util/utf8.h"

namespace talon::text::byte_level {

namespace {

bool maps_to_itself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Table {
  std::array<char32_t, 256> to_char{};
  std::array<std::int16_t, 0x144> to_byte{};  // -1 where no byte maps to the code point

  Table() {
    to_byte.fill(-1);
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      to_char[b] = maps_to_itself(b) ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<std::int16_t>(b);
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

char32_t byte_to_char(std::uint8_t byte) { return table().to_char[byte]; }

std::optional<std::uint8_t> char_to_byte(char32_t c) {
  if (c >= table().to_byte.size() || table().to_byte[c] < 0) return std::nullopt;
  return static_cast<std::uint8_t>(table().to_byte[c]);
}

std::string bytes_to_token(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) util::append_utf8(out, byte_to_char(static_cast<std::uint8_t>(b)));
  return out;
}

bool token_to_bytes(std::string_view token, std::string& bytes) {
  bytes.clear();
  if (!util::is_valid_utf8(token)) return false;
  for (std::size_t i = 0; i < token.size();) {
    util::CodePoint c = util::decode_code_point(token, i);
    auto byte = char_to_byte(c.value);
    if (!byte) return false;
    bytes.push_back(static_cast<char>(*byte));
    i += c.length;
  }
  return true;
}

}  // namespace talon::text::byte_level
