// The check for NaN and infinity in a target's weights as they load (a
// corrupt or badly converted checkpoint would otherwise surface as a NaN
// loss or garbage text hours later). Made on the copy the model computes
// with, so an overflow in the conversion to its dtype is caught too.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace talon::model {

enum class WeightCheck {
  // At most 4096 evenly spaced elements per tensor: the default, negligible
  // next to reading the weights.
  Sampled,
  // Every element (--verify-target-weights): one more pass over the weights
  // in memory, about as long as computing their sum.
  Full,
};

struct NonFinite {
  std::vector<std::int64_t> index;  // into the tensor, one entry per dimension
  double value;                     // nan, inf or -inf
};

// The first NaN or infinity in `weight` among the elements `check` covers.
std::optional<NonFinite> first_non_finite(const at::Tensor& weight, WeightCheck check);

}  // namespace talon::model
