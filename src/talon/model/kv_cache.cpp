#include "talon/model/kv_cache.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "talon/util/error.h"

namespace talon::model {

namespace {

// `buffer` [B, kv, capacity, d] with room for `needed` positions, its
// first `used` kept.
void reserve(at::Tensor& buffer, std::int64_t used, std::int64_t needed, const at::Tensor& like) {
  if (buffer.defined() && buffer.size(2) >= needed) return;
  const std::int64_t capacity = used == 0 ? needed : std::max(needed, used + used / 2);
  at::Tensor grown = at::empty({like.size(0), like.size(1), capacity, like.size(3)}, like.options());
  if (used > 0) grown.narrow(2, 0, used).copy_(buffer.narrow(2, 0, used));
  buffer = std::move(grown);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> KvCache::append(std::size_t layer, const at::Tensor& k, const at::Tensor& v) {
  if (keys_.size() <= layer) {
    keys_.resize(layer + 1);
    values_.resize(layer + 1);
    lengths_.resize(layer + 1, 0);
  }
  const std::int64_t used = lengths_[layer], total = used + k.size(2);
  reserve(keys_[layer], used, total, k);
  reserve(values_[layer], used, total, v);
  keys_[layer].narrow(2, used, k.size(2)).copy_(k);
  values_[layer].narrow(2, used, v.size(2)).copy_(v);
  lengths_[layer] = total;
  return {keys_[layer].narrow(2, 0, total), values_[layer].narrow(2, 0, total)};
}

void KvCache::keep(std::int64_t dim, const at::Tensor& index) {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const at::Tensor on_device = index.to(keys_[i].device());
    keys_[i] = keys_[i].narrow(2, 0, lengths_[i]).index_select(dim, on_device);
    values_[i] = values_[i].narrow(2, 0, lengths_[i]).index_select(dim, on_device);
    lengths_[i] = keys_[i].size(2);
  }
}

void KvCache::truncate(std::int64_t length) {
  for (std::int64_t& used : lengths_) {
    if (length > used) fail("kv cache: cannot keep {} positions of {}", length, used);
    used = length;
  }
}

at::Tensor KvCache::keys(std::size_t layer) const { return keys_.at(layer).narrow(2, 0, lengths_.at(layer)); }

at::Tensor KvCache::values(std::size_t layer) const { return values_.at(layer).narrow(2, 0, lengths_.at(layer)); }

void check_decoding_inputs(const char* who, const at::Tensor& input_ids, const at::Tensor& positions,
                           const at::Tensor& mask, const KvCache& cache) {
  const bool ids_ok = input_ids.dim() == 2 && input_ids.scalar_type() == at::kLong;
  const std::int64_t b = ids_ok ? input_ids.size(0) : -1, n = ids_ok ? input_ids.size(1) : -1;
  const std::int64_t columns = cache.length() + n;
  if (!ids_ok || positions.sizes() != at::IntArrayRef{b, n} || positions.scalar_type() != at::kLong ||
      mask.sizes() != at::IntArrayRef{b, n, columns} || mask.scalar_type() != at::kBool) {
    fail(
        "{}: for input_ids {} [{}] and {} cached positions expected int64 positions [{}, {}] and a bool mask "
        "[{}, {}, {}], found {} [{}] and {} [{}]",
        who, c10::toString(input_ids.scalar_type()), fmt::join(input_ids.sizes(), ", "), cache.length(), b, n, b, n,
        columns, c10::toString(positions.scalar_type()), fmt::join(positions.sizes(), ", "),
        c10::toString(mask.scalar_type()), fmt::join(mask.sizes(), ", "));
  }
}

}  // namespace talon::model
