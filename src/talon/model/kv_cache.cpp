#include "talon/model/kv_cache.h"

#include <ATen/ATen.h>

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

void KvCache::keep(const at::Tensor& positions) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const at::Tensor index = positions.to(keys[i].device());
    keys[i] = keys[i].index_select(2, index);
    values[i] = values[i].index_select(2, index);
  }
}

}  // namespace talon::model
