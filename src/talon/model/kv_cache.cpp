#include "talon/model/kv_cache.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "talon/util/error.h"

namespace talon::model {

std::pair<at::Tensor, at::Tensor> KvCache::append(std::size_t layer, const at::Tensor& k, const at::Tensor& v) {
  if (keys.size() <= layer) {
    keys.resize(layer + 1);
    values.resize(layer + 1);
  }
  keys[layer] = keys[layer].defined() ? at::cat({keys[layer], k}, 2) : k.contiguous();
  values[layer] = values[layer].defined() ? at::cat({values[layer], v}, 2) : v.contiguous();
  return {keys[layer], values[layer]};
}

void KvCache::keep(std::int64_t dim, const at::Tensor& index) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const at::Tensor on_device = index.to(keys[i].device());
    keys[i] = keys[i].index_select(dim, on_device);
    values[i] = values[i].index_select(dim, on_device);
  }
}

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
