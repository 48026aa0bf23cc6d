// util/json_fields.h and util/json_file.h: every typed read, what it accepts,
// and the exact text of each error (file, field path, expected vs found).
#include "talon/util/json_fields.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "talon/util/error.h"
#include "talon/util/json_file.h"
#include "test_support.h"

namespace talon::util {
namespace {

using nlohmann::json;
using talon::testing::error_of;

enum class Color { Red, Green };

// A reader over `value` in the file "f.json", at `path` ("" for the root).
JsonFields fields_of(const json& value, const std::string& path = "") {
  return JsonFields(value, JsonLocation("f.json", path));
}

TEST(JsonLocation, NamesFileAndPath) {
  JsonLocation root("f.json");
  EXPECT_EQ(root.str(), "f.json");
  EXPECT_EQ((root / "model" / "merges" / 3).str(), "f.json: field \"model.merges[3]\"");
  EXPECT_EQ((root / 0 / "a").path(), "[0].a");
  // Keys are JSON-quoted, so a key holding a quote stays readable.
  EXPECT_EQ((root / "vocab" / "say \"hi\"").str(), R"(f.json: field "vocab.say \"hi\"")");
  // With no file (a JSONL record), the caller adds "file:line: " in front.
  EXPECT_EQ((JsonLocation() / "messages" / 1).str(), "field \"messages[1]\"");
  EXPECT_EQ(JsonLocation().str(), "");
}

TEST(JsonLocation, FailExpected) {
  EXPECT_EQ(error_of([] { (JsonLocation("f.json") / "a").fail_expected("a string", json(3)); }),
            "f.json: field \"a\": expected a string, found 3");
  EXPECT_EQ(error_of([] { JsonLocation("<stdin>:2").fail_expected("a JSON string", json::array({1, 2})); }),
            "<stdin>:2: expected a JSON string, found [1,2]");
  EXPECT_EQ(error_of([] { JsonLocation().fail_expected("an object", json::array()); }),
            "expected an object, found []");
}

TEST(JsonExcerpt, ShowsShortValuesWhole) {
  EXPECT_EQ(json_excerpt(json(nullptr)), "null");
  EXPECT_EQ(json_excerpt(json(false)), "false");
  EXPECT_EQ(json_excerpt(json(-2.5)), "-2.5");
  EXPECT_EQ(json_excerpt(json("yes")), "\"yes\"");
  EXPECT_EQ(json_excerpt(json::parse(R"({"b": [1, 2], "a": null})")), R"({"a":null,"b":[1,2]})");
}

TEST(JsonExcerpt, CutsLongValuesOnACodePointBoundary) {
  // "\"" + 39 x "é" (2 bytes each) = 79 bytes; the 80-byte cut falls inside the 40th "é".
  std::string e_acute = "\xC3\xA9";
  std::string text;
  for (int i = 0; i < 60; ++i) text += e_acute;
  std::string expected = "\"";
  for (int i = 0; i < 39; ++i) expected += e_acute;
  EXPECT_EQ(json_excerpt(json(text)), expected + "...");
  EXPECT_EQ(json_excerpt(json(std::string(200, 'x'))), "\"" + std::string(79, 'x') + "...");
}

TEST(JsonExcerpt, ReplacesInvalidUtf8) {
  // Possible only in a json built in code: json::parse rejects invalid UTF-8.
  EXPECT_EQ(json_excerpt(json("a\xFF")), "\"a\xEF\xBF\xBD\"");
}

TEST(JsonFields, MustBeAnObject) {
  EXPECT_EQ(error_of([] { fields_of(json::array({1})); }), "f.json: expected an object, found [1]");
  EXPECT_EQ(error_of([] { fields_of(json(8), "rope_scaling"); }),
            "f.json: field \"rope_scaling\": expected an object, found 8");
}

TEST(JsonFields, FindTreatsNullAsAbsent) {
  json value = json::parse(R"({"a": 1, "n": null})");
  JsonFields fields = fields_of(value);
  ASSERT_NE(fields.find("a"), nullptr);
  EXPECT_EQ(*fields.find("a"), 1);
  EXPECT_EQ(fields.find("n"), nullptr);
  EXPECT_EQ(fields.find("absent"), nullptr);
  EXPECT_EQ(&fields.value(), &value);
  EXPECT_EQ(fields.required("a"), 1);
  EXPECT_EQ(error_of([&] { fields.required("n"); }), "f.json: missing field \"n\"");
}

TEST(JsonFields, MissingFieldNamesTheFullPath) {
  json value = json::parse(R"({"inner": {}})");
  JsonFields inner = fields_of(value, "outer.list[2]").required_object("inner");
  EXPECT_EQ(error_of([&] { inner.required_string("content"); }),
            "f.json: missing field \"outer.list[2].inner.content\"");
  EXPECT_EQ(error_of([] { JsonFields(json::object(), JsonLocation()).required("messages"); }),
            "missing field \"messages\"");
}

TEST(JsonFields, String) {
  json value = json::parse(R"({"s": "text", "n": 3})");
  JsonFields fields = fields_of(value);
  EXPECT_EQ(fields.string("s"), "text");
  EXPECT_EQ(fields.string("absent"), std::nullopt);
  EXPECT_EQ(fields.required_string("s"), "text");
  EXPECT_EQ(error_of([&] { fields.string("n"); }), "f.json: field \"n\": expected a string, found 3");
  EXPECT_EQ(error_of([&] { fields.required_string("absent"); }), "f.json: missing field \"absent\"");
}

TEST(JsonFields, Boolean) {
  json value = json::parse(R"({"t": true, "f": false, "s": "yes"})");
  JsonFields fields = fields_of(value);
  EXPECT_EQ(fields.boolean("t"), true);
  EXPECT_EQ(fields.boolean("f"), false);
  EXPECT_EQ(fields.boolean("absent"), std::nullopt);
  EXPECT_EQ(error_of([&] { fields.boolean("s"); }), "f.json: field \"s\": expected true or false, found \"yes\"");
}

TEST(JsonFields, IntegerWithAMinimum) {
  json value = json::parse(R"({"one": 1, "zero": 0, "big": 9223372036854775807, "fraction": 4096.5,
                               "whole_float": 4096.0, "too_big": 9223372036854775808, "text": "4096"})");
  JsonFields fields = fields_of(value);
  EXPECT_EQ(fields.integer("one", 1), 1);
  EXPECT_EQ(fields.integer("zero", 0), 0);
  EXPECT_EQ(fields.integer("big", 0), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(fields.integer("absent", 1), std::nullopt);
  EXPECT_EQ(fields.required_integer("one", -5), 1);
  EXPECT_EQ(error_of([&] { fields.integer("zero", 1); }), "f.json: field \"zero\": expected an integer >= 1, found 0");
  EXPECT_EQ(error_of([&] { fields.integer("fraction", 1); }),
            "f.json: field \"fraction\": expected an integer >= 1, found 4096.5");
  // Hugging Face writes integers as integers; 4096.0 is a float in JSON.
  EXPECT_EQ(error_of([&] { fields.integer("whole_float", 1); }),
            "f.json: field \"whole_float\": expected an integer >= 1, found 4096.0");
  EXPECT_EQ(error_of([&] { fields.integer("too_big", 0); }),
            "f.json: field \"too_big\": expected an integer >= 0, found 9223372036854775808");
  EXPECT_EQ(error_of([&] { fields.integer("text", 1); }),
            "f.json: field \"text\": expected an integer >= 1, found \"4096\"");
  EXPECT_EQ(error_of([&] { fields.required_integer("absent", 1); }), "f.json: missing field \"absent\"");
}

TEST(JsonFields, IntegerWithAMaximum) {
  json value = json::parse(R"({"one": 1, "huge": 1099511627776})");
  JsonFields fields = fields_of(value);
  EXPECT_EQ(fields.integer("one", 1, 1), 1);
  EXPECT_EQ(fields.required_integer("huge", 1, std::int64_t(1) << 40), std::int64_t(1) << 40);
  EXPECT_EQ(error_of([&] { fields.integer("huge", 1, 262144); }),
            "f.json: field \"huge\": expected at most 262144, found 1099511627776");
  EXPECT_EQ(error_of([&] { fields.required_integer("one", 2, 8); }),
            "f.json: field \"one\": expected an integer >= 2, found 1");
}

TEST(JsonFields, PositiveNumber) {
  json value = json::parse(R"({"half": 0.5, "int": 8, "zero": 0, "negative": -1e-9, "text": "1"})");
  JsonFields fields = fields_of(value);
  EXPECT_EQ(fields.positive_number("half"), 0.5);
  EXPECT_EQ(fields.positive_number("int"), 8.0);
  EXPECT_EQ(fields.positive_number("absent"), std::nullopt);
  EXPECT_EQ(fields.required_positive_number("half"), 0.5);
  EXPECT_EQ(error_of([&] { fields.positive_number("zero"); }),
            "f.json: field \"zero\": expected a positive number, found 0");
  EXPECT_EQ(error_of([&] { fields.positive_number("negative"); }),
            "f.json: field \"negative\": expected a positive number, found -1e-09");
  EXPECT_EQ(error_of([&] { fields.positive_number("text"); }),
            "f.json: field \"text\": expected a positive number, found \"1\"");
  EXPECT_EQ(error_of([&] { fields.required_positive_number("absent"); }), "f.json: missing field \"absent\"");
}

TEST(JsonFields, ObjectReadsCarryTheirPath) {
  json value = json::parse(R"({"rope": {"factor": -1}, "list": [1], "n": null})");
  JsonFields fields = fields_of(value);
  std::optional<JsonFields> rope = fields.object("rope");
  ASSERT_TRUE(rope.has_value());
  EXPECT_EQ(rope->where().path(), "rope");
  EXPECT_EQ(&rope->value(), &value["rope"]);
  EXPECT_EQ(error_of([&] { rope->positive_number("factor"); }),
            "f.json: field \"rope.factor\": expected a positive number, found -1");
  EXPECT_FALSE(fields.object("n").has_value());
  EXPECT_FALSE(fields.object("absent").has_value());
  EXPECT_EQ(error_of([&] { fields.object("list"); }), "f.json: field \"list\": expected an object, found [1]");
  EXPECT_EQ(fields.required_object("rope").where().path(), "rope");
  EXPECT_EQ(error_of([&] { fields.required_object("absent"); }), "f.json: missing field \"absent\"");
}

TEST(JsonFields, RequiredArray) {
  json value = json::parse(R"({"merges": ["a b"], "vocab": {}})");
  JsonFields fields = fields_of(value, "model");
  EXPECT_EQ(fields.required_array("merges"), json::array({"a b"}));
  EXPECT_EQ(error_of([&] { fields.required_array("vocab"); }),
            "f.json: field \"model.vocab\": expected an array, found {}");
  EXPECT_EQ(error_of([&] { fields.required_array("absent"); }), "f.json: missing field \"model.absent\"");
}

TEST(JsonFields, Choice) {
  json value = json::parse(R"({"red": "red", "green": "green", "blue": "blue", "number": 1})");
  JsonFields fields = fields_of(value);
  auto color = [&](const char* key) {
    return fields.choice<Color>(key, {{"red", Color::Red}, {"green", Color::Green}});
  };
  EXPECT_EQ(color("red"), Color::Red);
  EXPECT_EQ(color("green"), Color::Green);
  EXPECT_EQ(color("absent"), std::nullopt);
  EXPECT_EQ(error_of([&] { color("blue"); }),
            "f.json: field \"blue\": expected one of \"red\", \"green\", found \"blue\"");
  EXPECT_EQ(error_of([&] { color("number"); }), "f.json: field \"number\": expected a string, found 1");
}

TEST(JsonFields, RejectUnknownListsTheFieldsAskedFor) {
  json value = json::parse(R"({"name": "x", "bos": null, "sytem_prompt": "hi"})");
  JsonFields fields = fields_of(value);
  fields.required_string("name");
  fields.string("system_prompt");
  fields.string("bos");
  EXPECT_EQ(error_of([&] { fields.reject_unknown(); }),
            "f.json: unknown field \"sytem_prompt\" (known: bos, name, system_prompt)");
  fields.string("sytem_prompt");
  EXPECT_NO_THROW(fields.reject_unknown());

  // A field set to null is still a field: an unknown one is rejected.
  json nested = json::parse(R"({"header": "<u>", "begin": null})");
  JsonFields turn = fields_of(nested, "user");
  turn.required_string("header");
  EXPECT_EQ(error_of([&] { turn.reject_unknown(); }), "f.json: unknown field \"user.begin\" (known: header)");
}

TEST(JsonFields, FailFieldShowsTheFieldsValue) {
  json value = json::parse(R"({"hidden_act": "gelu"})");
  JsonFields fields = fields_of(value, "config");
  EXPECT_EQ(error_of([&] { fields.fail_field("hidden_act", "\"silu\""); }),
            "f.json: field \"config.hidden_act\": expected \"silu\", found \"gelu\"");
  EXPECT_EQ(error_of([&] { fields.fail_field("absent", "a value"); }),
            "f.json: field \"config.absent\": expected a value, found null");
  EXPECT_EQ(error_of([&] { fields.fail_missing("architectures"); }),
            "f.json: missing field \"config.architectures\"");
}

TEST(JsonFile, ParsesValidJson) {
  std::string text = R"({"a": {"b": [1, 2.5, "x", null, true]}, "c": {}})";
  EXPECT_EQ(parse_json(text, "f.json"), json::parse(text));
  // The same key in different objects is not a duplicate.
  EXPECT_EQ(parse_json(R"({"a": {"k": 1}, "b": {"k": 2}, "k": 3})", "f.json")["b"]["k"], 2);
}

TEST(JsonFile, RejectsDuplicateKeysNamingTheirPath) {
  EXPECT_EQ(error_of([] { parse_json(R"({"hidden_size": 1, "hidden_size": 2})", "f.json"); }),
            "f.json: duplicate key \"hidden_size\"");
  EXPECT_EQ(error_of([] { parse_json(R"({"w": {"dtype": "F32", "shape": [], "dtype": "F16"}})", "f.json"); }),
            "f.json: duplicate key \"dtype\" in \"w\"");
  EXPECT_EQ(error_of([] { parse_json(R"([{"a": {"b": {"c": 1, "c": 1}}}])", "f.json"); }),
            "f.json: duplicate key \"c\" in \"a.b\"");
  // The first repeated key in the text is named, not the first object to close.
  EXPECT_EQ(error_of([] { parse_json(R"({"x": 1, "x": 2, "y": {"z": 1, "z": 2}})", "f.json"); }),
            "f.json: duplicate key \"x\"");
}

TEST(JsonFile, RejectsInvalidJson) {
  std::string message = error_of([] { parse_json(R"({"a": )", "f.json"); });
  EXPECT_EQ(message.rfind("f.json: not valid JSON: [json.exception.parse_error.101]", 0), 0u) << message;
  // Found by fuzzing the tokenizer: nlohmann throws out_of_range, not parse_error.
  message = error_of([] { parse_json(R"({"version": 1e999})", "f.json"); });
  EXPECT_EQ(message.rfind("f.json: not valid JSON: [json.exception.out_of_range.406]", 0), 0u) << message;
}

TEST(JsonFile, BoundsNesting) {
  using talon::testing::nested_arrays;
  const std::string limit = "nested deeper than 512 levels of arrays and objects (Talon's limit)";
  EXPECT_EQ(parse_json(nested_arrays(512), "f.json"), json::parse(nested_arrays(512)));
  EXPECT_EQ(error_of([&] { parse_json(nested_arrays(513), "f.json"); }), "f.json: " + limit);
  // Objects count as levels too, and a deep value fails before it is closed.
  std::string objects;
  for (int i = 0; i < 513; ++i) objects += R"({"k":)";
  EXPECT_EQ(error_of([&] { parse_json(objects, "f.json"); }), "f.json: " + limit);
  // 10^5 levels: a crash before, whatever came after the parse.
  EXPECT_EQ(error_of([&] { parse_json(nested_arrays(), "f.json"); }), "f.json: " + limit);
  EXPECT_EQ(error_of([&] { parse_ordered_json(nested_arrays(), "f.json"); }), "f.json: " + limit);
  // An unnamed source (a JSONL line whose reader names it) gets no prefix.
  EXPECT_EQ(error_of([&] { parse_json(nested_arrays(), ""); }), limit);
}

TEST(JsonFile, OrderedParsingKeepsKeyOrderAndRefusesDuplicates) {
  EXPECT_EQ(parse_ordered_json(R"({"b": 1, "a": {"d": 2, "c": 3}})", "f.json").dump(), R"({"b":1,"a":{"d":2,"c":3}})");
  EXPECT_EQ(error_of([] { parse_ordered_json(R"({"m": [{"role": 1, "role": 2}]})", ""); }),
            "duplicate key \"role\" in \"m\"");
}

TEST(JsonFields, ExcerptsOfDeepValuesStopAfterEightyBytes) {
  // Built in code, where no parser bounds the depth: 10^5 levels.
  json deep = json::array();
  json* inner = &deep;
  for (int i = 0; i < 100000; ++i) inner = &inner->emplace_back(json::array());
  EXPECT_EQ(json_excerpt(deep), std::string(80, '[') + "...");
  // The bounded printer writes what dump() writes, up to the cut.
  json mixed = json::parse(R"({"a": [1, {"b": "\u00e9\n", "c": null}], "d": [[]], "e": {}})");
  EXPECT_EQ(json_excerpt(mixed), mixed.dump());
  json wide = json::array();
  for (int i = 0; i < 100; ++i) wide.push_back({{"key", i}});
  EXPECT_EQ(json_excerpt(wide), wide.dump().substr(0, 80) + "...");
}

TEST(JsonFile, LoadsFilesAndNamesThem) {
  talon::testing::TempDir dir;
  std::string path = dir.write("config.json", R"({"a": [1]})");
  EXPECT_EQ(load_json_file(path), json::parse(R"({"a": [1]})"));
  path = dir.write("dup.json", R"({"a": 1, "a": 1})");
  EXPECT_EQ(error_of([&] { load_json_file(path); }), path + ": duplicate key \"a\"");
  std::string absent = dir.file("absent.json");
  EXPECT_NE(error_of([&] { load_json_file(absent); }).find(absent), std::string::npos);
}

}  // namespace
}  // namespace talon::util
