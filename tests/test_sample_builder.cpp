// The loss mask of brief §2 on real tokenizers and templates. Expected masks
// are stated as text: decoding the supervised tokens must give back exactly
// the assistant turns with their end-of-turn strings.
#include "talon/data/sample_builder.h"

#include <gtest/gtest.h>

#include "talon/text/chat_template.h"
#include "talon/text/tokenizer.h"
#include "test_support.h"

using talon::data::SampleBuilder;
using talon::data::TokenizedSample;
using talon::text::Conversation;
using talon::text::Role;

namespace {

const talon::text::Tokenizer& llama() {
  static auto t = talon::text::Tokenizer::load(talon::testing::kLlamaTokenizerDir);
  return t;
}
const talon::text::Tokenizer& qwen() {
  static auto t = talon::text::Tokenizer::load(talon::testing::kQwenTokenizerDir);
  return t;
}

Conversation chat(std::initializer_list<std::pair<Role, std::string>> turns) {
  Conversation c;
  for (auto& [role, text] : turns) c.push_back({role, text, std::nullopt});
  return c;
}

// The supervised tokens, as runs of consecutive ones, each decoded.
std::vector<std::string> supervised_runs(const talon::text::Tokenizer& tok, const TokenizedSample& s) {
  std::vector<std::string> runs;
  std::vector<std::int32_t> run;
  for (std::size_t t = 0; t <= s.input_ids.size(); ++t) {
    if (t < s.input_ids.size() && s.loss_mask[t]) {
      run.push_back(s.input_ids[t]);
    } else if (!run.empty()) {
      runs.push_back(tok.decode(run));
      run.clear();
    }
  }
  return runs;
}

}  // namespace

TEST(SampleBuilder, Llama3MasksAssistantTurnsThroughEot) {
  auto tmpl = talon::text::builtin_template("llama3");
  SampleBuilder builder(llama(), tmpl, std::string(""), 4096);
  Conversation c = chat({{Role::User, "What is 2+2?"},
                         {Role::Assistant, "It is 4."},
                         {Role::User, "And 3+3?"},
                         {Role::Assistant, "It is 6."}});
  TokenizedSample s = builder.build(c);
  EXPECT_FALSE(s.truncated);
  EXPECT_EQ(s.input_ids, llama().encode(tmpl.render(c)));
  // The final <|eot_id|> is the sample's last token: Talon zeroes it.
  EXPECT_EQ(supervised_runs(llama(), s), (std::vector<std::string>{"It is 4.<|eot_id|>", "It is 6."}));
  EXPECT_EQ(s.loss_mask.back(), 0);
}

TEST(SampleBuilder, DefaultSystemPromptIsInsertedAndNeverSupervised) {
  auto tmpl = talon::text::builtin_template("llama3");
  SampleBuilder with_default(llama(), tmpl, std::nullopt, 4096);
  Conversation c = chat({{Role::User, "Hi"}, {Role::Assistant, "Hello!"}});
  TokenizedSample s = with_default.build(c);
  std::string text = llama().decode(s.input_ids);
  ASSERT_TRUE(tmpl.system_prompt.has_value());
  EXPECT_NE(text.find(*tmpl.system_prompt), std::string::npos);
  EXPECT_EQ(supervised_runs(llama(), s), (std::vector<std::string>{"Hello!"}));
}

TEST(SampleBuilder, QwenMasksContentAndNewlineAfterImEndAndTheEmptyThinkBlockOnlyWhenAsked) {
  Conversation c = chat({{Role::User, "Q1"}, {Role::Assistant, "A1"}, {Role::User, "Q2"}, {Role::Assistant, "A2"}});
  // The built-in renderer and Qwen3's own Jinja template (the fixture's),
  // through the registry name.
  const talon::text::ChatTemplate builtin = talon::text::builtin_template("qwen3");
  const talon::text::ChatTemplate own = talon::text::resolve_template({"qwen3"}, talon::testing::kQwenTokenizerDir);
  ASSERT_TRUE(own.hf);
  for (talon::text::ChatTemplate tmpl : {builtin, own}) {
    // Non-final turn: content, <|im_end|> and its "\n"; final turn: Qwen3's
    // empty think block is in the text but not supervised; the last "\n" is
    // the sample's last token and is zeroed.
    TokenizedSample s = SampleBuilder(qwen(), tmpl, std::string(""), 4096).build(c);
    EXPECT_NE(qwen().decode(s.input_ids).find("<|im_start|>assistant\n<think>\n\n</think>\n\nA2"), std::string::npos);
    EXPECT_EQ(supervised_runs(qwen(), s), (std::vector<std::string>{"A1<|im_end|>\n", "A2<|im_end|>"}));
    tmpl.supervise_empty_think = true;
    EXPECT_EQ(supervised_runs(qwen(), SampleBuilder(qwen(), tmpl, std::string(""), 4096).build(c)),
              (std::vector<std::string>{"A1<|im_end|>\n", "<think>\n\n</think>\n\nA2<|im_end|>"}));
  }
}

// Tool calls render through the model's own template, and the assistant
// turn that calls a tool is supervised like any other.
TEST(SampleBuilder, ToolCallsAreRenderedByTheOwnTemplateAndSupervised) {
  const auto record = nlohmann::ordered_json::parse(R"({"messages": [
      {"role": "user", "content": "Weather in Lima?"},
      {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Lima"}}}]},
      {"role": "tool", "content": "19 C"},
      {"role": "assistant", "content": "19 C in Lima."}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]})");
  const talon::text::ChatTemplate own = talon::text::resolve_template({"qwen3"}, talon::testing::kQwenTokenizerDir);
  const auto tools = talon::text::parse_tools(record);
  TokenizedSample s =
      SampleBuilder(qwen(), own, std::string(""), 4096).build(talon::text::parse_conversation(record), &*tools);
  const std::string text = qwen().decode(s.input_ids);
  EXPECT_NE(text.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\""), std::string::npos)
      << text;
  EXPECT_EQ(supervised_runs(qwen(), s),
            (std::vector<std::string>{
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lima\"}}\n</tool_call><|im_end|>\n",
                "19 C in Lima.<|im_end|>"}));
}

// A template that marks assistant text with {% generation %} is supervised on
// exactly those bytes: here the reply and <|im_end|> without the "\n" the
// regex markers would take too.
TEST(SampleBuilder, GenerationBlocksDecideTheSupervisedBytes) {
  talon::testing::TempDir scratch;
  const std::string path = scratch.write(
      "marked.jinja",
      "{%- for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}"
      "{%- if m.role == 'assistant' %}{% generation %}{{ m.content + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
      "{%- else %}{{ m.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
      "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}");
  const talon::text::ChatTemplate marked = talon::text::resolve_template({path}, talon::testing::kQwenTokenizerDir);
  ASSERT_TRUE(marked.hf && marked.hf->has_generation_blocks());
  EXPECT_EQ(marked.assistant_header, "<|im_start|>assistant\n");
  EXPECT_EQ(marked.end_of_turn, "<|im_end|>\n");
  Conversation c = chat({{Role::User, "Q1"}, {Role::Assistant, "A1"}, {Role::User, "Q2"}, {Role::Assistant, "A2!"}});
  TokenizedSample s = SampleBuilder(qwen(), marked, std::nullopt, 4096).build(c);
  EXPECT_EQ(qwen().decode(s.input_ids),
            "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"
            "<|im_start|>assistant\nA2!<|im_end|>\n");
  EXPECT_EQ(supervised_runs(qwen(), s), (std::vector<std::string>{"A1<|im_end|>", "A2!<|im_end|>"}));
}

TEST(SampleBuilder, TruncationCutsTheMaskAndFlagsTheSample) {
  auto tmpl = talon::text::builtin_template("llama3");
  Conversation c = chat({{Role::User, "Count."}, {Role::Assistant, "one two three four five six seven eight"}});
  SampleBuilder full(llama(), tmpl, std::string(""), 4096);
  TokenizedSample whole = full.build(c);
  for (std::size_t cut : {whole.input_ids.size() - 3, whole.input_ids.size() - 1}) {
    SampleBuilder builder(llama(), tmpl, std::string(""), static_cast<std::int64_t>(cut));
    TokenizedSample s = builder.build(c);
    EXPECT_TRUE(s.truncated);
    ASSERT_EQ(s.input_ids.size(), cut);
    EXPECT_TRUE(std::equal(s.input_ids.begin(), s.input_ids.end(), whole.input_ids.begin()));
    for (std::size_t t = 0; t + 1 < cut; ++t) EXPECT_EQ(s.loss_mask[t], whole.loss_mask[t]) << t;
    EXPECT_EQ(s.loss_mask[cut - 1], 0);
  }
}

TEST(SampleBuilder, TruncatedBeforeTheAnswerHasNoSupervisedToken) {
  auto tmpl = talon::text::builtin_template("llama3");
  SampleBuilder builder(llama(), tmpl, std::string(""), 6);
  TokenizedSample s = builder.build(chat({{Role::User, "A long question with many words in it"},
                                          {Role::Assistant, "Answer."}}));
  EXPECT_TRUE(s.truncated);
  EXPECT_EQ(s.supervised(), 0u);
}
