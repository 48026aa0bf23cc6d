#include "talon/model/block/anchors.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "talon/util/error.h"

namespace talon::model {

at::Tensor anchor_candidates(const at::Tensor& loss_mask) {
  if (loss_mask.dim() != 2 || loss_mask.size(1) < 2) {
    fail("block anchors: expected loss_mask [B, S] with S >= 2, found [{}]", fmt::join(loss_mask.sizes(), ", "));
  }
  at::Tensor supervised = loss_mask > 0.5;
  const std::int64_t s = loss_mask.size(1);
  return supervised.narrow(1, 0, s - 1).logical_and(supervised.narrow(1, 1, s - 1));
}

BlockAnchors sample_anchors(const at::Tensor& loss_mask, std::int64_t num_anchors, at::Generator generator) {
  if (num_anchors <= 0) fail("block anchors: num_anchors must be positive, found {}", num_anchors);
  at::Tensor candidates = anchor_candidates(loss_mask).cpu();
  const std::int64_t batch = candidates.size(0), positions = candidates.size(1);
  at::Tensor counts = candidates.sum(1);
  const std::int64_t blocks = std::max<std::int64_t>(1, std::min(num_anchors, counts.max().item<std::int64_t>()));
  at::Tensor u = at::rand({batch, positions}, generator, at::kFloat);
  u.masked_fill_(candidates.logical_not(), 2.0);
  at::Tensor order = u.argsort(/*stable=*/false, /*dim=*/1).narrow(1, 0, std::min(blocks, positions));
  if (order.size(1) < blocks) order = at::constant_pad_nd(order, {0, blocks - order.size(1)}, positions);
  // The first min(count, N) of each sample are candidates; the rest become
  // a sentinel past every position, sorted last, then dropped.
  at::Tensor rank = at::arange(blocks, at::kLong).view({1, -1});
  at::Tensor kept_rank = rank < counts.view({-1, 1});
  at::Tensor sorted = std::get<0>(at::where(kept_rank, order, positions).sort(1));
  at::Tensor keep = sorted < positions;
  const at::Device device = loss_mask.device();
  return {at::where(keep, sorted, 0).to(device), keep.to(device)};
}

at::Tensor block_input_ids(const at::Tensor& input_ids, const BlockAnchors& blocks, std::int64_t block_size,
                           std::int64_t mask_token_id) {
  const std::int64_t batch = blocks.anchors.size(0), count = blocks.anchors.size(1);
  at::Tensor anchor_tokens = input_ids.gather(1, blocks.anchors.clamp(0, input_ids.size(1) - 1));
  at::Tensor first = at::where(blocks.keep, anchor_tokens, mask_token_id);  // [B, N]
  at::Tensor ids = at::full({batch, count, block_size}, mask_token_id, input_ids.options());
  ids.select(2, 0).copy_(first);
  return ids.view({batch, count * block_size});
}

BlockGather gather_block_tokens(const at::Tensor& input_ids, const at::Tensor& anchors, std::int64_t offset,
                                std::int64_t width) {
  const std::int64_t length = input_ids.size(1);
  at::Tensor position = anchors.unsqueeze(-1) + offset + at::arange(width, anchors.options()).view({1, 1, -1});
  at::Tensor index = position.clamp_max(length - 1);
  at::Tensor ids = input_ids.gather(1, index.flatten(1)).view(index.sizes());
  return {ids, position < length, index};
}

}  // namespace talon::model
