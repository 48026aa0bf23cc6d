// Python's str.strip() with no argument, which is what Jinja's `| trim` filter
// runs when Hugging Face renders a chat template (Llama 3, Gemma). Python's
// whitespace is str.isspace(): it includes U+001C..U+001F and U+0085, which
// JavaScript's String.trim() keeps, and excludes U+FEFF, which it strips.
#pragma once

#include <string_view>

namespace talon::text {

// `text` without leading and trailing Python whitespace (a view into it).
std::string_view python_strip(std::string_view text);

}  // namespace talon::text
