#include "talon/text/jinja/python_str.h"

#include <utf8proc.h>

#include <algorithm>

#include "talon/text/jinja/value.h"
#include "talon/util/utf8.h"

namespace talon::text::jinja {
namespace {

std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    util::CodePoint cp = util::decode_code_point(s, i);
    out.push_back(cp.value);
    i += cp.length;
  }
  return out;
}

std::string encode(const std::vector<char32_t>& cps) {
  std::string out;
  for (char32_t cp : cps) util::append_utf8(out, cp);
  return out;
}

utf8proc_category_t category(char32_t cp) { return utf8proc_category(static_cast<utf8proc_int32_t>(cp)); }
char32_t to_upper(char32_t cp) { return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp))); }
char32_t to_lower(char32_t cp) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))); }
char32_t to_title(char32_t cp) { return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(cp))); }
bool is_cased(char32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

std::int64_t code_points_before(std::string_view s, std::size_t byte) {
  return code_point_count(s.substr(0, byte));
}

}  // namespace

std::vector<std::string> code_points(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = util::utf8_length(static_cast<unsigned char>(s[i]));
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::int64_t code_point_count(std::string_view s) {
  std::int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_space(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E: case 0x1F:
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string strip(std::string_view s, const std::string* chars, char which) {
  std::vector<char32_t> cps = decode(s);
  std::vector<char32_t> set = chars ? decode(*chars) : std::vector<char32_t>{};
  auto strippable = [&](char32_t cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : is_space(cp);
  };
  std::size_t begin = 0, end = cps.size();
  if (which != 'r') {
    while (begin < end && strippable(cps[begin])) ++begin;
  }
  if (which != 'l') {
    while (end > begin && strippable(cps[end - 1])) --end;
  }
  return encode({cps.begin() + static_cast<std::ptrdiff_t>(begin), cps.begin() + static_cast<std::ptrdiff_t>(end)});
}

std::vector<std::string> split(std::string_view s, const std::string* sep, std::int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) raise("ValueError: empty separator");
    std::size_t start = 0;
    while (maxsplit < 0 || static_cast<std::int64_t>(out.size()) < maxsplit) {
      std::size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
  }
  std::vector<char32_t> cps = decode(s);
  std::size_t i = 0;
  while (true) {
    while (i < cps.size() && is_space(cps[i])) ++i;
    if (i == cps.size()) break;
    if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) == maxsplit) {
      std::size_t end = cps.size();
      while (end > i && is_space(cps[end - 1])) --end;
      out.push_back(encode({cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(end)}));
      break;
    }
    std::size_t j = i;
    while (j < cps.size() && !is_space(cps[j])) ++j;
    out.push_back(encode({cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j)}));
    i = j;
  }
  return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::string* sep, std::int64_t maxsplit) {
  if (maxsplit < 0) return split(s, sep, maxsplit);
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) raise("ValueError: empty separator");
    std::size_t end = s.size();
    while (static_cast<std::int64_t>(out.size()) < maxsplit) {
      if (end < sep->size()) break;
      std::size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
  }
  std::vector<char32_t> cps = decode(s);
  std::size_t j = cps.size();
  while (true) {
    while (j > 0 && is_space(cps[j - 1])) --j;
    if (j == 0) break;
    if (static_cast<std::int64_t>(out.size()) == maxsplit) {
      std::size_t begin = 0;
      while (begin < j && is_space(cps[begin])) ++begin;
      out.push_back(encode({cps.begin() + static_cast<std::ptrdiff_t>(begin), cps.begin() + static_cast<std::ptrdiff_t>(j)}));
      break;
    }
    std::size_t i = j;
    while (i > 0 && !is_space(cps[i - 1])) --i;
    out.push_back(encode({cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j)}));
    j = i;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> splitlines(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      out.emplace_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < s.size()) out.emplace_back(s.substr(start));
  return out;
}

std::string upper(std::string_view s) {
  std::vector<char32_t> cps = decode(s);
  for (char32_t& cp : cps) cp = to_upper(cp);
  return encode(cps);
}

std::string lower(std::string_view s) {
  std::vector<char32_t> cps = decode(s);
  for (char32_t& cp : cps) cp = to_lower(cp);
  return encode(cps);
}

std::string title(std::string_view s) {
  std::vector<char32_t> cps = decode(s);
  bool previous_cased = false;
  for (char32_t& cp : cps) {
    cp = previous_cased ? to_lower(cp) : to_title(cp);
    previous_cased = is_cased(cp);
  }
  return encode(cps);
}

std::string capitalize(std::string_view s) {
  std::vector<char32_t> cps = decode(s);
  for (std::size_t i = 0; i < cps.size(); ++i) cps[i] = i == 0 ? to_title(cps[i]) : to_lower(cps[i]);
  return encode(cps);
}

std::string replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` before every code point and at the end.
    std::int64_t done = 0;
    for (const std::string& cp : code_points(s)) {
      if (count < 0 || done < count) {
        out += with;
        ++done;
      }
      out += cp;
    }
    if (count < 0 || done < count) out += with;
    return out;
  }
  std::size_t start = 0;
  std::int64_t done = 0;
  while (count < 0 || done < count) {
    std::size_t at = s.find(old, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(with);
    start = at + old.size();
    ++done;
  }
  out.append(s.substr(start));
  return out;
}

std::int64_t find(std::string_view s, std::string_view sub) {
  std::size_t at = s.find(sub);
  return at == std::string_view::npos ? -1 : code_points_before(s, at);
}

std::int64_t rfind(std::string_view s, std::string_view sub) {
  std::size_t at = s.rfind(sub);
  return at == std::string_view::npos ? -1 : code_points_before(s, at);
}

std::int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return code_point_count(s) + 1;
  std::int64_t n = 0;
  for (std::size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

bool char_class(std::string_view s, std::string_view which) {
  std::vector<char32_t> cps = decode(s);
  if (cps.empty()) return false;
  if (which == "islower" || which == "isupper") {
    bool any_cased = false;
    for (char32_t cp : cps) {
      auto c = category(cp);
      if (c == UTF8PROC_CATEGORY_LT) return false;
      if (c == (which == "islower" ? UTF8PROC_CATEGORY_LU : UTF8PROC_CATEGORY_LL)) return false;
      any_cased = any_cased || is_cased(cp);
    }
    return any_cased;
  }
  for (char32_t cp : cps) {
    auto c = category(cp);
    bool letter = c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
    bool digit = c == UTF8PROC_CATEGORY_ND;
    bool numeric = digit || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
    bool ok = which == "isdigit"   ? digit
              : which == "isalpha" ? letter
              : which == "isalnum" ? letter || numeric
                                   : is_space(cp);
    if (!ok) return false;
  }
  return true;
}

}  // namespace talon::text::jinja
