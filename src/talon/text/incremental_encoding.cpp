#include "talon/text/incremental_encoding.h"

#include <algorithm>

#include "talon/text/tokenizer_impl.h"
#include "talon/util/utf8.h"

namespace talon::text {

IncrementalEncoding::IncrementalEncoding(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {
  for (const auto& [id, token] : tokenizer_.impl_->added.tokens()) {
    reusable_ = reusable_ && !token.single_word;
    longest_token_ = std::max(longest_token_, token.content.size());
  }
}

const std::vector<std::int32_t>& IncrementalEncoding::encode(std::string_view text) {
  const std::size_t same = static_cast<std::size_t>(
      std::mismatch(text_.begin(), text_.end(), text.begin(), text.end()).first - text_.begin());
  // An added token whose every possible match ends before the change is
  // matched in the new text as in the old, and so is all before it; a
  // token that swallows white space (lstrip, rstrip) ends where the text
  // after it says, so only plain ones anchor.
  while (!anchors_.empty() && anchors_.back().begin + longest_token_ > same) anchors_.pop_back();
  const std::size_t from = reusable_ && !anchors_.empty() ? anchors_.back().end : 0;
  if (from == 0) anchors_.clear();
  ids_.resize(from == 0 ? 0 : anchors_.back().ids);
  text_.assign(text);
  encode_from(from);
  return ids_;
}

void IncrementalEncoding::encode_from(std::size_t from) {
  const Tokenizer::Impl& impl = *tokenizer_.impl_;
  const std::string_view tail = std::string_view(text_).substr(from);
  last_encoded_bytes_ = tail.size();
  if (!util::is_valid_utf8(tail)) {  // repaired as a whole, as encode() does
    anchors_.clear();
    ids_ = tokenizer_.encode(text_);
    last_encoded_bytes_ = text_.size();
    return;
  }
  std::vector<Segment> segments;
  impl.added.split_raw(tail, segments);
  for (const Segment& s : segments) {
    if (s.id < 0) {
      impl.encode_segment(tail.substr(s.begin, s.end - s.begin), ids_);
      continue;
    }
    ids_.push_back(s.id);
    const AddedToken& token = impl.added.tokens().at(s.id);
    if (!token.lstrip && !token.rstrip) anchors_.push_back({from + s.begin, from + s.end, ids_.size()});
  }
}

}  // namespace talon::text
