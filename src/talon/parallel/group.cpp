#include "talon/parallel/group.h"

#include <ATen/ATen.h>

#include "talon/parallel/group_impl.h"
#include "talon/util/error.h"

namespace talon::parallel {
namespace {

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::Max:
      return c10d::ReduceOp::MAX;
    case ReduceOp::Min:
      return c10d::ReduceOp::MIN;
    case ReduceOp::Sum:
      break;
  }
  return c10d::ReduceOp::SUM;
}

// Runs one collective and waits for it; a failure becomes a talon::Error
// that names the group, the operation and what the heartbeats tell.
template <typename Start>
void run(const Group::Impl& g, const char* what, Start&& start) {
  try {
    c10::intrusive_ptr<c10d::Work> work = start();
    work->wait(g.timeout);
  } catch (const std::exception& e) {
    fail("{} on the {} group ({} ranks, this is its rank {}) failed: {}. {}", what, g.name, g.size, g.rank, e.what(),
         g.diagnose ? g.diagnose() : std::string());
  }
}

void check_contiguous(const at::Tensor& t, const char* what) {
  if (!t.is_contiguous()) fail("{}: the tensor must be contiguous", what);
}

}  // namespace

int Group::rank() const { return impl_ ? impl_->rank : 0; }
int Group::size() const { return impl_ ? impl_->size : 1; }

const std::string& Group::name() const {
  static const std::string kSelf = "self";
  return impl_ ? impl_->name : kSelf;
}

void Group::all_reduce(const at::Tensor& t, ReduceOp op) const {
  if (!impl_) return;
  check_contiguous(t, "all_reduce");
  std::vector<at::Tensor> tensors = {t};
  c10d::AllreduceOptions options;
  options.reduceOp = to_c10d(op);
  run(*impl_, "all_reduce", [&] { return impl_->backend->allreduce(tensors, options); });
}

std::vector<at::Tensor> Group::all_gather(const at::Tensor& t) const {
  if (!impl_) return {t};
  at::Tensor input = t.contiguous();
  std::vector<at::Tensor> inputs = {input};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < impl_->size; ++r) outputs[0].push_back(at::empty_like(input));
  run(*impl_, "all_gather", [&] { return impl_->backend->allgather(outputs, inputs); });
  return outputs[0];
}

at::Tensor Group::reduce_scatter(const at::Tensor& t) const {
  if (t.size(0) % size() != 0) {
    fail("reduce_scatter on the {} group: {} rows do not split into {} equal blocks", name(), t.size(0), size());
  }
  const std::int64_t block = t.size(0) / size();
  if (!impl_) return t;
  if (impl_->nccl) {
    at::Tensor input = t.contiguous();
    at::Tensor output = at::empty_like(input.narrow(0, 0, block));
    run(*impl_, "reduce_scatter", [&] { return impl_->backend->_reduce_scatter_base(output, input); });
    return output;
  }
  // Gloo: an all-reduce, keeping this rank's block (the same sum, twice the traffic).
  at::Tensor sum = t.contiguous().clone();
  all_reduce(sum);
  return sum.narrow(0, block * rank(), block).clone();
}

void Group::broadcast(const at::Tensor& t, int root) const {
  if (!impl_) return;
  check_contiguous(t, "broadcast");
  std::vector<at::Tensor> tensors = {t};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  run(*impl_, "broadcast", [&] { return impl_->backend->broadcast(tensors, options); });
}

void Group::barrier() const {
  if (!impl_) return;
  c10d::BarrierOptions options;
  if (impl_->nccl) options.device_ids = {impl_->device_index};  // else NCCL guesses the GPU from the rank
  run(*impl_, "barrier", [&] { return impl_->backend->barrier(options); });
}

}  // namespace talon::parallel
