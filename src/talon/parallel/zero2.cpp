#include "talon/parallel/zero2.h"

#include <ATen/ATen.h>

#include "talon/util/error.h"

namespace talon::parallel {

Zero2Partition::Zero2Partition(const at::Tensor& like, const Group& dp)
    : shape_(like.sizes().vec()),
      numel_(like.numel()),
      chunk_((numel_ + dp.size() - 1) / dp.size()),
      fp32_(like.options().dtype(at::kFloat)),
      dp_(dp) {}

at::Tensor Zero2Partition::padded(const at::Tensor& whole) const {
  if (whole.numel() != numel_) fail("ZeRO-2 partition: expected {} elements, found {}", numel_, whole.numel());
  at::Tensor flat = whole.reshape({-1});
  const std::int64_t padding = chunk_ * dp_.size() - numel_;
  return padding == 0 ? flat : at::cat({flat, at::zeros({padding}, flat.options())});
}

at::Tensor Zero2Partition::own(const at::Tensor& whole) const {
  return padded(whole).narrow(0, dp_.rank() * chunk_, chunk_);
}

at::Tensor Zero2Partition::reduce_scatter(const at::Tensor& grad) const {
  at::Tensor flat = grad.defined() ? padded(grad.to(at::kFloat)) : at::zeros({chunk_ * dp_.size()}, fp32_);
  return dp_.reduce_scatter(flat.contiguous());
}

at::Tensor Zero2Partition::all_gather(const at::Tensor& chunk) const {
  return at::cat(dp_.all_gather(chunk)).narrow(0, 0, numel_).view(shape_);
}

}  // namespace talon::parallel
