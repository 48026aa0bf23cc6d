#include "talon/text/added_vocabulary.h"

#include <limits>

#include "talon/text/unicode_classes.h"
#include "talon/util/error.h"

namespace talon::text {

namespace {

AddedToken parse_token(const util::JsonFields& entry) {
  AddedToken token;
  token.content = entry.required_string("content");
  const nlohmann::json& id = entry.required("id");
  if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
      id.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
    entry.fail_field("id", "an id in [0, 2^31)");
  }
  token.special = entry.boolean("special").value_or(false);
  token.normalized = entry.boolean("normalized").value_or(!token.special);
  token.single_word = entry.boolean("single_word").value_or(false);
  token.lstrip = entry.boolean("lstrip").value_or(false);
  token.rstrip = entry.boolean("rstrip").value_or(false);
  return token;
}

// Hugging Face skips a token equal in every field to one already added.
std::string identity(const AddedToken& t) {
  std::string key = t.content;
  for (bool flag : {t.single_word, t.lstrip, t.rstrip, t.normalized, t.special}) key += flag ? '1' : '0';
  return key;
}

}  // namespace

AddedVocabulary AddedVocabulary::from_json(const nlohmann::json& added_tokens, const util::JsonLocation& where,
                                           const Bpe& model, const Normalizer& normalizer) {
  AddedVocabulary vocab;
  if (added_tokens.is_null()) return vocab;
  if (!added_tokens.is_array()) where.fail_expected("an array", added_tokens);
  std::vector<AddedToken> tokens;
  for (std::size_t i = 0; i < added_tokens.size(); ++i) {
    tokens.push_back(parse_token(util::JsonFields(added_tokens[i], where / i)));
  }

  // Hugging Face's AddedVocabulary::add_tokens, applied to the file's list.
  std::vector<const AddedToken*> special_order, plain_order;
  for (const AddedToken& token : tokens) {
    if (token.special && !token.content.empty() && vocab.special_.insert(token.content).second) {
      special_order.push_back(&token);
    }
  }
  std::int32_t next_id = static_cast<std::int32_t>(model.vocab().size());
  std::unordered_set<std::string> existing;
  for (const AddedToken& token : tokens) {
    if (token.content.empty() || !existing.insert(identity(token)).second) continue;
    std::int32_t id;
    if (auto known = vocab.token_to_id(token.content)) {
      id = *known;
    } else if (auto in_model = model.token_to_id(token.content)) {
      id = *in_model;
    } else {
      if (next_id == std::numeric_limits<std::int32_t>::max()) fail("{}: too many added tokens", where.str());
      id = next_id++;
    }
    vocab.by_content_[token.content] = id;
    vocab.by_id_[id] = token;
    if (!vocab.special_.count(token.content)) plain_order.push_back(&token);
  }

  std::string buffer;
  for (const auto* order : {&special_order, &plain_order}) {
    for (const AddedToken* token : *order) {
      std::int32_t id = vocab.by_content_.at(token->content);
      if (token->normalized) {
        vocab.normalized_.matcher.add(normalizer.normalize(token->content, buffer));
        vocab.normalized_.ids.push_back(id);
      } else {
        vocab.raw_.matcher.add(token->content);
        vocab.raw_.ids.push_back(id);
      }
    }
  }
  return vocab;
}

std::optional<std::int32_t> AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

void AddedVocabulary::split(const MatchSet& set, std::string_view text, std::vector<Segment>& segments) const {
  std::size_t done = 0;  // end of the last segment emitted
  TokenMatcher::Match match;
  for (std::size_t from = 0; set.matcher.find(text, from, match); from = match.end) {
    std::int32_t id = set.ids[match.pattern];
    const AddedToken& token = by_id_.at(id);
    std::size_t begin = match.begin, end = match.end;
    if (token.single_word) {
      bool space_before = begin == 0 || !is_word_char(last_code_point(text.substr(0, begin)));
      bool space_after = end == text.size() || !is_word_char(first_code_point(text.substr(end)));
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) begin = std::max(begin - trailing_white_space(text.substr(0, begin)), done);
    if (token.rstrip) end += leading_white_space(text.substr(end));
    if (done < begin) segments.push_back({done, begin, -1});
    segments.push_back({begin, end, id});
    done = end;
  }
  if (done < text.size()) segments.push_back({done, text.size(), -1});
}

}  // namespace talon::text
