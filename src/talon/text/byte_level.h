// GPT-2's byte <-> unicode table, the alphabet of byte-level BPE: every byte
// maps to one printable code point (the 188 printable Latin-1 bytes to
// themselves, the other 68 to U+0100..U+0143 in byte order), so any byte
// string can be spelled as a vocabulary string. Talon runs BPE on raw bytes
// and uses this table only to translate vocabulary strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace talon::text::byte_level {

char32_t byte_to_char(std::uint8_t byte);
std::optional<std::uint8_t> char_to_byte(char32_t c);

// The UTF-8 spelling of raw bytes ("\n" -> "Ċ", " a" -> "Ġa").
std::string bytes_to_token(std::string_view bytes);

// The raw bytes a vocabulary string spells, into `bytes`; false when the
// string is not valid UTF-8 or holds a code point outside the table.
bool token_to_bytes(std::string_view token, std::string& bytes);

}  // namespace talon::text::byte_level
