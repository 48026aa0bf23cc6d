// The allowed values of a numeric flag, checked on the text as given: CLI11
// would store "-1" in an unsigned flag as 2^64-1 and "0" in a count that
// must be positive without a word. The message names the flag and the
// range, `--max-grad-norm: -1 is not in [0, inf)`, and --help shows the
// range after the flag's type.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace talon::cli {

// `interval` in the usual notation, its bounds numbers or inf: "[1, inf)",
// "(0, 1]", "[0, 65535]".
CLI::Validator flag_range(const std::string& interval);

}  // namespace talon::cli
