#include "talon/model/weight_check.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace talon::model {

std::optional<NonFinite> first_non_finite(const at::Tensor& weight, WeightCheck check) {
  constexpr std::int64_t kSampledElements = 4096;
  const at::Tensor flat = weight.reshape(-1);
  const std::int64_t n = flat.numel();
  const std::int64_t step =
      check == WeightCheck::Full ? 1 : std::max<std::int64_t>(1, (n + kSampledElements - 1) / kSampledElements);
  const at::Tensor bad = at::isfinite(flat.slice(0, 0, n, step)).logical_not();
  if (!bad.any().item<bool>()) return std::nullopt;
  std::int64_t rest = bad.nonzero()[0][0].item<std::int64_t>() * step;
  NonFinite found{std::vector<std::int64_t>(weight.dim()), flat[rest].item<double>()};
  for (std::int64_t d = weight.dim() - 1; d >= 0; --d) {
    found.index[d] = rest % weight.size(d);
    rest /= weight.size(d);
  }
  return found;
}

}  // namespace talon::model
