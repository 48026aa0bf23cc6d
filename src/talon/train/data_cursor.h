// The trainer's position in the training set: epoch by epoch, in
// micro-batches of a fixed size over the epoch's sample order
// (data::epoch_order). The position is two integers, so a checkpoint stores
// it and a resumed run continues with the very next micro-batch.
#pragma once

#include <cstdint>
#include <vector>

namespace talon::train {

class DataCursor {
 public:
  DataCursor(std::size_t num_samples, std::int64_t micro_batch_size, std::uint64_t seed);

  // ceil(num_samples / micro_batch_size); the last micro-batch may be short.
  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  std::int64_t epoch() const { return epoch_; }
  std::int64_t batch() const { return batch_; }  // micro-batches taken in this epoch
  bool epoch_done() const { return batch_ == batches_per_epoch_; }

  // Sample indices of the next micro-batch of this epoch; epoch_done() must be false.
  std::vector<std::size_t> next();
  void start_next_epoch() { seek(epoch_ + 1, 0); }
  void seek(std::int64_t epoch, std::int64_t batch);

 private:
  std::size_t num_samples_;
  std::int64_t micro_batch_size_, batches_per_epoch_;
  std::uint64_t seed_;
  std::int64_t epoch_ = 0, batch_ = 0;
  std::vector<std::size_t> order_;  // of epoch_
};

}  // namespace talon::train
