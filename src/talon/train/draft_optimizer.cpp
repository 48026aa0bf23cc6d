#include "talon/train/draft_optimizer.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/ranges.h>

#include <map>

#include "talon/train/grad_clip.h"
#include "talon/util/error.h"

namespace talon::train {
namespace {

NamedTensors make_masters(const NamedTensors& params, const std::vector<parallel::Zero2Partition>& partitions) {
  at::NoGradGuard no_grad;
  NamedTensors masters;
  for (std::size_t i = 0; i < params.size(); ++i) {
    masters.emplace_back(params[i].first, partitions[i].own(params[i].second.detach().to(at::kFloat)).clone());
  }
  return masters;
}

std::vector<parallel::Zero2Partition> make_partitions(const NamedTensors& params, const parallel::Group& dp) {
  std::vector<parallel::Zero2Partition> partitions;
  for (const auto& [name, p] : params) partitions.emplace_back(p, dp);
  return partitions;
}

}  // namespace

DraftOptimizer::DraftOptimizer(NamedTensors params, std::vector<parallel::TpShard> shards,
                               const parallel::ProcessGroups& groups)
    : params_(std::move(params)),
      shards_(std::move(shards)),
      partitions_(make_partitions(params_, groups.draft_dp())),
      groups_(groups),
      adamw_(make_masters(params_, partitions_)) {
  masters_ = adamw_.params();
}

double DraftOptimizer::reduce_and_clip(double max_norm, double grad_scale) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> counted, all;  // counted: the first holder of each TP block
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor grad = params_[i].second.grad();
    if (grad.defined()) shards_[i].reduce_partial_grad(grad, groups_.draft_tp());
    at::Tensor master = masters_[i].second;
    master.mutable_grad() = partitions_[i].reduce_scatter(grad);
    if (grad_scale != 1.0) master.mutable_grad().mul_(grad_scale);
    all.push_back(master);
    if (shards_[i].primary(groups_.draft_tp())) counted.push_back(master);
  }
  at::Tensor norm_squared = grad_norm_squared(counted).to(all.front().device()).contiguous();
  groups_.world().all_reduce(norm_squared);
  return clip_to_norm(all, norm_squared, max_norm);
}

void DraftOptimizer::step(double lr) {
  adamw_.step(lr);
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    params_[i].second.detach().copy_(partitions_[i].all_gather(masters_[i].second));
  }
}

void DraftOptimizer::zero_grads() {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    params_[i].second.mutable_grad().reset();
    masters_[i].second.mutable_grad().reset();
  }
}

at::Tensor DraftOptimizer::gather_whole(std::size_t i, const at::Tensor& chunk) const {
  return shards_[i].gather(partitions_[i].all_gather(chunk), groups_.draft_tp());
}

std::size_t DraftOptimizer::param_of(const std::string& state_name) const {
  const std::string name = state_name.substr(state_name.find('.') + 1);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].first == name) return i;
  }
  fail("AdamW state entry {} names no parameter", state_name);
}

DraftOptimizer::State DraftOptimizer::full_state(bool keep) const {
  at::NoGradGuard no_grad;
  State out;
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    at::Tensor whole = gather_whole(i, masters_[i].second);
    if (keep) out.masters.emplace_back(masters_[i].first, whole.cpu());
  }
  for (const auto& [name, value] : adamw_.state()) {
    at::Tensor whole = name == "step" ? value : gather_whole(param_of(name), value);
    if (keep) out.adamw.emplace_back(name, whole.cpu());
  }
  return out;
}

at::Tensor DraftOptimizer::own_chunk(std::size_t i, const at::Tensor& whole, const std::string& name,
                                     const std::string& source) const {
  std::vector<std::int64_t> shape = params_[i].second.sizes().vec();  // the slice's, with the split put back together
  if (shards_[i].dim >= 0) shape[shards_[i].dim] *= shards_[i].parts;
  if (whole.sizes() != at::IntArrayRef(shape)) {
    fail("{}: tensor {} has shape [{}], expected [{}]", source, name, fmt::join(whole.sizes(), ", "),
         fmt::join(shape, ", "));
  }
  return partitions_[i].own(shards_[i].slice(whole).to(masters_[i].second.device(), at::kFloat).contiguous());
}

void DraftOptimizer::load_full_state(const State& state, const std::string& source) {
  at::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> masters(state.masters.begin(), state.masters.end());
  std::map<std::string, at::Tensor> adamw(state.adamw.begin(), state.adamw.end());
  auto find = [&](const std::map<std::string, at::Tensor>& in, const std::string& name, const std::string& shown) {
    auto it = in.find(name);
    if (it == in.end()) fail("{}: missing tensor {}", source, shown);
    return it->second;
  };
  NamedTensors chunks;  // AdamW's state, this rank's chunks
  for (const auto& [name, live] : adamw_.state()) {
    const at::Tensor whole = find(adamw, name, name);
    chunks.emplace_back(name, name == "step" ? whole : own_chunk(param_of(name), whole, name, source));
  }
  std::vector<at::Tensor> values;
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    const std::string shown = "master." + masters_[i].first;
    values.push_back(own_chunk(i, find(masters, masters_[i].first, shown), shown, source));
  }
  adamw_.load_state(chunks);
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    masters_[i].second.copy_(values[i]);
    params_[i].second.detach().copy_(partitions_[i].all_gather(masters_[i].second));
  }
}

}  // namespace talon::train
