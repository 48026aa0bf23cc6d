#include "talon/text/onig_pattern.h"

#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text {

namespace {

// Unicode White_Space, the set Oniguruma's \s matches.
constexpr std::string_view kWhiteSpace =
    "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";
constexpr std::string_view kHexDigit = "0-9A-Fa-f";

// Code points Oniguruma (Unicode 16.0) counts as letters / numbers that
// PCRE2 10.42 (Unicode 14.0) leaves unassigned. tests/test_tokenizer.cpp
// checks every code point against sets computed with Hugging Face's own
// Oniguruma (tests/data/tokenizer/onig_classes.json).
constexpr std::string_view kLetterExtras =
    "\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CD}\\x{A7DA}-\\x{A7DC}\\x{105C0}-\\x{105F3}"
    "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC4}\\x{1123F}-\\x{11240}"
    "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}"
    "\\x{113D3}\\x{11BC0}-\\x{11BE0}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}"
    "\\x{1342F}\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}"
    "\\x{16D40}-\\x{16D6C}\\x{18CFF}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}"
    "\\x{1E030}-\\x{1E06D}\\x{1E4D0}-\\x{1E4EB}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2B739}"
    "\\x{2EBF0}-\\x{2EE5D}\\x{31350}-\\x{323AF}";
constexpr std::string_view kNumberExtras =
    "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{11F50}-\\x{11F59}"
    "\\x{16130}-\\x{16139}\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1D2C0}-\\x{1D2D3}"
    "\\x{1E4F0}-\\x{1E4F9}\\x{1E5F1}-\\x{1E5FA}";

class Translator {
 public:
  Translator(std::string_view pattern, const std::string& where) : in_(pattern), where_(where) {}

  std::string run() {
    while (i_ < in_.size()) {
      char c = in_[i_];
      if (c == '\\') {
        escape();
      } else if (c == '[') {
        open_bracket();
      } else if (c == ']' && in_class_) {
        in_class_ = false;
        out_ += c;
        ++i_;
      } else if (c == '&' && in_class_ && i_ + 1 < in_.size() && in_[i_ + 1] == '&') {
        unsupported("a class intersection (&&)");
      } else {
        copy_code_point();
      }
    }
    if (in_class_) fail("{}: unterminated character class in regex {:?}", where_, in_);
    return out_;
  }

 private:
  [[noreturn]] void unsupported(std::string_view what) {
    fail(
        "{}: regex {:?} uses {} at offset {}, which Talon cannot translate from Oniguruma to "
        "PCRE2",
        where_, in_, what, i_);
  }

  void copy_code_point() {
    std::size_t n = std::min(util::utf8_length(static_cast<unsigned char>(in_[i_])), in_.size() - i_);
    out_.append(in_.substr(i_, n));
    i_ += n;
  }

  // A class body `body` (no brackets), negated or not, placed where we are.
  void emit_class(std::string_view body, bool negated, std::string_view what) {
    if (in_class_) {
      if (negated) unsupported(what);
      out_.append(body);
    } else {
      out_.append(negated ? "[^" : "[").append(body).append("]");
    }
  }

  void escape() {
    if (i_ + 1 >= in_.size()) fail("{}: regex {:?} ends with a lone backslash", where_, in_);
    char e = in_[i_ + 1];
    switch (e) {
      case 's':
      case 'S':
        emit_class(kWhiteSpace, e == 'S', "\\S inside a class");
        i_ += 2;
        return;
      case 'h':
      case 'H':
        emit_class(kHexDigit, e == 'H', "\\H inside a class");
        i_ += 2;
        return;
      case 'p':
      case 'P':
        if (property(e == 'P')) return;
        break;
      default:
        break;
    }
    out_ += '\\';
    ++i_;
    copy_code_point();
  }

  // \p{L}, \p{N} (also spelled Letter / Number, or negated with \P or ^).
  // Returns false for other properties, which are copied unchanged.
  bool property(bool negated) {
    if (i_ + 2 >= in_.size() || in_[i_ + 2] != '{') return false;
    std::size_t close = in_.find('}', i_ + 3);
    if (close == std::string_view::npos) return false;
    std::string_view name = in_.substr(i_ + 3, close - i_ - 3);
    if (!name.empty() && name[0] == '^') {
      negated = !negated;
      name.remove_prefix(1);
    }
    std::string_view base, extras;
    if (name == "L" || name == "Letter") {
      base = "\\p{L}";
      extras = kLetterExtras;
    } else if (name == "N" || name == "Number") {
      base = "\\p{N}";
      extras = kNumberExtras;
    } else {
      return false;
    }
    emit_class(std::string(base).append(extras), negated, "a negated \\p{L} or \\p{N} inside a class");
    i_ = close + 1;
    return true;
  }

  void open_bracket() {
    if (in_class_) {
      // Only POSIX classes ([:alpha:]) may nest; Oniguruma's nested sets do not exist in PCRE2.
      if (i_ + 1 < in_.size() && in_[i_ + 1] == ':') {
        std::size_t close = in_.find(":]", i_ + 2);
        if (close == std::string_view::npos) unsupported("an unterminated POSIX class");
        out_.append(in_.substr(i_, close + 2 - i_));
        i_ = close + 2;
        return;
      }
      unsupported("a nested character class");
    }
    in_class_ = true;
    out_ += '[';
    ++i_;
    if (i_ < in_.size() && in_[i_] == '^') {
      out_ += '^';
      ++i_;
    }
    if (i_ < in_.size() && in_[i_] == ']') {  // a leading ']' is a literal in both dialects
      out_ += ']';
      ++i_;
    }
  }

  std::string_view in_;
  const std::string& where_;
  std::string out_;
  std::size_t i_ = 0;
  bool in_class_ = false;
};

}  // namespace

std::string onig_to_pcre2(std::string_view pattern, const std::string& where) {
  return Translator(pattern, where).run();
}

}  // namespace talon::text
