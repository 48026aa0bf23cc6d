#include "talon/text/pre_tokenizer.h"

#include "talon/util/error.h"

namespace talon::text {

using nlohmann::json;
using util::JsonFields;
using util::JsonLocation;

namespace {

// GPT-2's pattern, which ByteLevel applies itself when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr int kMaxDepth = 32;  // nested Sequences; bounds the recursion

struct Stages {
  std::vector<Regex> splits;
  bool byte_level = false;
  bool add_prefix_space = false;
  bool use_regex = false;
};

Regex split_regex(const JsonFields& split) {
  const JsonLocation& where = split.where();
  std::string behavior = split.required_string("behavior");
  if (behavior != "Isolated") {
    fail("{}: Split behavior \"{}\" is not supported (Talon supports \"Isolated\")", (where / "behavior").str(),
         behavior);
  }
  if (split.boolean("invert").value_or(false)) {
    fail("{}: Split with invert=true is not supported", (where / "invert").str());
  }
  JsonFields pattern = split.required_object("pattern");
  std::string pattern_where = pattern.where().str();
  if (std::optional<std::string> regex = pattern.string("Regex")) return Regex::onig(*regex, pattern_where);
  if (std::optional<std::string> literal = pattern.string("String")) return Regex::literal(*literal, pattern_where);
  pattern.where().fail_expected("{\"Regex\": ...} or {\"String\": ...}", pattern.value());
}

void add_stage(const json& spec, const JsonLocation& where, int depth, Stages& stages) {
  if (depth > kMaxDepth) fail("{}: Sequences nested deeper than {}", where.str(), kMaxDepth);
  JsonFields fields(spec, where);
  std::string type = fields.required_string("type");
  if (stages.byte_level) {
    fail("{}: a {} pre-tokenizer after ByteLevel is not supported (ByteLevel must come last)", where.str(), type);
  }
  if (type == "Sequence") {
    const json& list = fields.required_array("pretokenizers");
    for (std::size_t i = 0; i < list.size(); ++i) {
      add_stage(list[i], where / "pretokenizers" / i, depth + 1, stages);
    }
  } else if (type == "Split") {
    stages.splits.push_back(split_regex(fields));
  } else if (type == "ByteLevel") {
    stages.byte_level = true;
    stages.add_prefix_space = fields.boolean("add_prefix_space").value_or(true);
    stages.use_regex = fields.boolean("use_regex").value_or(true);
  } else {
    fail(
        "{}: pre-tokenizer type \"{}\" is not supported (Talon supports Split, ByteLevel and "
        "Sequence)",
        (where / "type").str(), type);
  }
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const json& spec, const JsonLocation& where) {
  Stages stages;
  if (!spec.is_null()) add_stage(spec, where, 0, stages);
  if (!stages.byte_level) {
    fail(
        "{}: expected a ByteLevel pre-tokenizer (last, alone or in a Sequence): Talon supports "
        "byte-level BPE only",
        where.str());
  }
  PreTokenizer p;
  p.splits_ = std::move(stages.splits);
  p.add_prefix_space_ = stages.add_prefix_space;
  if (stages.use_regex) p.byte_level_regex_ = Regex::onig(kGpt2Pattern, (where / "use_regex").str());
  return p;
}

}  // namespace talon::text
