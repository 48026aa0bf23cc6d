// Python's str methods on UTF-8 text, by code point, as chat templates call
// them (str.strip, split, title, ...) and as Jinja's filters use them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace talon::text::jinja {

std::vector<std::string> code_points(std::string_view s);  // each as UTF-8
std::int64_t code_point_count(std::string_view s);
bool is_space(char32_t cp);  // str.isspace()

// chars == nullptr: Python whitespace. which: 'l', 'r' or 'b' (both).
std::string strip(std::string_view s, const std::string* chars, char which);
// sep == nullptr: runs of whitespace; maxsplit < 0: no limit.
std::vector<std::string> split(std::string_view s, const std::string* sep, std::int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::string* sep, std::int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title()
std::string capitalize(std::string_view s);  // str.capitalize()
std::string replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count);
// Code-point index of the first (last) occurrence, or -1.
std::int64_t find(std::string_view s, std::string_view sub);
std::int64_t rfind(std::string_view s, std::string_view sub);
std::int64_t count(std::string_view s, std::string_view sub);
// str.isdigit, isalpha, isalnum, isspace, islower, isupper.
bool char_class(std::string_view s, std::string_view which);

}  // namespace talon::text::jinja
