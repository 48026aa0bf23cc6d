// `talon tokenize` and `talon detokenize` against the Hugging Face goldens of
// tests/data/tokenizer, and their errors for malformed input lines.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_support.h"

namespace {

using talon::testing::CommandResult;
using talon::testing::kLlamaTokenizerDir;
using talon::testing::kQwenTokenizerDir;
using talon::testing::run_talon;
using Json = nlohmann::json;

const std::string kData = std::string(TALON_TEST_DATA) + "/tokenizer";
const std::string kSmall = kData + "/synthetic/gpt2_style";  // 3,258 ids; loads fast

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The first `count` golden lines whose corpus text is valid UTF-8, with that text.
std::vector<std::pair<Json, Json>> golden_samples(const std::string& name, std::size_t count) {
  std::vector<Json> corpus = talon::testing::read_jsonl(kData + "/corpus.jsonl");
  std::vector<std::pair<Json, Json>> out;
  std::ifstream golden_in(kData + "/" + name + ".golden.jsonl");
  for (std::string line; std::getline(golden_in, line) && out.size() < count;) {
    Json golden = Json::parse(line);
    if (!golden.contains("line")) continue;
    const Json& entry = corpus.at(golden["line"].get<std::size_t>());
    if (entry.contains("text") && (golden["line"].get<std::size_t>() % 37 == 0))
      out.emplace_back(entry["text"], golden);
  }
  return out;
}

class TokenizeCli : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizeCli, MatchesGoldens) {
  const std::string& name = GetParam();
  const std::string& dir = name == "llama3_1" ? kLlamaTokenizerDir : kQwenTokenizerDir;
  auto samples = golden_samples(name, 40);
  ASSERT_GE(samples.size(), 30u);
  std::string texts, ids;
  for (const auto& [text, golden] : samples) {
    texts += text.dump() + "\n";
    ids += golden["ids_special"].dump() + "\n";
  }
  CommandResult plain = run_talon("tokenize --tokenizer " + dir, texts);
  CommandResult special = run_talon("tokenize --tokenizer " + dir + " --add-special-tokens", texts);
  CommandResult decoded = run_talon("detokenize --tokenizer " + dir, ids);
  CommandResult skipped = run_talon("detokenize --tokenizer " + dir + " --skip-special-tokens", ids);
  for (const CommandResult* run : {&plain, &special, &decoded, &skipped}) ASSERT_EQ(run->status, 0) << run->out;
  auto plain_lines = lines(plain.out), special_lines = lines(special.out);
  auto decoded_lines = lines(decoded.out), skipped_lines = lines(skipped.out);
  ASSERT_EQ(plain_lines.size(), samples.size());
  ASSERT_EQ(special_lines.size(), samples.size());
  ASSERT_EQ(decoded_lines.size(), samples.size());
  ASSERT_EQ(skipped_lines.size(), samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Json& golden = samples[i].second;
    EXPECT_EQ(plain_lines[i], golden["ids"].dump()) << "line " << golden["line"];
    EXPECT_EQ(special_lines[i], golden["ids_special"].dump()) << "line " << golden["line"];
    Json skip = golden.value("decoded_skip", golden["decoded"]);
    EXPECT_EQ(Json::parse(skipped_lines[i]), skip) << "line " << golden["line"];
    // Without skipping, the special tokens are spelled out around the text.
    std::string with_specials = Json::parse(decoded_lines[i]).get<std::string>();
    EXPECT_NE(with_specials.find(golden["decoded"].get<std::string>()), std::string::npos) << with_specials;
  }
}

INSTANTIATE_TEST_SUITE_P(Talon, TokenizeCli, ::testing::Values("llama3_1", "qwen3"));

TEST(TokenizeCliErrors, NameTheLineAndTheProblem) {
  struct Case {
    std::string command, input, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"tokenize", "\"ok\"\n[1, 2]\n", "<stdin>:2: expected a JSON string, found [1,2]"},
           {"tokenize", "\"ok\"\n\"fine\"\n{bad\n", "<stdin>:3: not valid JSON"},
           {"tokenize", "\n", "<stdin>:1: not valid JSON"},
           {"detokenize", "[1]\n\"text\"\n", "<stdin>:2: expected a JSON array of ids"},
           {"detokenize", "[1, 3258]\n", "<stdin>:1: element 1: id 3258 is out of range [0, 3258)"},
           {"detokenize", "[-1]\n", "id -1 is out of range"},
           {"detokenize", "[1.5]\n", "<stdin>:1: element 0: expected an integer id"},
           // 10^5 nested arrays crashed both; at the limit, the message shows 80 bytes of the value.
           {"tokenize", "\"ok\"\n" + talon::testing::nested_arrays() + "\n",
            "<stdin>:2: nested deeper than 512 levels of arrays and objects (Talon's limit)"},
           {"detokenize", talon::testing::nested_arrays() + "\n",
            "<stdin>:1: nested deeper than 512 levels of arrays and objects (Talon's limit)"},
           {"tokenize", talon::testing::nested_arrays(512) + "\n",
            "<stdin>:1: expected a JSON string, found " + std::string(80, '[') + "...\n"},
           {"detokenize", "[" + talon::testing::nested_arrays(511) + "]\n",
            "<stdin>:1: element 0: expected an integer id, found " + std::string(80, '[') + "...\n"},
       }) {
    CommandResult run = run_talon(c.command + " --tokenizer " + kSmall, c.input);
    EXPECT_EQ(run.status, 1) << c.command << " " << c.input;
    EXPECT_NE(run.out.find(c.needle), std::string::npos) << run.out;
  }
}

}  // namespace
