#include "talon/text/jinja/lexer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "talon/text/jinja/python_str.h"
#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text::jinja {
namespace {

// Jinja2 joins the template's lines with "\n" and drops one trailing newline
// (keep_trailing_newline is off).
std::string normalize_newlines(const std::string& source) {
  std::string out;
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Length of the run of Python whitespace (regex \s) at `pos`, in bytes.
std::size_t whitespace_run(std::string_view s, std::size_t pos) {
  std::size_t i = pos;
  while (i < s.size()) {
    util::CodePoint cp = util::decode_code_point(s, i);
    if (!is_space(cp.value)) break;
    i += cp.length;
  }
  return i - pos;
}

bool all_whitespace(std::string_view s) { return !s.empty() && whitespace_run(s, 0) == s.size(); }

std::string rstrip_whitespace(std::string_view s) { return strip(s, nullptr, 'r'); }

int count_newlines(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Python's "unicode-escape" decoding of a string literal's body.
std::string decode_escapes(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    auto hex = [&](std::size_t digits) {
      std::string h(body.substr(i + 1, digits));
      if (h.size() != digits) return false;
      for (char d : h) {
        if (!std::isxdigit(static_cast<unsigned char>(d))) return false;
      }
      util::append_utf8(out, static_cast<char32_t>(std::stoul(h, nullptr, 16)));
      i += digits;
      return true;
    };
    switch (e) {
      case '\n': break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': if (!hex(2)) out += "\\x"; break;
      case 'u': if (!hex(4)) out += "\\u"; break;
      case 'U': if (!hex(8)) out += "\\U"; break;
      default:
        if (e >= '0' && e <= '7') {
          unsigned value = 0;
          std::size_t n = 0;
          for (; n < 3 && i < body.size() && body[i] >= '0' && body[i] <= '7'; ++n, ++i) value = value * 8 + static_cast<unsigned>(body[i] - '0');
          --i;
          util::append_utf8(out, value);
        } else {
          out += '\\';
          out += e;
        }
    }
  }
  return out;
}

constexpr std::array<std::string_view, 25> kOperators = {
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(",
    ")", "{", "}", ">", "<", "=", ".", ":", "|", ","};

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& name) : src_(normalize_newlines(source)), name_(name) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_root();
    tokens_.push_back({Token::Type::End, "", line_});
    return tokens_;
  }

 private:
  [[noreturn]] void error(const std::string& what) const { fail("{}:{}: {}", name_, line_, what); }

  bool at(std::string_view s) const { return src_.compare(pos_, s.size(), s) == 0; }

  void emit(Token::Type type, std::string text, int line) { tokens_.push_back({type, std::move(text), line}); }

  // Emits `text` as data, stripped as the tag that follows asks (`-`, or
  // lstrip_blocks before a block or comment on a line of its own).
  void emit_data(std::string text, char sign, bool variable) {
    int newlines = count_newlines(text);
    if (sign == '-') {
      text = rstrip_whitespace(text);
    } else if (sign != '+' && !variable) {
      std::size_t l_pos = text.rfind('\n') + 1;  // npos + 1 == 0
      if ((l_pos > 0 || line_starting_) && all_whitespace(std::string_view(text).substr(l_pos))) text.resize(l_pos);
    }
    if (!text.empty()) emit(Token::Type::Data, text, line_);
    line_ += newlines;
  }

  // Where the end of a block or comment at `p` stops: after `+%}`, after
  // `-%}` and the whitespace that follows, or after `%}` and one newline
  // (trim_blocks). npos when there is none at `p`.
  std::size_t match_block_end(std::size_t p, std::string_view close) const {
    std::string_view s = src_;
    if (s.substr(p, 1) == "+" && s.substr(p + 1, close.size()) == close) return p + 1 + close.size();
    if (s.substr(p, 1) == "-" && s.substr(p + 1, close.size()) == close) {
      p += 1 + close.size();
      return p + whitespace_run(s, p);
    }
    if (s.substr(p, close.size()) != close) return std::string::npos;
    p += close.size();
    return p < s.size() && s[p] == '\n' ? p + 1 : p;
  }

  std::size_t match_variable_end(std::size_t p) const {
    if (src_.compare(p, 3, "-}}") == 0) return p + 3 + whitespace_run(src_, p + 3);
    return src_.compare(p, 2, "}}") == 0 ? p + 2 : std::string::npos;
  }

  // Moves to `end`, counting the lines passed.
  void advance_to(std::size_t end) {
    line_ += count_newlines(std::string_view(src_).substr(pos_, end - pos_));
    pos_ = end;
    line_starting_ = src_[pos_ - 1] == '\n';
  }

  void lex_root() {
    std::size_t tag = src_.find('{', pos_);
    while (tag != std::string::npos && tag + 1 < src_.size() && src_[tag + 1] != '{' && src_[tag + 1] != '%' &&
           src_[tag + 1] != '#') {
      tag = src_.find('{', tag + 1);
    }
    if (tag == std::string::npos || tag + 1 >= src_.size()) {
      std::string rest = src_.substr(pos_);
      emit(Token::Type::Data, rest, line_);
      line_ += count_newlines(rest);
      pos_ = src_.size();
      return;
    }
    std::string text = src_.substr(pos_, tag - pos_);
    char kind = src_[tag + 1];
    char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
    emit_data(text, sign, kind == '{');
    pos_ = tag + 2 + (sign ? 1 : 0);
    line_starting_ = false;
    if (kind == '#') {
      lex_comment();
    } else if (kind == '{' || !lex_raw()) {
      lex_tag(kind == '{');
    }
  }

  void lex_comment() {
    for (std::size_t p = pos_; p < src_.size(); ++p) {
      std::size_t end = match_block_end(p, "#}");
      if (end != std::string::npos) return advance_to(end);
    }
    error("Missing end of comment tag");
  }

  // `{% raw %}...{% endraw %}`: the text between is data, untouched.
  bool lex_raw() {
    std::size_t p = pos_ + whitespace_run(src_, pos_);
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    p += whitespace_run(src_, p);
    if (src_.compare(p, 3, "-%}") == 0) {
      p += 3 + whitespace_run(src_, p + 3);
    } else if (src_.compare(p, 2, "%}") == 0) {
      p += 2;
    } else {
      return false;
    }
    advance_to(p);
    for (std::size_t open = src_.find("{%", pos_); open != std::string::npos; open = src_.find("{%", open + 2)) {
      std::size_t q = open + 2;
      char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : 0;
      q += sign ? 1 : 0;
      q += whitespace_run(src_, q);
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      std::size_t end = match_block_end(q + whitespace_run(src_, q), "%}");
      if (end == std::string::npos) continue;
      emit_data(src_.substr(pos_, open - pos_), sign, false);
      pos_ = open;
      advance_to(end);
      return true;
    }
    error("Missing end of raw directive");
  }

  void lex_tag(bool variable) {
    emit(variable ? Token::Type::VariableBegin : Token::Type::BlockBegin, "", line_);
    std::vector<char> balance;
    while (pos_ < src_.size()) {  // at the end, the parser reports the unclosed tag
      if (balance.empty()) {
        std::size_t end = variable ? match_variable_end(pos_) : match_block_end(pos_, "%}");
        if (end != std::string::npos) {
          emit(variable ? Token::Type::VariableEnd : Token::Type::BlockEnd, "", line_);
          return advance_to(end);
        }
      }
      lex_token(balance);
    }
  }

  void lex_token(std::vector<char>& balance) {
    if (std::size_t ws = whitespace_run(src_, pos_)) {
      line_ += count_newlines(std::string_view(src_).substr(pos_, ws));
      pos_ += ws;
      line_starting_ = src_[pos_ - 1] == '\n';
      return;
    }
    line_starting_ = false;
    char c = src_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = pos_;
      while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
      emit(Token::Type::Name, src_.substr(pos_, end - pos_), line_);
      pos_ = end;
      return;
    }
    if (c == '\'' || c == '"') return lex_string(c);
    for (std::string_view op : kOperators) {
      if (!at(op)) continue;
      if (op == "(" || op == "[" || op == "{") balance.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
      if (op == ")" || op == "]" || op == "}") {
        if (balance.empty()) error(fmt::format("unexpected '{}'", op));
        if (balance.back() != op[0]) error(fmt::format("unexpected '{}', expected '{}'", op, balance.back()));
        balance.pop_back();
      }
      emit(Token::Type::Operator, std::string(op), line_);
      pos_ += op.size();
      return;
    }
    error(fmt::format("unexpected char '{}' at {}", c, pos_));
  }

  void lex_number() {
    if (src_[pos_] == '0' && pos_ + 2 < src_.size()) {
      char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[pos_ + 1])));
      if (prefix == 'x' || prefix == 'o' || prefix == 'b') {
        std::size_t end = pos_ + 2;
        while (end < src_.size() && (std::isxdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
        std::string text = src_.substr(pos_, end - pos_);
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        emit(Token::Type::Integer, text, line_);
        pos_ = end;
        return;
      }
    }
    auto digits = [&](std::size_t p) {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) ||
                                 (src_[p] == '_' && p + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p + 1]))))) {
        ++p;
      }
      return p;
    };
    std::size_t end = digits(pos_);
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      end = digits(end + 1);
      is_float = true;
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      std::size_t p = end + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        end = digits(p);
        is_float = true;
      }
    }
    std::string text;
    for (std::size_t i = pos_; i < end; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    emit(is_float ? Token::Type::Float : Token::Type::Integer, text, line_);
    pos_ = end;
  }

  void lex_string(char quote) {
    std::size_t p = pos_ + 1;
    while (p < src_.size() && src_[p] != quote) p += src_[p] == '\\' ? 2 : 1;
    if (p >= src_.size()) error("unexpected char '" + std::string(1, quote) + "' at " + std::to_string(pos_));
    std::string body = src_.substr(pos_ + 1, p - pos_ - 1);
    emit(Token::Type::String, decode_escapes(body), line_);
    line_ += count_newlines(body);
    pos_ = p + 1;
  }

  std::string src_;
  const std::string& name_;
  std::size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source, const std::string& source_name) {
  return Lexer(source, source_name).run();
}

}  // namespace talon::text::jinja
