#include "flag_range.h"

#include <cstdlib>
#include <optional>
#include <stdexcept>

namespace talon::cli {
namespace {

// The whole of `text` as a number (long double holds every 64-bit integer
// exactly), or nullopt.
std::optional<long double> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const long double value = std::strtold(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

struct Interval {
  long double low = 0, high = 0;
  bool low_open = false, high_open = false;

  bool contains(long double v) const {
    return (low_open ? v > low : v >= low) && (high_open ? v < high : v <= high);
  }
};

// A malformed interval is a mistake in Talon's code, not in the user's input.
Interval parse_interval(const std::string& text) {
  const std::size_t comma = text.find(',');
  std::optional<long double> low, high;
  if (text.size() >= 5 && comma != std::string::npos) {
    low = parse_number(text.substr(1, comma - 1));
    high = parse_number(text.substr(comma + 2, text.size() - comma - 3));
  }
  const char open = text.empty() ? ' ' : text.front(), close = text.empty() ? ' ' : text.back();
  if (!low || !high || (open != '[' && open != '(') || (close != ']' && close != ')') || text[comma + 1] != ' ') {
    throw std::logic_error("flag_range: malformed interval \"" + text + "\"");
  }
  return {*low, *high, open == '(', close == ')'};
}

}  // namespace

CLI::Validator flag_range(const std::string& interval) {
  const Interval range = parse_interval(interval);
  return CLI::Validator(
      [range, interval](std::string& text) -> std::string {
        const std::optional<long double> value = parse_number(text);
        if (value && range.contains(*value)) return "";
        return text + (value ? " is not in " : " is not a number in ") + interval;
      },
      interval);
}

}  // namespace talon::cli
