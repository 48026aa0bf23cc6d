#include "talon/text/tokenizer.h"

#include <xxhash.h>

#include <filesystem>

#include "talon/text/tokenizer_impl.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/json_file.h"
#include "talon/util/utf8.h"

namespace talon::text {

using nlohmann::json;
using util::JsonFields;
using util::JsonLocation;

namespace {

std::string config_name(const std::string& tokenizer_name) {
  auto slash = tokenizer_name.rfind('/');
  return slash == std::string::npos ? "tokenizer_config.json"
                                    : tokenizer_name.substr(0, slash + 1) + "tokenizer_config.json";
}

void check_config(const JsonFields& config) {
  if (config.boolean("split_special_tokens").value_or(false)) {
    fail("{}: split_special_tokens=true is not supported", (config.where() / "split_special_tokens").str());
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
  json spec = util::parse_json(tokenizer_json, source_name);
  const JsonLocation root(source_name);
  JsonFields fields(spec, root);
  if (std::optional<std::string> version = fields.string("version"); version && *version != "1.0") {
    fail("{}: version {} is not supported (expected \"1.0\")", (root / "version").str(), json(*version).dump());
  }
  // The parts read null for an absent field, which each treats as its default.
  auto field = [&](std::string_view key) -> const json& {
    static const json null;
    const json* value = fields.find(key);
    return value ? *value : null;
  };

  auto impl = std::make_shared<Impl>();
  impl->dir = std::move(dir);
  impl->normalizer = Normalizer::from_json(field("normalizer"), root / "normalizer");
  impl->pre_tokenizer = PreTokenizer::from_json(field("pre_tokenizer"), root / "pre_tokenizer");
  impl->model = Bpe::from_json(fields.required("model"), root / "model");
  impl->added = AddedVocabulary::from_json(field("added_tokens"), root / "added_tokens", impl->model, impl->normalizer);
  impl->post_processor = PostProcessor::from_json(field("post_processor"), root / "post_processor");
  impl->decoder = Decoder::build(field("decoder"), root / "decoder", impl->model, impl->added, impl->normalizer);

  XXH64_state_t* hash = XXH64_createState();
  XXH64_reset(hash, 0);
  XXH64_update(hash, tokenizer_json.data(), tokenizer_json.size());
  XXH64_update(hash, tokenizer_config_json.data(), tokenizer_config_json.size());
  impl->fingerprint = XXH64_digest(hash);
  XXH64_freeState(hash);

  if (!tokenizer_config_json.empty()) {
    std::string name = config_name(source_name);
    json config_json = util::parse_json(tokenizer_config_json, name);
    JsonFields config(config_json, JsonLocation(name));
    check_config(config);
    const Impl& parts = *impl;
    impl->post_processor.apply_config(config, [&parts](std::string_view token) {
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

void check_tokenizer_fits(const Tokenizer& tokenizer, std::int64_t vocab_size, const std::string& source) {
  if (vocab_size < tokenizer.vocab_size()) {
    fail("{}: vocab_size {} is smaller than the vocabulary of the tokenizer in {} ({} ids): a tokenizer of another "
         "model?",
         source, vocab_size, tokenizer.dir().empty() ? "memory" : tokenizer.dir(), tokenizer.vocab_size());
  }
}

}  // namespace talon::text
