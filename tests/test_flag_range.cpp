// tools/flag_range.h through the talon binary: every numeric flag of every
// command carries a range, which --help shows after the flag's type (the
// commands' own tests check that values outside it are refused by name).
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "test_support.h"

namespace talon {
namespace {

using testing::run_talon;

TEST(FlagRange, EveryNumericFlagOfEveryCommandHasARange) {
  // "  --seed UINT:[0, 18446744073709551615]=0", "  --top-p FLOAT:(0, 1]=1"
  const std::regex numeric(R"(^\s+(--[\w,-]+) (INT|UINT|FLOAT)(.*))");
  const std::regex ranged(R"(^:[\[(]-?[0-9.e]+, (inf|[0-9.e]+)[\])])");
  for (const std::string command :
       {"prepare", "init-target", "cache", "train", "launch", "eval", "regenerate", "tokenize", "detokenize"}) {
    const auto help = run_talon(command + " --help");
    ASSERT_EQ(help.status, 0) << help.out;
    std::istringstream lines(help.out);
    int flags = 0;
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, numeric)) continue;
      ++flags;
      EXPECT_TRUE(std::regex_search(m[3].str(), ranged)) << command << ": " << line;
    }
    const bool has_numeric_flags = command != "tokenize" && command != "detokenize";
    EXPECT_EQ(flags > 0, has_numeric_flags) << command << " --help:\n" << help.out;
  }
}

TEST(FlagRange, ANonNumberOrNanIsRefusedWithTheRange) {
  for (const auto& [value, message] : std::vector<std::pair<std::string, std::string>>{
           {"ten", "--max-new-tokens: ten is not a number in [1, inf)"},
           {"nan", "--max-new-tokens: nan is not in [1, inf)"},
           {"1e99999", "--max-new-tokens: 1e99999 is not in [1, inf)"},
       }) {
    const auto run = run_talon("eval --max-new-tokens " + value);
    EXPECT_NE(run.status, 0);
    EXPECT_NE(run.out.find(message), std::string::npos) << run.out;
  }
}

}  // namespace
}  // namespace talon
