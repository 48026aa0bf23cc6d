#include "talon/text/tokenizer.h"

#include <xxhash.h>

#include <filesystem>

#include "talon/text/tokenizer_impl.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text {

namespace jf = json_fields;

namespace {

jf::Json parse(std::string_view text, const std::string& name) {
  try {
    return jf::Json::parse(text.begin(), text.end());
  } catch (const jf::Json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    fail("{}: not valid JSON: {}", name, e.what());
  }
}

std::string config_name(const std::string& tokenizer_name) {
  auto slash = tokenizer_name.rfind('/');
  return slash == std::string::npos ? "tokenizer_config.json"
                                    : tokenizer_name.substr(0, slash + 1) + "tokenizer_config.json";
}

void check_config(const jf::Json& config, const jf::Where& where) {
  if (!config.is_object()) jf::type_error(where, "an object", config);
  if (jf::boolean(config, "split_special_tokens", false, where)) {
    fail("{}: split_special_tokens=true is not supported", (where / "split_special_tokens").str());
  }
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& dir) {
  std::string tokenizer_path = dir + "/tokenizer.json";
  std::string config_path = dir + "/tokenizer_config.json";
  if (!std::filesystem::exists(tokenizer_path)) {
    fail("{}: no such file (a tokenizer directory needs tokenizer.json)", tokenizer_path);
  }
  std::string tokenizer_json = util::read_file(tokenizer_path);
  std::string config_json = std::filesystem::exists(config_path) ? util::read_file(config_path) : "";
  return build(tokenizer_json, config_json, tokenizer_path, dir);
}

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                               std::string source_name) {
  return build(tokenizer_json, tokenizer_config_json, std::move(source_name), "");
}

Tokenizer Tokenizer::build(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                           std::string source_name, std::string dir) {
  jf::Json spec = parse(tokenizer_json, source_name);
  const jf::Where root{source_name, ""};
  if (!spec.is_object()) jf::type_error(root, "an object", spec);
  if (const jf::Json* version = jf::optional(spec, "version"); version && *version != "1.0") {
    fail("{}: version {} is not supported (expected \"1.0\")", (root / "version").str(), version->dump());
  }
  auto field = [&](std::string_view key) -> const jf::Json& {
    static const jf::Json null;
    const jf::Json* value = jf::optional(spec, key);
    return value ? *value : null;
  };

  auto impl = std::make_shared<Impl>();
  impl->dir = std::move(dir);
  impl->normalizer = Normalizer::from_json(field("normalizer"), root / "normalizer");
  impl->pre_tokenizer = PreTokenizer::from_json(field("pre_tokenizer"), root / "pre_tokenizer");
  impl->model = Bpe::from_json(jf::required(spec, "model", root), root / "model");
  impl->added = AddedVocabulary::from_json(field("added_tokens"), root / "added_tokens", impl->model, impl->normalizer);
  impl->post_processor = PostProcessor::from_json(field("post_processor"), root / "post_processor");
  impl->decoder = Decoder::build(field("decoder"), root / "decoder", impl->model, impl->added);

  XXH64_state_t* hash = XXH64_createState();
  XXH64_reset(hash, 0);
  XXH64_update(hash, tokenizer_json.data(), tokenizer_json.size());
  XXH64_update(hash, tokenizer_config_json.data(), tokenizer_config_json.size());
  impl->fingerprint = XXH64_digest(hash);
  XXH64_freeState(hash);

  if (!tokenizer_config_json.empty()) {
    std::string name = config_name(source_name);
    jf::Json config = parse(tokenizer_config_json, name);
    const jf::Where config_root{name, ""};
    check_config(config, config_root);
    const Impl& parts = *impl;
    impl->post_processor.apply_config(config, config_root, [&parts](std::string_view token) {
      auto id = parts.added.token_to_id(token);
      return id ? id : parts.model.token_to_id(token);
    });
  }
  return Tokenizer(std::move(impl));
}

void Tokenizer::Impl::encode_text(std::string_view text, std::vector<std::int32_t>& ids) const {
  std::vector<Segment> segments;
  added.split_raw(text, segments);
  for (const Segment& s : segments) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      encode_segment(text.substr(s.begin, s.end - s.begin), ids);
    }
  }
}

void Tokenizer::Impl::encode_segment(std::string_view segment, std::vector<std::int32_t>& ids) const {
  std::string buffer;
  std::string_view normalized = normalizer.normalize(segment, buffer);
  auto encode_words = [&](std::string_view text) {
    if (text.empty()) return;
    pre_tokenizer.split(text, [&](std::string_view word) { model.encode_word(word, ids); });
  };
  if (!added.has_normalized_tokens()) {
    encode_words(normalized);
    return;
  }
  std::vector<Segment> pieces;
  added.split_normalized(normalized, pieces);
  for (const Segment& p : pieces) {
    if (p.id >= 0) {
      ids.push_back(p.id);
    } else {
      encode_words(normalized.substr(p.begin, p.end - p.begin));
    }
  }
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<std::int32_t> ids;
  if (util::is_valid_utf8(text)) {
    impl_->encode_text(text, ids);
  } else {
    impl_->encode_text(util::repair_utf8(text), ids);
  }
  if (add_special_tokens) impl_->post_processor.apply(ids);
  return ids;
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const {
  return impl_->decoder.decode(ids, skip_special_tokens);
}

std::int64_t Tokenizer::vocab_size() const { return impl_->decoder.vocab_size(); }

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto id = impl_->added.token_to_id(token);
  return id ? id : impl_->model.token_to_id(token);
}

std::uint64_t Tokenizer::fingerprint() const { return impl_->fingerprint; }

const std::string& Tokenizer::dir() const { return impl_->dir; }

}  // namespace talon::text
