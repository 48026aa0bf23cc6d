// The draft vocabulary: the Vd target tokens the draft predicts, chosen by
// frequency over the supervised tokens of the training set (brief §2).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace talon::data {

// Counts supervised token ids in dataset order. Feed samples in file order;
// ties in frequency go to the id seen first.
class VocabCounter {
 public:
  explicit VocabCounter(std::int64_t vocab_size);
  // ids [n], loss_mask [n]: counts ids[t] where loss_mask[t] == 1.
  void add(const std::int32_t* ids, const std::uint8_t* loss_mask, std::size_t n);
  std::int64_t vocab_size() const { return static_cast<std::int64_t>(count_.size()); }
  std::uint64_t total() const { return total_; }

 private:
  friend struct VocabMapping;
  std::vector<std::uint64_t> count_;
  std::vector<std::uint64_t> first_seen_;  // order of first appearance; 0 = never
  std::uint64_t next_order_ = 1, total_ = 0;
};

struct VocabMapping {
  std::vector<std::int64_t> used;  // [Vd] target ids, ascending
  std::vector<std::int64_t> d2t;   // [Vd] target_id = i + d2t[i]
  std::vector<std::uint8_t> t2d;   // [V] 1 where the target id is in the draft vocab
  double coverage = 0;             // share of counted tokens whose id is in `used`

  // The Vd most frequent ids (ties: seen first); when fewer than Vd distinct
  // ids were seen, the smallest unseen ids fill up to Vd.
  static VocabMapping build(const VocabCounter& counter, std::int64_t draft_vocab_size);

  // vocab_mapping.safetensors: d2t (I64 [Vd]), t2d (BOOL [V]).
  void save(const std::string& path) const;
  static VocabMapping load(const std::string& path);
  // d2t (int64 [Vd]) and t2d (bool [V]) as a draft checkpoint holds them,
  // checked against its config's sizes; `source` names the weights in
  // errors. A draft with neither is a full-vocabulary one (draft_vocab_size
  // == vocab_size) whose draft ids are the target's, as SGLang and vLLM
  // serve it; a smaller draft vocabulary without them is an error.
  static VocabMapping of_draft(const at::Tensor& d2t, const at::Tensor& t2d, std::int64_t draft_vocab_size,
                               std::int64_t vocab_size, const std::string& source);
};

}  // namespace talon::data
