// Tokenizer::count_prefix_tokens. Added tokens matched on raw text cut it
// into segments that are encoded independently, so the prefix text[:cut]
// shares every segment of the full text up to the last one the cut leaves
// intact; only the segments after that are encoded again. The prefix's
// segments are found by matching added tokens in the prefix itself, since a
// cut can end a match early or make a single_word token match.
#include <algorithm>

#include "talon/text/tokenizer.h"
#include "talon/text/tokenizer_impl.h"
#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text {

namespace {

bool same(const Segment& a, const Segment& b) { return a.begin == b.begin && a.end == b.end && a.id == b.id; }

}  // namespace

std::vector<std::size_t> Tokenizer::count_prefix_tokens(std::string_view text,
                                                        const std::vector<std::size_t>& cuts) const {
  const Impl& impl = *impl_;
  std::vector<std::size_t> counts;
  if (cuts.empty()) return counts;
  counts.reserve(cuts.size());
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    if (cuts[i] > text.size() || (i > 0 && cuts[i] < cuts[i - 1])) {
      fail("count_prefix_tokens: cut {} = {} is not in ascending order within the {}-byte text", i, cuts[i],
           text.size());
    }
  }
  if (!util::is_valid_utf8(text)) {
    // Repair depends on where the text ends; encode each prefix on its own.
    for (std::size_t cut : cuts) counts.push_back(encode(text.substr(0, cut)).size());
    return counts;
  }
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    std::size_t cut = cuts[i];
    if (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      fail("count_prefix_tokens: cut {} = {} is inside a UTF-8 sequence", i, cut);
    }
  }

  std::vector<Segment> full;
  impl.added.split_raw(text, full);
  // before[k]: tokens of full[0..k). Only segments that end by the last cut
  // can be shared with a prefix, so later text segments are not encoded
  // (their placeholder count is never read).
  std::vector<std::size_t> before(full.size() + 1, 0);
  std::vector<std::int32_t> ids;
  for (std::size_t k = 0; k < full.size(); ++k) {
    std::size_t n = 1;
    if (full[k].id < 0 && full[k].end <= cuts.back()) {
      ids.clear();
      impl.encode_segment(text.substr(full[k].begin, full[k].end - full[k].begin), ids);
      n = ids.size();
    }
    before[k + 1] = before[k] + n;
  }

  std::vector<Segment> prefix;
  for (std::size_t cut : cuts) {
    prefix.clear();
    impl.added.split_raw(text.substr(0, cut), prefix);
    std::size_t k = 0;
    while (k < prefix.size() && k < full.size() && same(prefix[k], full[k])) ++k;
    std::size_t count = before[k];
    for (std::size_t j = k; j < prefix.size(); ++j) {
      if (prefix[j].id >= 0) {
        ++count;
      } else {
        ids.clear();
        impl.encode_segment(text.substr(prefix[j].begin, prefix[j].end - prefix[j].begin), ids);
        count += ids.size();
      }
    }
    counts.push_back(count);
  }
  return counts;
}

}  // namespace talon::text
