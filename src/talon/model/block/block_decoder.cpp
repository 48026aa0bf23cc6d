#include "talon/model/block/block_decoder.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "talon/model/block/block_forward.h"
#include "talon/model/layers.h"

namespace talon::model {

BlockContext::BlockContext(const BlockDraft& draft)
    : draft_(&draft), inv_freq_(block_inv_freq(draft, draft.fc.device())) {
  const BlockDraftConfig& c = draft.config;
  const at::Tensor empty = at::empty({1, c.num_key_value_heads, 0, c.head_dim}, draft.fc.options());
  keys_.assign(draft.layers.size(), empty);
  values_.assign(draft.layers.size(), empty);
}

void BlockContext::append(const at::Tensor& features) {
  at::NoGradGuard no_grad;
  const at::Device device = draft_->fc.device();
  const at::Tensor c = context_rows(*draft_, features.to(device).unsqueeze(0));  // [1, n, H]
  const at::Tensor positions = at::arange(length_, length_ + features.size(0), at::TensorOptions().dtype(at::kLong).device(device));
  const RopeTable rope = rope_table(inv_freq_, positions, draft_->fc.scalar_type());
  for (std::size_t i = 0; i < draft_->layers.size(); ++i) {
    const ContextKv kv = context_kv(*draft_, i, c, rope);
    keys_[i] = at::cat({keys_[i], kv.k}, 2);
    values_[i] = at::cat({values_[i], kv.v}, 2);
  }
  length_ += features.size(0);
}

at::Tensor BlockContext::block(const at::Tensor& ids) const {
  at::NoGradGuard no_grad;
  const BlockDraft& draft = *draft_;
  const at::Device device = draft.fc.device();
  const at::ScalarType dtype = draft.fc.scalar_type();
  const std::int64_t bs = ids.size(0);
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(device);
  const BlockRope rope{rope_table(inv_freq_, at::empty({0}, longs), dtype),
                       rope_table(inv_freq_, at::arange(length_, length_ + bs, longs), dtype)};
  const at::Tensor none = at::empty({1, 0, draft.config.hidden_size}, draft.fc.options());  // no new context rows
  at::Tensor x = draft.embed_tokens.index_select(0, ids.to(device)).unsqueeze(0).to(dtype);
  const at::Tensor key = at::arange(length_ + bs, longs).view({1, -1});  // context, then the block
  const at::Tensor slot = at::arange(bs, longs).view({-1, 1});
  for (std::size_t i = 0; i < draft.layers.size(); ++i) {
    const std::int64_t window = draft.config.window_of(i);
    // [bs, length + bs]: the context before the block, the whole block.
    at::Tensor visible = at::ones({bs, length_ + bs}, at::TensorOptions().dtype(at::kBool).device(device));
    if (window > 0) {
      const at::Tensor in_context = key < length_;
      const at::Tensor context_ok = key >= length_ + slot - (window - 1);
      const at::Tensor block_ok = (key - length_) <= slot;
      visible = at::where(in_context, context_ok, block_ok);
    }
    auto attend = [&](const at::Tensor& q, const at::Tensor&, const at::Tensor&, const at::Tensor& bk,
                      const at::Tensor& bv) {
      return masked_attention(q, at::cat({keys_[i], bk}, 2), at::cat({values_[i], bv}, 2), visible);
    };
    x = block_layer(draft, i, x, none, rope, attend);
  }
  return rms_norm(x, draft.norm, draft.config.rms_norm_eps).squeeze(0);
}

}  // namespace talon::model
