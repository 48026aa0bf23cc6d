#include "talon/text/post_processor.h"

#include <limits>

#include "talon/util/error.h"

namespace talon::text {

namespace jf = json_fields;

namespace {

constexpr int kMaxDepth = 32;  // nested Sequences; bounds the recursion

std::vector<std::int32_t> special_token_ids(const jf::Json& special_tokens, const std::string& name,
                                            const jf::Where& where) {
  const jf::Json* entry = jf::optional(special_tokens, name);
  if (!entry) fail("{}: template uses {} but special_tokens does not define it", where.str(), jf::Json(name).dump());
  jf::Where entry_where = where / "special_tokens" / name;
  const jf::Json& ids = jf::array(*entry, "ids", entry_where);
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_number_integer() || ids[i].get<std::int64_t>() < 0 ||
        ids[i].get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      jf::type_error(entry_where / "ids" / i, "an id in [0, 2^31)", ids[i]);
    }
    out.push_back(static_cast<std::int32_t>(ids[i].get<std::int64_t>()));
  }
  return out;
}

// TemplateProcessing's "single" template: special tokens around one "$A".
void read_template(const jf::Json& spec, const jf::Where& where, std::vector<std::int32_t>& prefix,
                   std::vector<std::int32_t>& suffix) {
  const jf::Json& single = jf::array(spec, "single", where);
  const jf::Json* special_tokens = jf::optional(spec, "special_tokens");
  std::vector<std::int32_t> before, after;
  int sequences = 0;
  for (std::size_t i = 0; i < single.size(); ++i) {
    jf::Where item_where = where / "single" / i;
    if (const jf::Json* special = jf::optional(single[i], "SpecialToken")) {
      const std::string& name = jf::string(*special, "id", item_where / "SpecialToken");
      auto ids = special_token_ids(special_tokens ? *special_tokens : jf::Json::object(), name, where);
      (sequences == 0 ? before : after).insert((sequences == 0 ? before : after).end(), ids.begin(), ids.end());
    } else if (const jf::Json* sequence = jf::optional(single[i], "Sequence")) {
      const std::string& id = jf::string(*sequence, "id", item_where / "Sequence");
      if (id != "A") fail("{}: the single template can only use sequence A, found {}", item_where.str(), id);
      ++sequences;
    } else {
      jf::type_error(item_where, "{\"SpecialToken\": ...} or {\"Sequence\": ...}", single[i]);
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
void add_processor(const jf::Json& spec, const jf::Where& where, int depth, bool& has_template,
                   std::vector<std::int32_t>& prefix, std::vector<std::int32_t>& suffix) {
  if (depth > kMaxDepth) fail("{}: Sequences nested deeper than {}", where.str(), kMaxDepth);
  const std::string& type = jf::string(spec, "type", where);
  if (type == "TemplateProcessing") {
    if (has_template) fail("{}: a second TemplateProcessing is not supported", where.str());
    has_template = true;
    read_template(spec, where, prefix, suffix);
  } else if (type == "Sequence") {
    const jf::Json& list = jf::array(spec, "processors", where);
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
std::optional<std::string> config_token(const jf::Json& config, std::string_view key, const jf::Where& where) {
  const jf::Json* value = jf::optional(config, key);
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_object()) return jf::string(*value, "content", where / key);
  jf::type_error(where / key, "a string or an object with \"content\"", *value);
}

}  // namespace

PostProcessor PostProcessor::from_json(const jf::Json& spec, const jf::Where& where) {
  PostProcessor p;
  bool has_template = false;
  if (!spec.is_null()) add_processor(spec, where, 0, has_template, p.prefix_, p.suffix_);
  return p;
}

void PostProcessor::apply_config(const jf::Json& config, const jf::Where& where, const TokenLookup& token_to_id) {
  auto side = [&](std::string_view flag, std::string_view token_key, std::vector<std::int32_t>& ids) {
    const jf::Json* add = jf::optional(config, flag);
    if (!add) return;
    if (!add->is_boolean()) jf::type_error(where / flag, "a boolean", *add);
    ids.clear();
    if (!add->get<bool>()) return;
    auto token = config_token(config, token_key, where);
    if (!token) fail("{}: {} is true but {} is not set", where.str(), flag, token_key);
    auto id = token_to_id(*token);
    if (!id) fail("{}: {} {} is not in the vocabulary", (where / token_key).str(), token_key, jf::Json(*token).dump());
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
