// Hugging Face tokenizers compiles Split patterns with Oniguruma; Talon
// compiles them with PCRE2. The two agree on the syntax these patterns use
// but not on every character class, so patterns are rewritten first:
//   \s, \S      Oniguruma's \s is Unicode White_Space; PCRE2's (UCP) also
//               matches U+180E. Both become an explicit class.
//   \p{L}, \p{N} and their negations
//               Oniguruma's tables follow Unicode 16; PCRE2 10.42's follow
//               Unicode 14. The letters and numbers assigned since are added
//               as explicit ranges (harmless with a newer PCRE2).
//   \h, \H      hexadecimal digit in Oniguruma, horizontal space in PCRE2.
// Constructs PCRE2 cannot express in a class (\S, \H, \P{L}, \P{N} inside
// [...], nested classes, && intersections) are rejected with talon::Error.
#pragma once

#include <string>
#include <string_view>

namespace talon::text {

// `where` names the pattern in error messages (file and JSON path).
std::string onig_to_pcre2(std::string_view pattern, const std::string& where);

}  // namespace talon::text
