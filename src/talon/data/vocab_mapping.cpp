#include "talon/data/vocab_mapping.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

#include "talon/io/safetensors.h"
#include "talon/util/error.h"

namespace talon::data {

VocabCounter::VocabCounter(std::int64_t vocab_size) {
  if (vocab_size <= 0) fail("vocab size must be positive, got {}", vocab_size);
  count_.assign(vocab_size, 0);
  first_seen_.assign(vocab_size, 0);
}

void VocabCounter::add(const std::int32_t* ids, const std::uint8_t* loss_mask, std::size_t n) {
  for (std::size_t t = 0; t < n; ++t) {
    if (loss_mask[t] == 0) continue;
    auto id = ids[t];
    if (id < 0 || id >= vocab_size()) fail("token id {} outside the vocabulary of size {}", id, vocab_size());
    if (count_[id]++ == 0) first_seen_[id] = next_order_++;
    ++total_;
  }
}

VocabMapping VocabMapping::build(const VocabCounter& counter, std::int64_t draft_vocab_size) {
  std::int64_t vocab_size = counter.vocab_size();
  if (draft_vocab_size <= 0 || draft_vocab_size > vocab_size) {
    fail("--draft-vocab-size must be in [1, {}] (the target vocabulary), got {}", vocab_size, draft_vocab_size);
  }
  std::vector<std::int64_t> seen;
  for (std::int64_t id = 0; id < vocab_size; ++id) {
    if (counter.count_[id] > 0) seen.push_back(id);
  }
  VocabMapping m;
  if (static_cast<std::int64_t>(seen.size()) <= draft_vocab_size) {
    m.used = seen;
    for (std::int64_t id = 0; static_cast<std::int64_t>(m.used.size()) < draft_vocab_size; ++id) {
      if (counter.count_[id] == 0) m.used.push_back(id);
    }
  } else {
    std::stable_sort(seen.begin(), seen.end(), [&](std::int64_t a, std::int64_t b) {
      if (counter.count_[a] != counter.count_[b]) return counter.count_[a] > counter.count_[b];
      return counter.first_seen_[a] < counter.first_seen_[b];
    });
    m.used.assign(seen.begin(), seen.begin() + draft_vocab_size);
  }
  std::sort(m.used.begin(), m.used.end());

  m.d2t.resize(draft_vocab_size);
  m.t2d.assign(vocab_size, 0);
  std::uint64_t covered = 0;
  for (std::int64_t i = 0; i < draft_vocab_size; ++i) {
    m.d2t[i] = m.used[i] - i;
    m.t2d[m.used[i]] = 1;
    covered += counter.count_[m.used[i]];
  }
  m.coverage = counter.total_ > 0 ? static_cast<double>(covered) / counter.total_ : 0.0;
  return m;
}

void VocabMapping::save(const std::string& path) const {
  auto d2t_tensor = at::tensor(d2t, at::kLong);
  auto t2d_tensor = at::from_blob(const_cast<std::uint8_t*>(t2d.data()), {static_cast<std::int64_t>(t2d.size())},
                                  at::kByte)
                        .to(at::kBool);
  io::write_safetensors(path, {{"d2t", d2t_tensor}, {"t2d", t2d_tensor}});
}

namespace {

// The checks of a stored d2t/t2d pair: each id i + d2t[i] ascending and
// marked in t2d, and t2d marking no other.
VocabMapping checked(const at::Tensor& d2t_tensor, const at::Tensor& t2d_tensor, const std::string& source) {
  auto require = [&](const at::Tensor& tensor, const char* name, at::ScalarType dtype) {
    if (tensor.scalar_type() != dtype || tensor.dim() != 1) {
      fail("{}: tensor '{}' must be 1-d {}", source, name, dtype == at::kLong ? "I64" : "BOOL");
    }
    return tensor.contiguous();
  };
  at::Tensor d2t = require(d2t_tensor, "d2t", at::kLong);
  at::Tensor t2d = require(t2d_tensor, "t2d", at::kBool).to(at::kByte);
  VocabMapping m;
  m.d2t.assign(d2t.data_ptr<std::int64_t>(), d2t.data_ptr<std::int64_t>() + d2t.numel());
  m.t2d.assign(t2d.data_ptr<std::uint8_t>(), t2d.data_ptr<std::uint8_t>() + t2d.numel());
  for (std::size_t i = 0; i < m.d2t.size(); ++i) {
    std::int64_t target = static_cast<std::int64_t>(i) + m.d2t[i];
    if (target < 0 || target >= static_cast<std::int64_t>(m.t2d.size()) || m.t2d[target] == 0 ||
        (i > 0 && target <= m.used.back())) {
      fail("{}: d2t[{}] = {} maps to target id {}, which is not an ascending id marked in t2d", source, i, m.d2t[i],
           target);
    }
    m.used.push_back(target);
  }
  auto marked = std::accumulate(m.t2d.begin(), m.t2d.end(), std::size_t{0});
  if (marked != m.used.size()) fail("{}: t2d marks {} ids but d2t has {}", source, marked, m.used.size());
  return m;
}

}  // namespace

VocabMapping VocabMapping::load(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  auto tensor = [&](const char* name) {
    if (file.find(name) == nullptr) fail("{}: missing tensor '{}'", path, name);
    return file.tensor(name);
  };
  return checked(tensor("d2t"), tensor("t2d"), path);
}

VocabMapping VocabMapping::of_draft(const at::Tensor& d2t, const at::Tensor& t2d, std::int64_t draft_vocab_size,
                                    std::int64_t vocab_size, const std::string& source) {
  if (!d2t.defined() && !t2d.defined()) {
    if (draft_vocab_size != vocab_size) {
      fail("{}: no d2t/t2d, but draft_vocab_size {} is below vocab_size {}: which target tokens the draft "
           "predicts is unknown",
           source, draft_vocab_size, vocab_size);
    }
    VocabMapping identity;
    identity.d2t.assign(static_cast<std::size_t>(vocab_size), 0);
    identity.t2d.assign(static_cast<std::size_t>(vocab_size), 1);
    identity.used.resize(static_cast<std::size_t>(vocab_size));
    std::iota(identity.used.begin(), identity.used.end(), std::int64_t{0});
    identity.coverage = 1;
    return identity;
  }
  if (!d2t.defined() || !t2d.defined()) fail("{}: holds {} but not {}", source, d2t.defined() ? "d2t" : "t2d",
                                             d2t.defined() ? "t2d" : "d2t");
  VocabMapping m = checked(d2t, t2d, source);
  if (static_cast<std::int64_t>(m.d2t.size()) != draft_vocab_size) {
    fail("{}: d2t has {} entries but the draft config's draft_vocab_size is {}", source, m.d2t.size(),
         draft_vocab_size);
  }
  if (static_cast<std::int64_t>(m.t2d.size()) != vocab_size) {
    fail("{}: t2d has {} entries but the draft config's vocab_size is {}", source, m.t2d.size(), vocab_size);
  }
  return m;
}

}  // namespace talon::data
