// The real chat templates of tests/data/templates/hf (README.md there names
// their sources) render every conversation of their goldens byte for byte as
// transformers' apply_chat_template did, or fail where it failed. One TEST
// per family, so a failure names the family.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "talon/text/jinja.h"
#include "talon/util/error.h"

namespace talon::text::jinja {
namespace {

using nlohmann::ordered_json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void check_family(const std::string& family) {
  // The goldens were rendered with the clock frozen at 2024-07-26 (gpt-oss
  // prints today's date); strftime_now reads SOURCE_DATE_EPOCH when set.
  ::setenv("SOURCE_DATE_EPOCH", "1721995200", 1);
  std::string dir = std::string(TALON_TEST_DATA) + "/templates/hf/";
  Template t(read_file(dir + family + ".jinja"), family + ".jinja");
  std::ifstream in(dir + family + ".golden.jsonl");
  ASSERT_TRUE(in);
  std::size_t renders = 0;
  for (std::string text; std::getline(in, text); ++renders) {
    ordered_json line = ordered_json::parse(text);
    SCOPED_TRACE(family + " conversation " + line.at("conversation").dump() + " add_generation_prompt " +
                 line.at("add_generation_prompt").dump());
    try {
      Rendered r = t.render(line.at("context"));
      if (line.contains("error")) {
        ADD_FAILURE() << "rendered where transformers failed with " << line.at("error");
      } else {
        EXPECT_EQ(ordered_json(r.text).dump(), line.at("text").dump());
      }
    } catch (const Error& e) {
      if (!line.contains("error")) {
        ADD_FAILURE() << "threw: " << e.what();
      } else if (line.value("error_type", "") == "TemplateError") {
        EXPECT_NE(std::string(e.what()).find(line.at("error").get<std::string>()), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GE(renders, 40u);
}

TEST(JinjaTemplates, Llama3_1) { check_family("llama3_1"); }
TEST(JinjaTemplates, Llama3_2) { check_family("llama3_2"); }
TEST(JinjaTemplates, Llama3_3) { check_family("llama3_3"); }
TEST(JinjaTemplates, Qwen2_5) { check_family("qwen2_5"); }
TEST(JinjaTemplates, Qwen3) { check_family("qwen3"); }
TEST(JinjaTemplates, Qwen3Coder) { check_family("qwen3_coder"); }
TEST(JinjaTemplates, DeepSeekR1) { check_family("deepseek_r1"); }
TEST(JinjaTemplates, DeepSeekV3_1) { check_family("deepseek_v3_1"); }
TEST(JinjaTemplates, Glm4_5) { check_family("glm4_5"); }
TEST(JinjaTemplates, KimiK2) { check_family("kimi_k2"); }
TEST(JinjaTemplates, GptOss) { check_family("gpt_oss"); }
TEST(JinjaTemplates, MistralNemo) { check_family("mistral_nemo"); }
TEST(JinjaTemplates, Gemma3) { check_family("gemma3"); }
TEST(JinjaTemplates, Phi4) { check_family("phi4"); }
TEST(JinjaTemplates, SmolLM2) { check_family("smollm2"); }

}  // namespace
}  // namespace talon::text::jinja
