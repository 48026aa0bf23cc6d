// Talon's rendering of conversation records with models' own chat templates
// against transformers' apply_chat_template: the records are
// tests/data/templates/hf/conversations.jsonl, the goldens were rendered by
// scripts/goldens/make_hf_template_goldens.py (tests/data/templates/hf/README.md
// has each template's source). Everything between the record and the text is
// Talon's: parsing, transformers' message normalisation, special tokens read
// from tokenizer_config.json, tools, the Jinja interpreter.
#include "talon/text/hf_chat_template.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "talon/text/chat_template.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"
#include "test_support.h"

namespace talon::text {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

const std::string kDir = std::string(TALON_TEST_DATA) + "/templates/hf/";

std::vector<ordered_json> read_ordered_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<ordered_json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(util::parse_ordered_json(line, path));
  return lines;
}

// The goldens' clock: strftime_now reads SOURCE_DATE_EPOCH (2024-07-26, the
// date the generator froze).
void freeze_clock() { ::setenv("SOURCE_DATE_EPOCH", "1721952000", 1); }

// A tokenizer directory whose tokenizer_config.json holds the special tokens
// the golden's context shows (named ones at the top level, others as
// extra_special_tokens, as transformers 5 reads them).
std::string tokenizer_dir_for(const std::string& family, const ordered_json& context) {
  static const std::vector<std::string> kNamed = {"bos_token", "eos_token", "unk_token", "sep_token",
                                                  "pad_token", "cls_token", "mask_token"};
  static const std::vector<std::string> kNotTokens = {"messages", "tools", "documents", "add_generation_prompt",
                                                      "date_string"};
  ordered_json config = ordered_json::object();
  for (const auto& [key, value] : context.items()) {
    if (std::find(kNotTokens.begin(), kNotTokens.end(), key) != kNotTokens.end()) continue;
    if (std::find(kNamed.begin(), kNamed.end(), key) != kNamed.end()) {
      config[key] = value;
    } else {
      config["extra_special_tokens"][key] = value;
    }
  }
  const fs::path dir = fs::path(::testing::TempDir()) / ("hf_template_" + family);
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer_config.json") << config.dump(2);
  return dir.string();
}

void check_family(const std::string& family) {
  freeze_clock();
  const std::vector<ordered_json> records = read_ordered_jsonl(kDir + "conversations.jsonl");
  const std::vector<ordered_json> goldens = read_ordered_jsonl(kDir + family + ".golden.jsonl");
  ASSERT_EQ(goldens.size(), 2 * records.size());
  HfChatTemplate t =
      HfChatTemplate::from_file(kDir + family + ".jinja", tokenizer_dir_for(family, goldens.front().at("context")));
  t.set_kwargs({{"date_string", "26 Jul 2024"}});
  std::size_t rendered = 0, refused = 0, failures = 0;
  for (const ordered_json& golden : goldens) {
    const std::size_t i = golden.at("conversation").get<std::size_t>();
    const bool prompt = golden.at("add_generation_prompt").get<bool>();
    const std::string what = family + " conversation " + std::to_string(i) + (prompt ? " with" : " without") +
                             " the generation prompt";
    const Conversation conversation = parse_conversation(records.at(i));
    const std::optional<ordered_json> tools = parse_tools(records.at(i));
    if (golden.contains("error")) {
      try {
        t.render(conversation, tools ? &*tools : nullptr, prompt);
        ++failures;
        ADD_FAILURE() << what << ": rendered, but apply_chat_template raised " << golden["error"];
      } catch (const Error& e) {
        ++refused;
        if (golden.value("error_type", "") == "TemplateError") {
          EXPECT_NE(std::string(e.what()).find(golden["error"].get<std::string>()), std::string::npos)
              << what << ": " << e.what();
        }
      }
      continue;
    }
    const std::string text = t.render(conversation, tools ? &*tools : nullptr, prompt).text;
    if (text != golden.at("text").get<std::string>()) {
      ++failures;
      ADD_FAILURE() << what << "\n  rendered: " << ordered_json(text).dump()
                    << "\n  expected: " << golden.at("text").dump();
    }
    ++rendered;
  }
  EXPECT_EQ(failures, 0u) << family;
  EXPECT_GE(rendered, 40u) << family;  // every family renders most of the corpus
  ::testing::Test::RecordProperty("rendered", static_cast<int>(rendered));
  ::testing::Test::RecordProperty("refused", static_cast<int>(refused));
}

TEST(HfChatTemplate, Llama3_1) { check_family("llama3_1"); }
TEST(HfChatTemplate, Llama3_2) { check_family("llama3_2"); }
TEST(HfChatTemplate, Llama3_3) { check_family("llama3_3"); }
TEST(HfChatTemplate, Qwen2_5) { check_family("qwen2_5"); }
TEST(HfChatTemplate, Qwen3) { check_family("qwen3"); }
TEST(HfChatTemplate, Qwen3Coder) { check_family("qwen3_coder"); }
TEST(HfChatTemplate, DeepSeekR1) { check_family("deepseek_r1"); }
TEST(HfChatTemplate, DeepSeekV3_1) { check_family("deepseek_v3_1"); }
TEST(HfChatTemplate, Glm4_5) { check_family("glm4_5"); }
TEST(HfChatTemplate, KimiK2) { check_family("kimi_k2"); }
TEST(HfChatTemplate, GptOss) { check_family("gpt_oss"); }
TEST(HfChatTemplate, MistralNemo) { check_family("mistral_nemo"); }
TEST(HfChatTemplate, Gemma3) { check_family("gemma3"); }
TEST(HfChatTemplate, Phi4) { check_family("phi4"); }
TEST(HfChatTemplate, SmolLM2) { check_family("smollm2"); }

TEST(HfChatTemplate, EveryFamilyInTheDataIsTested) {
  std::size_t families = 0;
  for (const auto& entry : fs::directory_iterator(kDir)) families += entry.path().extension() == ".jinja";
  EXPECT_EQ(families, 15u);
}

}  // namespace
}  // namespace talon::text
