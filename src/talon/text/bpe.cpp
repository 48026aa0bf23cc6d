#include "talon/text/bpe.h"

#include <algorithm>
#include <limits>

#include "talon/text/byte_level.h"
#include "talon/util/error.h"

namespace talon::text {

using nlohmann::json;
using util::JsonFields;
using util::JsonLocation;

namespace {

void check_unsupported(const JsonFields& model) {
  const JsonLocation& where = model.where();
  if (const json* dropout = model.find("dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      fail("{}: dropout {} is not supported (encoding must be deterministic)", (where / "dropout").str(),
           dropout->dump());
    }
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!model.string(key).value_or("").empty()) {
      fail("{}: a non-empty {} is not supported by byte-level BPE", (where / key).str(), key);
    }
  }
  if (model.boolean("byte_fallback").value_or(false)) {
    fail("{}: byte_fallback=true is not supported (byte-level BPE covers every byte)", (where / "byte_fallback").str());
  }
}

// `vocab` and `token` name the entry in errors (built only on failure: this
// runs for every vocabulary entry).
std::int32_t parse_id(const json& value, const JsonLocation& vocab, const std::string& token) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
      value.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
    (vocab / token).fail_expected("an id in [0, 2^31)", value);
  }
  return static_cast<std::int32_t>(value.get<std::int64_t>());
}

// One merge as its two parts: ["a", "b"] or the legacy "a b".
std::pair<std::string_view, std::string_view> merge_parts(const json& merge, const JsonLocation& merges,
                                                          std::size_t index) {
  if (merge.is_string()) {
    std::string_view line = merge.get_ref<const std::string&>();
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      (merges / index).fail_expected("\"<left> <right>\" with exactly one space", merge);
    }
    return {line.substr(0, space), line.substr(space + 1)};
  }
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    return {merge[0].get_ref<const std::string&>(), merge[1].get_ref<const std::string&>()};
  }
  (merges / index).fail_expected("a merge as \"<left> <right>\" or [\"<left>\", \"<right>\"]", merge);
}

// Hugging Face keeps one arbitrary token per id when several share it; Talon
// refuses such a vocabulary, since decoding it would be ambiguous.
void check_unique_ids(const StringIdMap& vocab, const JsonLocation& where) {
  std::vector<std::pair<std::int32_t, std::string_view>> by_id;
  by_id.reserve(vocab.size());
  vocab.for_each([&](std::string_view token, std::int32_t id) { by_id.emplace_back(id, token); });
  std::sort(by_id.begin(), by_id.end());
  for (std::size_t i = 1; i < by_id.size(); ++i) {
    if (by_id[i].first == by_id[i - 1].first) {
      fail("{}: id {} is given to both {} and {}", where.str(), by_id[i].first,
           json(std::string(by_id[i - 1].second)).dump(), json(std::string(by_id[i].second)).dump());
    }
  }
}

// Per-thread scratch for the merge loop, so a word costs no allocation.
struct Symbol {
  std::int32_t id;
  std::int32_t prev;
  std::int32_t next;
  std::uint32_t length;  // bytes covered; 0 once merged into its left neighbour
};
struct Candidate {
  std::uint32_t rank;
  std::int32_t pos;
  std::int32_t id;
  // std heaps are max-heaps: "greater" puts the lowest rank, then leftmost, on top.
  bool operator<(const Candidate& other) const { return rank != other.rank ? rank > other.rank : pos > other.pos; }
};

}  // namespace

Bpe Bpe::from_json(const json& model, const JsonLocation& where) {
  JsonFields fields(model, where);
  if (std::optional<std::string> type = fields.string("type"); type && *type != "BPE") {
    fail("{}: model type {} is not supported (Talon supports BPE)", (where / "type").str(), json(*type).dump());
  }
  check_unsupported(fields);
  Bpe bpe;
  bpe.ignore_merges_ = fields.boolean("ignore_merges").value_or(false);
  bpe.fuse_unk_ = fields.boolean("fuse_unk").value_or(false);

  JsonFields vocab = fields.required_object("vocab");
  const JsonLocation& vocab_where = vocab.where();
  std::string bytes;
  for (const auto& [token, value] : vocab.value().items()) {
    std::int32_t id = parse_id(value, vocab_where, token);
    bpe.vocab_.insert(token, id);
    if (byte_level::token_to_bytes(token, bytes)) bpe.byte_vocab_.insert(bytes, id);
  }
  check_unique_ids(bpe.vocab_, vocab_where);
  for (unsigned b = 0; b < 256; ++b) {
    std::string symbol = byte_level::bytes_to_token(std::string(1, static_cast<char>(b)));
    bpe.byte_ids_[b] = bpe.vocab_.find(symbol).value_or(-1);
  }
  if (std::optional<std::string> unk = fields.string("unk_token")) {
    bpe.unk_id_ = bpe.vocab_.find(*unk);
    if (!bpe.unk_id_) {
      fail("{}: unk_token {} is not in the vocabulary", (where / "unk_token").str(), json(*unk).dump());
    }
  }

  const json& merges = fields.required_array("merges");
  const JsonLocation merges_where = where / "merges";
  std::uint32_t rank = 0;
  std::string joined;
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const json& merge = merges[i];
    if (merge.is_string() && merge.get_ref<const std::string&>().rfind("#version", 0) == 0) continue;
    auto [left, right] = merge_parts(merge, merges_where, i);
    joined.assign(left).append(right);
    auto left_id = bpe.vocab_.find(left), right_id = bpe.vocab_.find(right);
    auto merged_id = bpe.vocab_.find(joined);
    for (auto [part, id] : {std::pair{left, left_id}, {right, right_id}, {std::string_view(joined), merged_id}}) {
      if (!id) {
        fail("{}: merge {} references {}, which is not in the vocabulary", (merges_where / i).str(), merge.dump(),
             json(std::string(part)).dump());
      }
    }
    bpe.merges_.insert(*left_id, *right_id, Merge{rank++, *merged_id});
  }
  bpe.cache_ = std::make_shared<WordCache>();
  return bpe;
}

void Bpe::encode_word(std::string_view word, std::vector<std::int32_t>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto id = byte_vocab_.find(word)) {
      ids.push_back(*id);
      return;
    }
  }
  if (cache_->lookup(word, ids)) return;
  std::size_t first = ids.size();
  merge(word, ids);
  cache_->store(word, ids.data() + first, ids.size() - first);
}

void Bpe::merge(std::string_view word, std::vector<std::int32_t>& ids) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();

  // One symbol per byte. A byte missing from the vocabulary becomes the
  // unknown token (runs fused when fuse_unk) or, without one, is dropped.
  auto add = [&](std::int32_t id, std::uint32_t length) {
    auto index = static_cast<std::int32_t>(symbols.size());
    if (!symbols.empty()) symbols.back().next = index;
    symbols.push_back({id, index - 1, -1, length});
  };
  std::uint32_t pending_unk = 0;
  for (char c : word) {
    std::int32_t id = byte_ids_[static_cast<unsigned char>(c)];
    if (id >= 0) {
      if (pending_unk) add(*unk_id_, pending_unk);
      pending_unk = 0;
      add(id, 1);
    } else if (unk_id_) {
      if (pending_unk && !fuse_unk_) add(*unk_id_, pending_unk), pending_unk = 0;
      ++pending_unk;
    }
  }
  if (pending_unk) add(*unk_id_, pending_unk);

  auto n = static_cast<std::int32_t>(symbols.size());
  for (std::int32_t i = 0; i + 1 < n; ++i) {
    if (const Merge* m = merges_.find(symbols[i].id, symbols[i + 1].id)) heap.push_back({m->rank, i, m->id});
  }
  std::make_heap(heap.begin(), heap.end());
  auto push = [&](std::uint32_t rank, std::int32_t pos, std::int32_t id) {
    heap.push_back({rank, pos, id});
    std::push_heap(heap.begin(), heap.end());
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.length == 0 || left.next < 0) continue;
    Symbol right = symbols[left.next];
    // Stale entry: the pair at this position changed since it was queued.
    const Merge* current = merges_.find(left.id, right.id);
    if (!current || current->id != top.id) continue;

    symbols[left.next].length = 0;
    left.id = top.id;
    left.length += right.length;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const Merge* m = merges_.find(symbols[left.prev].id, left.id)) push(m->rank, left.prev, m->id);
    }
    if (left.next >= 0) {
      if (const Merge* m = merges_.find(left.id, symbols[left.next].id)) push(m->rank, top.pos, m->id);
    }
  }
  for (const Symbol& s : symbols) {
    if (s.length != 0) ids.push_back(s.id);
  }
}

}  // namespace talon::text
