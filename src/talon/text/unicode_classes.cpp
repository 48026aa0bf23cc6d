#include "talon/text/unicode_classes.h"

#include <utf8proc.h>

#include "talon/util/utf8.h"

namespace talon::text {

namespace {

std::size_t last_start(std::string_view text) {
  std::size_t i = text.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  return i;
}

// Alphabetic code points outside the letter, mark and letter-number
// categories (Other_Alphabetic symbols: circled and squared Latin letters).
bool other_alphabetic_symbol(char32_t c) {
  return (c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
         (c >= 0x1F170 && c <= 0x1F189);
}

}  // namespace

bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  if (c == 0x200C || c == 0x200D || other_alphabetic_symbol(c)) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

char32_t first_code_point(std::string_view text) { return util::decode_code_point(text, 0).value; }

char32_t last_code_point(std::string_view text) { return util::decode_code_point(text, last_start(text)).value; }

std::size_t leading_white_space(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    util::CodePoint c = util::decode_code_point(text, i);
    if (!is_white_space(c.value)) break;
    i += c.length;
  }
  return i;
}

std::size_t trailing_white_space(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0) {
    std::size_t start = last_start(text.substr(0, end));
    if (!is_white_space(util::decode_code_point(text, start).value)) break;
    end = start;
  }
  return text.size() - end;
}

}  // namespace talon::text
