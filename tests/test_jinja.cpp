// The Jinja interpreter against Jinja2 itself: every snippet of
// tests/data/templates/jinja_snippets.golden.jsonl (rendered by
// scripts/goldens/make_jinja_goldens.py with transformers' compiled
// environment) renders to the same bytes and generation spans, or fails
// where Jinja2 fails; errors name the template and line.
#include "talon/text/jinja.h"

#include <gtest/gtest.h>

#include <fstream>

#include "talon/util/error.h"

namespace talon::text::jinja {
namespace {

using nlohmann::ordered_json;
using Spans = std::vector<std::pair<std::size_t, std::size_t>>;

std::vector<ordered_json> read_lines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::vector<ordered_json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(ordered_json::parse(line));
  return lines;
}

std::string error_of(const std::string& source, const ordered_json& context, const std::string& name = "t.jinja") {
  try {
    Template(source, name).render(context);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Jinja, SnippetsRenderAsJinja2) {
  std::vector<ordered_json> lines = read_lines(std::string(TALON_TEST_DATA) + "/templates/jinja_snippets.golden.jsonl");
  ASSERT_GE(lines.size(), 250u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const ordered_json& line = lines[i];
    auto source = line.at("template").get<std::string>();
    SCOPED_TRACE("snippet " + std::to_string(i + 1) + ": " + ordered_json(source).dump());
    if (line.contains("error")) {
      auto expected = line.at("error").get<std::string>();
      std::string message = error_of(source, line.at("context"), "snippet.jinja");
      EXPECT_NE(message, "") << "Jinja2 failed with " << expected;
      const std::string raised = "TemplateError: ";
      if (expected.rfind(raised, 0) == 0) {
        EXPECT_NE(message.find(expected.substr(raised.size())), std::string::npos) << message;
      }
      continue;
    }
    try {
      Template t(source, "snippet.jinja");
      Rendered r = t.render(line.at("context"));
      EXPECT_EQ(ordered_json(r.text).dump(), ordered_json(line.at("text")).dump());
      if (line.contains("generation_spans")) {
        EXPECT_TRUE(t.has_generation_blocks());
        EXPECT_EQ(r.generation_spans, line.at("generation_spans").get<Spans>());
      }
    } catch (const Error& e) {
      ADD_FAILURE() << "threw: " << e.what();
    }
  }
}

TEST(Jinja, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(error_of("a\n{% if x %}\nb\n{% for y in z %}\n", {}, "qwen3.jinja"),
            "qwen3.jinja:4: expected 'endfor' or 'else' to close the 'for' of line 4, found end of template");
  EXPECT_EQ(error_of("{% if x %}\n\n{% endfor %}", {}),
            "t.jinja:3: Encountered unknown tag 'endfor'; expected 'elif', 'else' or 'endif' to close the 'if' of line 1");
  EXPECT_EQ(error_of("\n{{ 1 + }}", {}), "t.jinja:2: expected an expression, found end of print statement");
  EXPECT_EQ(error_of("{{ x|nope }}", {}), "t.jinja:1: No filter named 'nope'.");
  EXPECT_EQ(error_of("\n\n{% include 'x' %}", {}),
            "t.jinja:3: 'include' is not supported in chat templates: a template is one self-contained string");
}

TEST(Jinja, RuntimeErrorsNameTheLine) {
  ordered_json context = {{"messages", ordered_json::array({{{"role", "system"}}})}};
  EXPECT_EQ(error_of("x\n{{ raise_exception('roles must alternate') }}", context),
            "t.jinja:2: roles must alternate");
  EXPECT_EQ(error_of("{% for m in messages %}\n\n{{ m.content.strip() }}{% endfor %}", context),
            "t.jinja:3: UndefinedError: 'dict object' has no attribute 'content'");
  EXPECT_EQ(error_of("\n{{ messages.append(1) }}", context),
            "t.jinja:2: SecurityError: access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(error_of("{{ 1 +\n'a' }}", context), "t.jinja:1: TypeError: unsupported operand type(s) for +: 'int' and 'str'");
}

// Runaway recursion and nesting fail with an error instead of exhausting the
// stack (Jinja2 stops at Python's recursion limit).
TEST(Jinja, RecursionAndNestingAreBounded) {
  EXPECT_EQ(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}", ordered_json::object()),
            "t.jinja:1: RecursionError: macro calls nested deeper than 200");
  EXPECT_EQ(error_of("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(150) }}", ordered_json::object()), "");
  EXPECT_EQ(error_of("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}", ordered_json::object()),
            "t.jinja:1: nesting deeper than 200 levels");
  EXPECT_EQ(error_of(std::string(5000, '{') + "% if x %}", ordered_json::object()), "t.jinja:1: nesting deeper than 200 levels");
}

// Python's ints are unbounded and its powers can be complex; Talon's ints are
// 64-bit and it has no complex numbers: it refuses rather than diverge.
TEST(Jinja, NumbersPythonHasAndTalonNotAreRefused) {
  EXPECT_EQ(error_of("{{ (-8) ** 0.5 }}", ordered_json::object()),
            "t.jinja:1: ValueError: a negative number to a fractional power is complex in Python; Talon does not "
            "compute it");
  const std::string overflow = "OverflowError: the integer result does not fit in 64 bits (Python's would)";
  EXPECT_EQ(error_of("{{ 2 ** 63 }}", ordered_json::object()), "t.jinja:1: " + overflow);
  EXPECT_EQ(error_of("{{ n + 1 }}", {{"n", INT64_MAX}}), "t.jinja:1: " + overflow);
  EXPECT_EQ(error_of("{{ n * -2 }}", {{"n", INT64_MIN}}), "t.jinja:1: " + overflow);
  EXPECT_EQ(error_of("{{ 1e20|int }}", ordered_json::object()),
            "t.jinja:1: OverflowError: int(1e+20) does not fit in 64 bits (Python's would)");
  EXPECT_EQ(error_of("{{ (-1) ** 1000000000000 }}{{ 0 ** 99 }}{{ (-2) ** 63 }}", ordered_json::object()), "");
  EXPECT_EQ(error_of("{{ n }}", {{"n", UINT64_MAX}}),
            "t.jinja: the context holds the integer 18446744073709551615, beyond the 64-bit integers templates "
            "compute with");
}

TEST(Jinja, InvalidUtf8IsRefused) {
  EXPECT_EQ(error_of("ok \xff", {}), "t.jinja: the template is not valid UTF-8 (byte 3)");
}

}  // namespace
}  // namespace talon::text::jinja
