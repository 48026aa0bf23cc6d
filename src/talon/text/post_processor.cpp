#include "talon/text/post_processor.h"

#include <limits>

#include "talon/util/error.h"

namespace talon::text {

using nlohmann::json;
using util::JsonFields;
using util::JsonLocation;

namespace {

constexpr int kMaxDepth = 32;  // nested Sequences; bounds the recursion

// `special_tokens` is absent (nullopt) in a template without special tokens.
std::vector<std::int32_t> special_token_ids(const std::optional<JsonFields>& special_tokens, const std::string& name,
                                            const JsonLocation& where) {
  std::optional<JsonFields> entry = special_tokens ? special_tokens->object(name) : std::nullopt;
  if (!entry) fail("{}: template uses {} but special_tokens does not define it", where.str(), json(name).dump());
  const json& ids = entry->required_array("ids");
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_number_integer() || ids[i].get<std::int64_t>() < 0 ||
        ids[i].get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      (entry->where() / "ids" / i).fail_expected("an id in [0, 2^31)", ids[i]);
    }
    out.push_back(static_cast<std::int32_t>(ids[i].get<std::int64_t>()));
  }
  return out;
}

// TemplateProcessing's "single" template: special tokens around one "$A".
void read_template(const JsonFields& spec, std::vector<std::int32_t>& prefix, std::vector<std::int32_t>& suffix) {
  const JsonLocation& where = spec.where();
  const json& single = spec.required_array("single");
  std::optional<JsonFields> special_tokens = spec.object("special_tokens");
  std::vector<std::int32_t> before, after;
  int sequences = 0;
  constexpr const char* kItem = "{\"SpecialToken\": ...} or {\"Sequence\": ...}";
  for (std::size_t i = 0; i < single.size(); ++i) {
    JsonLocation item_where = where / "single" / i;
    if (!single[i].is_object()) item_where.fail_expected(kItem, single[i]);
    JsonFields item(single[i], item_where);
    if (std::optional<JsonFields> special = item.object("SpecialToken")) {
      auto ids = special_token_ids(special_tokens, special->required_string("id"), where);
      (sequences == 0 ? before : after).insert((sequences == 0 ? before : after).end(), ids.begin(), ids.end());
    } else if (std::optional<JsonFields> sequence = item.object("Sequence")) {
      std::string id = sequence->required_string("id");
      if (id != "A") fail("{}: the single template can only use sequence A, found {}", item_where.str(), id);
      ++sequences;
    } else {
      item_where.fail_expected(kItem, single[i]);
    }
  }
  if (sequences != 1) {
    fail("{}: expected the single template to hold sequence A once, found it {} times", (where / "single").str(),
         sequences);
  }
  prefix = std::move(before);
  suffix = std::move(after);
}

// Hugging Face passes a template's output to the next processor as one
// encoding per template piece, so a second TemplateProcessing in a Sequence
// applies its *pair* template (or panics); Talon accepts one template only.
void add_processor(const json& spec, const JsonLocation& where, int depth, bool& has_template,
                   std::vector<std::int32_t>& prefix, std::vector<std::int32_t>& suffix) {
  if (depth > kMaxDepth) fail("{}: Sequences nested deeper than {}", where.str(), kMaxDepth);
  JsonFields fields(spec, where);
  std::string type = fields.required_string("type");
  if (type == "TemplateProcessing") {
    if (has_template) fail("{}: a second TemplateProcessing is not supported", where.str());
    has_template = true;
    read_template(fields, prefix, suffix);
  } else if (type == "Sequence") {
    const json& list = fields.required_array("processors");
    for (std::size_t i = 0; i < list.size(); ++i) {
      add_processor(list[i], where / "processors" / i, depth + 1, has_template, prefix, suffix);
    }
  } else if (type != "ByteLevel") {  // ByteLevel only trims offsets, which Talon does not track
    fail(
        "{}: post-processor type \"{}\" is not supported (Talon supports TemplateProcessing, "
        "ByteLevel and Sequence)",
        (where / "type").str(), type);
  }
}

// bos_token / eos_token: a string or an AddedToken object {"content": ...}.
std::optional<std::string> config_token(const JsonFields& config, std::string_view key) {
  const json* value = config.find(key);
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_object()) return config.required_object(key).required_string("content");
  config.fail_field(key, "a string or an object with \"content\"");
}

}  // namespace

PostProcessor PostProcessor::from_json(const json& spec, const JsonLocation& where) {
  PostProcessor p;
  bool has_template = false;
  if (!spec.is_null()) add_processor(spec, where, 0, has_template, p.prefix_, p.suffix_);
  return p;
}

void PostProcessor::apply_config(const JsonFields& config, const TokenLookup& token_to_id) {
  const JsonLocation& where = config.where();
  auto side = [&](std::string_view flag, std::string_view token_key, std::vector<std::int32_t>& ids) {
    std::optional<bool> add = config.boolean(flag);
    if (!add) return;
    ids.clear();
    if (!*add) return;
    auto token = config_token(config, token_key);
    if (!token) fail("{}: {} is true but {} is not set", where.str(), flag, token_key);
    auto id = token_to_id(*token);
    if (!id) fail("{}: {} {} is not in the vocabulary", (where / token_key).str(), token_key, json(*token).dump());
    ids.push_back(*id);
  };
  side("add_bos_token", "bos_token", prefix_);
  side("add_eos_token", "eos_token", suffix_);
}

void PostProcessor::apply(std::vector<std::int32_t>& ids) const {
  ids.insert(ids.begin(), prefix_.begin(), prefix_.end());
  ids.insert(ids.end(), suffix_.begin(), suffix_.end());
}

}  // namespace talon::text
