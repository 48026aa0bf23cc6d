#include "talon/model/batch_cache.h"

#include <ATen/ATen.h>

#include "talon/util/error.h"

namespace talon::model {

BatchCache::BatchCache(std::int64_t rows)
    : live_(at::zeros({rows, 0}, at::kBool)), lengths_(static_cast<std::size_t>(rows), 0) {}

at::Tensor BatchCache::mask(const at::Tensor& recent) const {
  const std::int64_t n = recent.size(1);
  return at::cat({live_.unsqueeze(1).expand({rows(), n, live_.size(1)}), recent.to(at::kCPU, at::kBool)}, 2);
}

at::Tensor BatchCache::positions(const at::Tensor& offsets) const {
  return offsets.to(at::kCPU, at::kLong) + at::tensor(lengths_, at::kLong).unsqueeze(1);
}

void BatchCache::settle(const std::vector<std::vector<std::int64_t>>& kept) {
  const std::int64_t n = kv_.length() - live_.size(1);
  if (static_cast<std::int64_t>(kept.size()) != rows()) {
    fail("batch cache: settling {} rows, the batch has {}", kept.size(), rows());
  }
  at::Tensor block = at::zeros({rows(), n}, at::kBool);
  for (std::size_t b = 0; b < kept.size(); ++b) {
    for (std::size_t i = 0; i < kept[b].size(); ++i) {
      const std::int64_t column = kept[b][i];
      if (column < 0 || column >= n || (i > 0 && column <= kept[b][i - 1])) {
        fail("batch cache: row {} keeps column {} of a block of {}: expected ascending columns in [0, {})", b, column,
             n, n);
      }
      block[static_cast<std::int64_t>(b)][column] = true;
    }
    lengths_[b] += static_cast<std::int64_t>(kept[b].size());
  }
  live_ = at::cat({live_, block}, 1);
  drop_dead_columns();
}

void BatchCache::discard_unsettled() { kv_.truncate(live_.size(1)); }

void BatchCache::keep_first(const std::vector<std::int64_t>& counts) {
  if (static_cast<std::int64_t>(counts.size()) != rows() || kv_.length() != live_.size(1)) {
    fail("batch cache: keep_first of {} rows on a batch of {} with {} unsettled columns", counts.size(), rows(),
         kv_.length() - live_.size(1));
  }
  for (std::size_t b = 0; b < counts.size(); ++b) {
    if (counts[b] < 0 || counts[b] > lengths_[b]) {
      fail("batch cache: row {} cannot keep its first {} tokens of {}", b, counts[b], lengths_[b]);
    }
    lengths_[b] = counts[b];
  }
  // A row's n-th token is its n-th live column.
  live_ = live_.logical_and(live_.cumsum(1) <= at::tensor(counts, at::kLong).unsqueeze(1));
  drop_dead_columns();
}

void BatchCache::keep_rows(const std::vector<std::int64_t>& rows) {
  const at::Tensor index = at::tensor(rows, at::kLong);
  kv_.keep(0, index);
  live_ = live_.index_select(0, index);
  std::vector<std::int64_t> lengths;
  for (std::int64_t row : rows) lengths.push_back(lengths_[static_cast<std::size_t>(row)]);
  lengths_ = std::move(lengths);
  drop_dead_columns();
}

void BatchCache::drop_dead_columns() {
  const at::Tensor used = live_.any(0);
  if (used.all().item<bool>()) return;
  const at::Tensor index = used.nonzero().squeeze(1);
  const std::int64_t settled = live_.size(1), kept = index.size(0);
  if (kv_.length() == settled && (kept == 0 || index[kept - 1].item<std::int64_t>() == kept - 1)) {
    kv_.truncate(kept);  // only trailing columns died: nothing to copy
  } else {
    kv_.keep(2, at::cat({index, at::arange(settled, kv_.length(), at::kLong)}));  // unsettled columns stay
  }
  live_ = live_.index_select(1, index);
}

}  // namespace talon::model
