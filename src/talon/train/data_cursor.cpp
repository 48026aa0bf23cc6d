#include "talon/train/data_cursor.h"

#include <algorithm>

#include "talon/data/batcher.h"
#include "talon/util/error.h"

namespace talon::train {

DataCursor::DataCursor(std::size_t num_samples, std::int64_t micro_batch_size, std::uint64_t seed)
    : num_samples_(num_samples), micro_batch_size_(micro_batch_size), seed_(seed) {
  if (num_samples == 0) fail("the training set is empty");
  if (micro_batch_size <= 0) fail("--draft-micro-batch-size must be positive, found {}", micro_batch_size);
  batches_per_epoch_ = (static_cast<std::int64_t>(num_samples) + micro_batch_size - 1) / micro_batch_size;
  seek(0, 0);
}

void DataCursor::seek(std::int64_t epoch, std::int64_t batch) {
  if (batch < 0 || batch > batches_per_epoch_) {
    fail("data position {} is outside the epoch's {} micro-batches", batch, batches_per_epoch_);
  }
  if (epoch != epoch_ || order_.empty()) order_ = data::epoch_order(num_samples_, seed_, epoch);
  epoch_ = epoch;
  batch_ = batch;
}

std::vector<std::size_t> DataCursor::next() {
  if (epoch_done()) fail("DataCursor::next past the end of epoch {}", epoch_);
  const std::size_t begin = static_cast<std::size_t>(batch_ * micro_batch_size_);
  const std::size_t end = std::min(num_samples_, begin + static_cast<std::size_t>(micro_batch_size_));
  ++batch_;
  return {order_.begin() + static_cast<std::ptrdiff_t>(begin), order_.begin() + static_cast<std::ptrdiff_t>(end)};
}

}  // namespace talon::train
