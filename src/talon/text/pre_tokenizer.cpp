#include "talon/text/pre_tokenizer.h"

#include "talon/util/error.h"

namespace talon::text {

namespace jf = json_fields;

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

Regex split_regex(const jf::Json& spec, const jf::Where& where) {
  const std::string& behavior = jf::string(spec, "behavior", where);
  if (behavior != "Isolated") {
    fail("{}: Split behavior \"{}\" is not supported (Talon supports \"Isolated\")", (where / "behavior").str(),
         behavior);
  }
  if (jf::boolean(spec, "invert", false, where)) {
    fail("{}: Split with invert=true is not supported", (where / "invert").str());
  }
  const jf::Json& pattern = jf::object(spec, "pattern", where);
  std::string pattern_where = (where / "pattern").str();
  if (const jf::Json* regex = jf::optional(pattern, "Regex")) {
    if (!regex->is_string()) jf::type_error(where / "pattern" / "Regex", "a string", *regex);
    return Regex::onig(regex->get_ref<const std::string&>(), pattern_where);
  }
  if (const jf::Json* literal = jf::optional(pattern, "String")) {
    if (!literal->is_string()) jf::type_error(where / "pattern" / "String", "a string", *literal);
    return Regex::literal(literal->get_ref<const std::string&>(), pattern_where);
  }
  fail("{}: expected {{\"Regex\": ...}} or {{\"String\": ...}}, found {}", pattern_where, pattern.dump());
}

void add_stage(const jf::Json& spec, const jf::Where& where, int depth, Stages& stages) {
  if (depth > kMaxDepth) fail("{}: Sequences nested deeper than {}", where.str(), kMaxDepth);
  const std::string& type = jf::string(spec, "type", where);
  if (stages.byte_level) {
    fail("{}: a {} pre-tokenizer after ByteLevel is not supported (ByteLevel must come last)", where.str(), type);
  }
  if (type == "Sequence") {
    const jf::Json& list = jf::array(spec, "pretokenizers", where);
    for (std::size_t i = 0; i < list.size(); ++i) {
      add_stage(list[i], where / "pretokenizers" / i, depth + 1, stages);
    }
  } else if (type == "Split") {
    stages.splits.push_back(split_regex(spec, where));
  } else if (type == "ByteLevel") {
    stages.byte_level = true;
    stages.add_prefix_space = jf::boolean(spec, "add_prefix_space", true, where);
    stages.use_regex = jf::boolean(spec, "use_regex", true, where);
  } else {
    fail(
        "{}: pre-tokenizer type \"{}\" is not supported (Talon supports Split, ByteLevel and "
        "Sequence)",
        (where / "type").str(), type);
  }
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const jf::Json& spec, const jf::Where& where) {
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
