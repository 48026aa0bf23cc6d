#include "talon/text/nfc.h"

#include <utf8proc.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text {

namespace {

constexpr char32_t kCodePoints = 0x110000;

// Combining marks assigned after Unicode 9.0. Hugging Face's NFC
// (unicode-normalization-alignments) has Unicode 9.0 tables and so treats
// them as unassigned: class 0, composing with nothing. They are copied
// unchanged and never handed to utf8proc (tests/test_nfc.cpp checks every
// code point against Hugging Face's output).
constexpr std::pair<char32_t, char32_t> kMarksUnknownToHf[] = {
    {0x7FD, 0x7FD},     {0x898, 0x89F},     {0x8CA, 0x8D3},     {0x9FE, 0x9FE},     {0xC3C, 0xC3C},
    {0xD3B, 0xD3C},     {0xEBA, 0xEBA},     {0x1715, 0x1715},   {0x1ABF, 0x1ACE},   {0x1DF6, 0x1DFA},
    {0xA82C, 0xA82C},   {0x10D24, 0x10D27}, {0x10EAB, 0x10EAC}, {0x10EFD, 0x10EFF}, {0x10F46, 0x10F50},
    {0x10F82, 0x10F85}, {0x11070, 0x11070}, {0x1133B, 0x1133B}, {0x1145E, 0x1145E}, {0x11839, 0x1183A},
    {0x1193D, 0x1193E}, {0x11943, 0x11943}, {0x119E0, 0x119E0}, {0x11A34, 0x11A34}, {0x11A47, 0x11A47},
    {0x11A99, 0x11A99}, {0x11D42, 0x11D42}, {0x11D44, 0x11D45}, {0x11D97, 0x11D97}, {0x11F41, 0x11F42},
    {0x16FF0, 0x16FF1}, {0x1E08F, 0x1E08F}, {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE}, {0x1E2EC, 0x1E2EF},
    {0x1E4EC, 0x1E4EF}};

// Code points that NFC can never touch: no canonical decomposition,
// combining class 0, and never the second part of a canonical composition
// (plus the marks above, which Hugging Face's NFC cannot touch either). A
// string made only of these is its own NFC.
class InertTable {
 public:
  InertTable() : bits_(kCodePoints / 64, ~std::uint64_t{0}), unknown_(kCodePoints / 64, 0) {
    utf8proc_int32_t parts[8];
    for (char32_t cp = 0; cp < kCodePoints; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      int last_boundclass = 0;
      auto n =
          utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), parts, 8, UTF8PROC_DECOMPOSE, &last_boundclass);
      bool decomposes = n != 1 || parts[0] != static_cast<utf8proc_int32_t>(cp);
      if (decomposes || utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class != 0) {
        clear(cp);
      }
      // Everything after the first part of a decomposition may compose with
      // what precedes it (this also covers Hangul vowel and trailing jamo).
      for (decltype(n) k = 1; k < n && k < 8; ++k) clear(static_cast<char32_t>(parts[k]));
    }
    for (auto [first, last] : kMarksUnknownToHf) {
      for (char32_t cp = first; cp <= last; ++cp) {
        bits_[cp >> 6] |= std::uint64_t{1} << (cp & 63);
        unknown_[cp >> 6] |= std::uint64_t{1} << (cp & 63);
      }
    }
  }

  bool inert(char32_t cp) const { return (bits_[cp >> 6] >> (cp & 63)) & 1; }
  bool unknown_to_hf(char32_t cp) const { return (unknown_[cp >> 6] >> (cp & 63)) & 1; }

 private:
  void clear(char32_t cp) { bits_[cp >> 6] &= ~(std::uint64_t{1} << (cp & 63)); }
  std::vector<std::uint64_t> bits_;
  std::vector<std::uint64_t> unknown_;
};

const InertTable& inert_table() {
  static const InertTable table;
  return table;
}

// Offset of the first code point that is not inert, or npos.
std::size_t first_active(std::string_view text, std::size_t from, const InertTable& table) {
  for (std::size_t i = from; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    util::CodePoint d = util::decode_code_point(text, i);
    if (!table.inert(d.value)) return i;
    i += d.length;
  }
  return std::string_view::npos;
}

// Appends NFC(span) to out (span is valid UTF-8).
void normalize_span(std::string_view span, std::string& out) {
  thread_local std::vector<utf8proc_int32_t> code_points;
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  code_points.resize(span.size() + 16);
  utf8proc_ssize_t n = 0;
  for (;;) {
    n = utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(span.data()),
                           static_cast<utf8proc_ssize_t>(span.size()), code_points.data(),
                           static_cast<utf8proc_ssize_t>(code_points.size()), options);
    if (n < 0) fail("NFC normalization failed: {}", utf8proc_errmsg(n));
    if (static_cast<std::size_t>(n) <= code_points.size()) break;
    code_points.resize(static_cast<std::size_t>(n));
  }
  n = utf8proc_normalize_utf32(code_points.data(), n,
                               static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) fail("NFC normalization failed: {}", utf8proc_errmsg(n));
  for (utf8proc_ssize_t i = 0; i < n; ++i) util::append_utf8(out, static_cast<char32_t>(code_points[i]));
}

}  // namespace

// NFC never looks across an inert code point (it cannot change, reorder or
// compose with what precedes it), so the text is copied in inert runs and
// only each run of other code points is normalized, together with the code
// point before it (which it may compose with) unless that one is unknown to
// Hugging Face's tables (it composes with nothing there).
std::string_view nfc(std::string_view text, std::string& buffer) {
  const InertTable& table = inert_table();
  std::size_t active = first_active(text, 0, table);
  if (active == std::string_view::npos) return text;
  buffer.clear();
  buffer.reserve(text.size() + 16);
  std::size_t copied = 0;
  while (active != std::string_view::npos) {
    std::size_t begin = active;  // back up to the code point before the run
    if (begin > copied) {
      do --begin;
      while (begin > copied && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80);
      if (table.unknown_to_hf(util::decode_code_point(text, begin).value)) begin = active;
    }
    std::size_t end = active;
    while (end < text.size()) {
      util::CodePoint d = util::decode_code_point(text, end);
      if (end > active && table.inert(d.value)) break;
      end += d.length;
    }
    buffer.append(text, copied, begin - copied);
    normalize_span(text.substr(begin, end - begin), buffer);
    copied = end;
    active = first_active(text, end, table);
  }
  buffer.append(text, copied, std::string_view::npos);
  return buffer;
}

bool is_mark_unknown_to_hf(char32_t cp) { return cp < kCodePoints && inert_table().unknown_to_hf(cp); }

}  // namespace talon::text
