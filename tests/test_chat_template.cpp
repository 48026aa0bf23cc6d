#include "talon/text/chat_template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <regex>

#include "talon/util/error.h"
#include "test_support.h"

namespace talon::text {
namespace {

using nlohmann::json;
using talon::testing::error_of;
using talon::testing::read_jsonl;
using Spans = std::vector<std::pair<std::size_t, std::size_t>>;

Message sys(std::string content) { return {Role::System, std::move(content), std::nullopt}; }
Message usr(std::string content) { return {Role::User, std::move(content), std::nullopt}; }
Message bot(std::string content) { return {Role::Assistant, std::move(content), std::nullopt}; }

std::string render_default(const std::string& name, const Conversation& c) {
  const ChatTemplate& t = builtin_template(name);
  return t.render(with_system_prompt(c, t, std::nullopt));
}


// Goldens: scripts/goldens/make_template_goldens.py rendered the corpus with
// the models' own Jinja templates through transformers' apply_chat_template
// and found the spans with the same regex in Python.
void check_goldens(const std::string& name) {
  std::string dir = std::string(TALON_TEST_DATA) + "/templates/";
  std::vector<json> conversations = read_jsonl(dir + "conversations.jsonl");
  std::vector<json> goldens = read_jsonl(dir + name + ".golden.jsonl");
  ASSERT_EQ(conversations.size(), goldens.size());
  ASSERT_GE(conversations.size(), 200u);
  const ChatTemplate& t = builtin_template(name);
  std::size_t failures = 0;
  for (std::size_t i = 0; i < conversations.size(); ++i) {
    std::string text = t.render(with_system_prompt(parse_conversation(conversations[i]), t, std::nullopt));
    Spans spans = t.assistant_spans(text);
    auto expected_text = goldens[i].at("text").get<std::string>();
    auto expected_spans = goldens[i].at("spans").get<Spans>();
    if (text != expected_text || spans != expected_spans) {
      ++failures;
      ADD_FAILURE() << name << " conversation " << i << "\n  rendered: " << json(text).dump()
                    << "\n  expected: " << json(expected_text).dump() << "\n  spans " << json(spans).dump()
                    << " expected " << json(expected_spans).dump();
    }
  }
  EXPECT_EQ(failures, 0u) << "of " << conversations.size();
}

TEST(ChatTemplateGolden, Llama3) { check_goldens("llama3"); }
TEST(ChatTemplateGolden, Qwen3) { check_goldens("qwen3"); }

TEST(ChatTemplate, Registry) {
  EXPECT_EQ(builtin_template_names(),
            (std::vector<std::string>{"llama3", "qwen", "qwen3", "deepseek", "phi3", "phi4", "gemma"}));
  for (const std::string& name : builtin_template_names()) {
    EXPECT_EQ(builtin_template(name).name, name);
    EXPECT_EQ(resolve_template({name}, "").name, name);
  }
  EXPECT_EQ(error_of([] { builtin_template("llama2"); }),
            "unknown chat template 'llama2': expected one of llama3, qwen, qwen3, deepseek, phi3, phi4, gemma");
  EXPECT_EQ(error_of([] { resolve_template({"chatml"}, ""); }),
            "unknown chat template 'chatml': expected one of llama3, qwen, qwen3, deepseek, phi3, phi4, gemma or a "
            "path to a .jinja or .json template file");
}

TEST(ChatTemplate, Llama3SystemPromptIsSpecForges) {
  EXPECT_EQ(render_default("llama3", {usr("Hi"), bot("Hello")}),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being "
            "safe.  Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or "
            "illegal content. Please ensure that your responses are socially unbiased and positive in nature.\n\n"
            "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
            "something not correct. If you don't know the answer to a question, please don't share false "
            "information.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>");
}

// Jinja's `| trim` is Python's str.strip(): U+001C..U+001F and U+0085 are
// whitespace, U+FEFF and U+180E are not (JavaScript's trim() differs on all).
TEST(ChatTemplate, TrimFollowsPython) {
  const ChatTemplate& t = builtin_template("llama3");
  EXPECT_EQ(t.render({usr("\x1c\x1d\x1e\x1f\xC2\x85 \t\xE3\x80\x80hi\xE2\x80\xA8\xC2\xA0")}),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
  EXPECT_EQ(t.render({usr("\xEF\xBB\xBFhi \xE1\xA0\x8E")}),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n\xEF\xBB\xBFhi \xE1\xA0\x8E<|eot_id|>");
  EXPECT_EQ(t.render({usr(" \n\t ")}), "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|eot_id|>");
}

TEST(ChatTemplate, Qwen3ThinkingRules) {
  // Reasoning before the last user query is dropped; after it, each assistant
  // turn with reasoning (and the final one in any case) gets a <think> block.
  Conversation c = {usr("q1"), bot("<think>r1</think>a1"), usr("q2"), bot("\n<think>\nr2\n\n</think>\n\n\na2"),
                    {Role::Assistant, "a3", std::string("\nr3\n")}, bot("a4")};
  EXPECT_EQ(render_default("qwen3", c),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n"
            "<|im_start|>user\nq2<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nr2\n</think>\n\na2<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nr3\n</think>\n\na3<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\na4<|im_end|>\n");
  // A tool response is not a query: the last query is q, so "call" keeps its reasoning.
  Conversation tool = {usr("q"), {Role::Assistant, "call", std::string("r")},
                       usr("<tool_response>\n1\n</tool_response>"), bot("done")};
  EXPECT_EQ(builtin_template("qwen3").render(tool),
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\ncall<|im_end|>\n"
            "<|im_start|>user\n<tool_response>\n1\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\ndone<|im_end|>\n");
}

TEST(ChatTemplate, QwenIsPlainChatMl) {
  Conversation c = {usr("Hi"), bot("<think>kept</think>Hello")};
  EXPECT_EQ(render_default("qwen", c),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n<think>kept</think>Hello<|im_end|>\n");
  // Qwen2.5's own template writes its default system turn when there is none.
  const ChatTemplate& t = builtin_template("qwen");
  EXPECT_EQ(t.render(with_system_prompt(c, t, "")),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>kept</think>Hello<|im_end|>\n");
}

TEST(ChatTemplate, DeepSeek) {
  const std::string bos = "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
  const std::string eos = "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
  std::string text = render_default("deepseek", {usr("Hi"), bot("Hello"), usr("Bye"), bot("Ciao")});
  EXPECT_EQ(text, bos + "You are a helpful assistant.\n\nUser: Hi\n\nAssistant: Hello" + eos +
                      "User: Bye\n\nAssistant: Ciao" + eos);
  std::size_t a1 = text.find("Assistant:") + 10, a2 = text.rfind("Assistant:") + 10;
  EXPECT_EQ(builtin_template("deepseek").assistant_spans(text),
            (Spans{{a1, a1 + 6 + eos.size()}, {a2, a2 + 5 + eos.size()}}));
}

TEST(ChatTemplate, Phi3EndsWithEos) {
  std::string text = render_default("phi3", {usr("Hi"), bot("Hello")});
  EXPECT_EQ(text,
            "<|system|>\nYou are a helpful assistant.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello<|end|>\n"
            "<|endoftext|>");
  std::size_t begin = text.find("Hello");
  EXPECT_EQ(builtin_template("phi3").assistant_spans(text), (Spans{{begin, begin + 13}}));
}

TEST(ChatTemplate, Phi4) {
  std::string text = render_default("phi4", {usr("Hi"), bot("Hello")});
  EXPECT_EQ(text,
            "<|im_start|>system<|im_sep|>You are a helpful assistant.<|im_end|>"
            "<|im_start|>user<|im_sep|>Hi<|im_end|><|im_start|>assistant<|im_sep|>Hello<|im_end|>");
  std::size_t begin = text.find("Hello");
  EXPECT_EQ(builtin_template("phi4").assistant_spans(text), (Spans{{begin, begin + 15}}));
}

TEST(ChatTemplate, GemmaMergesSystemIntoFirstUserTurn) {
  const ChatTemplate& t = builtin_template("gemma");
  EXPECT_FALSE(t.system_prompt);
  EXPECT_EQ(t.render(with_system_prompt({usr(" Hi "), bot("Hello\n"), usr("Bye")}, t, std::nullopt)),
            "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n");
  // The system text is written verbatim; the turn's own content is trimmed.
  std::string text = t.render(with_system_prompt({usr(" Hi "), bot("Hello")}, t, " Be brief. "));
  EXPECT_EQ(text,
            "<bos><start_of_turn>user\n Be brief. \n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n");
  std::size_t begin = text.find("Hello");
  EXPECT_EQ(t.assistant_spans(text), (Spans{{begin, begin + 5 + 14}}));
}

TEST(ChatTemplate, GemmaRejectsWhatItsTemplateRejects) {
  const ChatTemplate& t = builtin_template("gemma");
  EXPECT_EQ(error_of([&] { t.render({bot("first")}); }),
            "chat template gemma: roles must alternate user/assistant starting with user; message 0 is assistant");
  EXPECT_EQ(error_of([&] { t.render({sys("s"), usr("a"), usr("b")}); }),
            "chat template gemma: roles must alternate user/assistant starting with user; message 2 is user");
  EXPECT_EQ(error_of([&] { t.render({usr("a"), sys("late")}); }),
            "chat template gemma: has no system role; only a first system message is supported (message 1)");
}

TEST(ChatTemplate, EmptyConversationRendersEmpty) {
  for (const std::string& name : builtin_template_names()) EXPECT_EQ(builtin_template(name).render({}), "") << name;
}

TEST(ChatTemplate, SystemPromptRule) {
  const ChatTemplate& t = builtin_template("qwen3");
  Conversation plain = {usr("Hi")};
  EXPECT_EQ(with_system_prompt(plain, t, std::nullopt).front().content, "You are a helpful assistant.");
  Conversation replaced = with_system_prompt(plain, t, std::string("Be brief."));
  ASSERT_EQ(replaced.size(), 2u);
  EXPECT_EQ(replaced[0].role, Role::System);
  EXPECT_EQ(replaced[0].content, "Be brief.");
  EXPECT_EQ(with_system_prompt(plain, t, std::string("")).size(), 1u);
  // The data's own system message wins over both the default and an override.
  Conversation own = {sys("Data's."), usr("Hi")};
  EXPECT_EQ(with_system_prompt(own, t, std::string("Be brief.")).front().content, "Data's.");
  EXPECT_EQ(with_system_prompt(own, t, std::nullopt).size(), 2u);
  // No default: nothing inserted unless overridden.
  EXPECT_EQ(with_system_prompt(plain, builtin_template("gemma"), std::nullopt).size(), 1u);
}

// The spans rule against std::regex running the same pattern (ECMAScript's
// `$` is end-of-input only, so Python's `$` is written as (?=\n?$)), on
// random texts built from the header, the end of turn, their prefixes and
// newlines, where lazy matching and Python's `$` matter.
std::string regex_escape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

Spans regex_spans(const ChatTemplate& t, const std::string& text) {
  std::regex re(regex_escape(t.assistant_header) + R"(([\s\S]*?(?:)" + regex_escape(t.end_of_turn) + R"(|(?=\n?$))))");
  Spans spans;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    auto begin = static_cast<std::size_t>(it->position(1));
    spans.emplace_back(begin, begin + static_cast<std::size_t>(it->length(1)));
  }
  return spans;
}

TEST(ChatTemplate, SpansMatchRegex) {
  std::mt19937 rng(7);
  for (const char* name : {"llama3", "qwen3", "phi3", "deepseek"}) {
    const ChatTemplate& t = builtin_template(name);
    const std::vector<std::string> pieces = {t.assistant_header, t.end_of_turn, t.assistant_header.substr(0, 3),
                                             t.end_of_turn.substr(0, 3), "\n", "\n\n", "x", "y z"};
    for (int trial = 0; trial < 1500; ++trial) {
      std::string text;
      for (int n = std::uniform_int_distribution<int>(0, 10)(rng); n > 0; --n) {
        text += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(rng)];
      }
      ASSERT_EQ(t.assistant_spans(text), regex_spans(t, text)) << name << ": " << json(text).dump();
    }
  }
}

TEST(ChatTemplate, SpansPythonDollar) {
  const ChatTemplate& t = builtin_template("llama3");
  const std::string h = t.assistant_header;
  // Unterminated last turn: `$` matches before a final "\n", so it is left out.
  EXPECT_EQ(t.assistant_spans(h + "abc\n"), (Spans{{h.size(), h.size() + 3}}));
  EXPECT_EQ(t.assistant_spans(h + "abc\n\n"), (Spans{{h.size(), h.size() + 4}}));
  EXPECT_EQ(t.assistant_spans(h + "abc"), (Spans{{h.size(), h.size() + 3}}));
  EXPECT_EQ(t.assistant_spans(h), (Spans{{h.size(), h.size()}}));
  EXPECT_EQ(t.assistant_spans("x" + h + "\n"), (Spans{{h.size() + 1, h.size() + 1}}));
  EXPECT_EQ(t.assistant_spans(h + "a<|eot_id|>b" + h + "c<|eot_id|>"),
            (Spans{{h.size(), h.size() + 11}, {2 * h.size() + 12, 2 * h.size() + 23}}));
  EXPECT_EQ(t.assistant_spans("no header here"), Spans{});
}

class TemplateFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text) { return scratch_.write("t" + std::to_string(count_++) + ".json", text); }
  std::string load_error(const std::string& text) {
    std::string path = write(text);
    std::string e = error_of([&] { load_template_file(path); });
    return e.rfind(path + ": ", 0) == 0 ? e.substr(path.size() + 2) : "file not named: " + e;
  }
  talon::testing::TempDir scratch_;
  int count_ = 0;
};

constexpr const char* kTurns = R"("system": {"header": "<s>", "end": "</s>\n"},
  "user": {"header": "<u>", "end": "</u>\n"}, "assistant": {"header": "<a>", "end": "</a>\n"})";

TEST_F(TemplateFile, LoadsAllFields) {
  std::string path = write(std::string(R"({"name": "mine", "system_prompt": "Hello.", "bos": "<B>", "eos": "<E>",)") +
                           kTurns +
                           R"(, "trim_content": true, "system_style": "merge", "implicit_system_prompt": null,
                               "alternate_roles": true, "thinking": "qwen3", "assistant_header": "<a>",
                               "end_of_turn": "</a>"})");
  ChatTemplate t = resolve_template({path}, "");
  EXPECT_EQ(t.name, "mine");
  EXPECT_EQ(t.system_prompt, std::optional<std::string>("Hello."));
  EXPECT_EQ(t.end_of_turn, "</a>");
  std::string text = t.render(with_system_prompt({usr(" q "), bot("<think>r</think>a")}, t, std::nullopt));
  EXPECT_EQ(text, "<B><u><s>Hello.</s>\nq</u>\n<a><think>\nr\n</think>\n\na</a>\n<E>");
  EXPECT_EQ(t.assistant_spans(text), (Spans{{text.find("<think>"), text.find("</a>") + 4}}));
}

TEST_F(TemplateFile, Defaults) {
  ChatTemplate t = load_template_file(write(std::string(R"({"name": "min",)") + kTurns + "}"));
  EXPECT_FALSE(t.system_prompt);
  EXPECT_EQ(t.bos, "");
  EXPECT_FALSE(t.trim_content);
  EXPECT_EQ(t.system_style, SystemStyle::Turn);
  EXPECT_FALSE(t.implicit_system_prompt);
  EXPECT_FALSE(t.alternate_roles);
  EXPECT_EQ(t.thinking, ThinkingStyle::None);
  EXPECT_EQ(t.assistant_header, "<a>");
  EXPECT_EQ(t.end_of_turn, "</a>\n");
  EXPECT_EQ(t.render({sys("s"), usr("q"), bot(" a ")}), "<s>s</s>\n<u>q</u>\n<a> a </a>\n");
}

TEST_F(TemplateFile, Errors) {
  const std::string turns = kTurns;
  EXPECT_EQ(load_error("{").substr(0, 48), "not valid JSON: [json.exception.parse_error.101]");
  EXPECT_EQ(load_error("[]"), "expected an object, found []");
  // 10^5 nested arrays crashed the reader.
  EXPECT_EQ(load_error(R"({"name": )" + talon::testing::nested_arrays() + "}"),
            "nested deeper than 512 levels of arrays and objects (Talon's limit)");
  EXPECT_EQ(load_error("{" + turns + "}"), "missing field \"name\"");
  EXPECT_EQ(load_error(R"({"name": ""})"), "field \"name\" is empty");
  EXPECT_EQ(load_error(R"({"name": 3})"), "field \"name\": expected a string, found 3");
  EXPECT_EQ(load_error(R"({"name": "x", "user": {"header": "", "end": ""}})"), "missing field \"system\"");
  EXPECT_EQ(load_error(R"({"name": "x", "system": "s"})"), "field \"system\": expected an object, found \"s\"");
  EXPECT_EQ(load_error(R"({"name": "x", "system": {"header": 1, "end": ""}})"),
            "field \"system.header\": expected a string, found 1");
  EXPECT_EQ(load_error(R"({"name": "x", "system": {"header": ""}})"), "missing field \"system.end\"");
  EXPECT_EQ(load_error(R"({"name": "x", "system": {"header": "", "end": "", "begin": ""}})"),
            "unknown field \"system.begin\" (known: end, header)");
  EXPECT_EQ(load_error(R"({"name": "x", "sytem_prompt": "hi", )" + turns + "}"),
            "unknown field \"sytem_prompt\" (known: alternate_roles, assistant, assistant_header, bos, end_of_turn, "
            "eos, implicit_system_prompt, name, system, system_prompt, system_style, thinking, trim_content, user)");
  EXPECT_EQ(load_error(R"({"name": "x", "thinking": "deepseek", )" + turns + "}"),
            "field \"thinking\": expected one of \"none\", \"qwen3\", found \"deepseek\"");
  EXPECT_EQ(load_error(R"({"name": "x", "trim_content": "yes", )" + turns + "}"),
            "field \"trim_content\": expected true or false, found \"yes\"");
  EXPECT_EQ(load_error(R"({"name": "x", "system_prompt": 1, )" + turns + "}"),
            "field \"system_prompt\": expected a string, found 1");
  EXPECT_EQ(load_error(R"({"name": "x", "end_of_turn": "", )" + turns + "}"),
            "field \"end_of_turn\" (default: assistant.end) is empty");
  EXPECT_EQ(load_error(R"({"name": "x", "assistant_header": "", )" + turns + "}"),
            "field \"assistant_header\" (default: assistant.header) is empty");
  std::string missing = scratch_.file("absent.json");
  EXPECT_NE(error_of([&] { resolve_template({missing}, ""); }).find(missing), std::string::npos);
}

// The registry name picks the markers and the default system prompt; the
// text is the tokenizer's own template's: `--chat-template qwen` (Qwen2.5's
// entry) on the Qwen3 tokenizer renders what apply_chat_template renders
// for Qwen3 (the goldens), spans included, where the built-in Qwen2.5
// renderer does not.
TEST(ChatTemplate, RegistryNameRendersWithTheTokenizersOwnTemplate) {
  const std::string dir = std::string(TALON_TEST_DATA) + "/templates/";
  const std::vector<json> conversations = read_jsonl(dir + "conversations.jsonl");
  const std::vector<json> goldens = read_jsonl(dir + "qwen3.golden.jsonl");
  ChatTemplateSettings settings{"qwen"};
  const ChatTemplate trained = resolve_template(settings, talon::testing::kQwenTokenizerDir);
  settings.supervise_empty_think = true;
  const ChatTemplate all_spans = resolve_template(settings, talon::testing::kQwenTokenizerDir);
  ASSERT_TRUE(trained.hf);
  const std::string empty_think = "<think>\n\n</think>\n\n";
  std::size_t differs_from_builtin = 0, empty_thinks = 0;
  for (std::size_t i = 0; i < conversations.size(); ++i) {
    const Conversation c = with_system_prompt(parse_conversation(conversations[i]), trained, std::nullopt);
    const std::string expected = goldens[i].at("text").get<std::string>();
    const Spans expected_spans = goldens[i].at("spans").get<Spans>();
    const SupervisedText supervised = trained.render_supervised(c);
    EXPECT_EQ(supervised.text, expected) << "conversation " << i;
    EXPECT_EQ(all_spans.render_supervised(c).spans, expected_spans) << "conversation " << i;
    // By default a span opening with the empty think block starts after it.
    Spans without_think = expected_spans;
    for (auto& [begin, end] : without_think) {
      if (expected.compare(begin, empty_think.size(), empty_think) == 0) {
        begin += empty_think.size();
        ++empty_thinks;
      }
    }
    EXPECT_EQ(supervised.spans, without_think) << "conversation " << i;
    differs_from_builtin += builtin_template("qwen").render(c) != expected;
  }
  EXPECT_GT(empty_thinks, 10u);
  EXPECT_GT(differs_from_builtin, 10u);
}

// A .jinja template's markers are read off its own renderings; for the real
// Llama 3.1 and Qwen3 templates they are SpecForge's registry markers.
TEST(ChatTemplate, JinjaFileMarkersAreReadOffItsRenderings) {
  const std::string dir = std::string(TALON_TEST_DATA) + "/templates/hf/";
  const ChatTemplate qwen3 = resolve_template({dir + "qwen3.jinja"}, talon::testing::kQwenTokenizerDir);
  EXPECT_EQ(qwen3.assistant_header, builtin_template("qwen3").assistant_header);
  EXPECT_EQ(qwen3.end_of_turn, builtin_template("qwen3").end_of_turn);
  EXPECT_FALSE(qwen3.system_prompt);
  const ChatTemplate llama = resolve_template({dir + "llama3_1.jinja"}, talon::testing::kLlamaTokenizerDir);
  EXPECT_EQ(llama.assistant_header, builtin_template("llama3").assistant_header);
  EXPECT_EQ(llama.end_of_turn, builtin_template("llama3").end_of_turn);
}

TEST(ChatTemplate, MarkersThatDoNotMarkTheRepliesAreRefused) {
  const std::string error =
      error_of([] { resolve_template({"llama3"}, talon::testing::kQwenTokenizerDir); });
  EXPECT_NE(error.find("chat template 'llama3': its assistant header "
                       "\"<|start_header_id|>assistant<|end_header_id|>\\n\\n\" and end of turn \"<|eot_id|>\" do "
                       "not mark the replies in what " +
                       talon::testing::kQwenTokenizerDir + "/tokenizer_config.json renders"),
            std::string::npos)
      << error;
}

TEST(ChatTemplate, BuiltinTemplatesRefuseToolCalls) {
  const Conversation c = parse_conversation(json::parse(R"({"messages": [
      {"role": "user", "content": "Weather?"},
      {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": {}}}]},
      {"role": "tool", "content": "19 C"}]})"));
  EXPECT_FALSE(c[1].has_content);
  EXPECT_EQ(c[2].role, Role::Tool);
  EXPECT_NE(error_of([&] { builtin_template("llama3").render(c); }).find("renders text turns only"),
            std::string::npos);
}

TEST(ChatTemplate, KwargsNeedAJinjaTemplate) {
  talon::testing::TempDir scratch;
  ChatTemplateSettings settings{"llama3"};
  settings.kwargs = {{"enable_thinking", false}};
  EXPECT_NE(error_of([&] { resolve_template(settings, scratch.path().string()); })
                .find("--chat-template-kwargs: chat template 'llama3' is not a Jinja template"),
            std::string::npos);
}

}  // namespace
}  // namespace talon::text
