// Errors that reach the user. Every message names the file, line or tensor
// and what was expected versus what was found; the CLI prints it on one line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace talon {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws talon::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace talon
