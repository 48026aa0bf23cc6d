// The order training visits samples in, and padded batches of them. The
// order is a pure function of (seed, epoch) computed with Talon's own
// generator, so it is the same on every platform and standard library, and a
// resumed run sees the same batches as one that never stopped.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "talon/data/prepared_dataset.h"

namespace talon::data {

// A permutation of [0, n): Fisher-Yates (i from n-1 down to 1, swap i with a
// uniform j in [0, i]) driven by splitmix64 started at
// state = mix64(mix64(seed) + epoch); bounded draws reject outputs below
// 2^64 mod bound, so they are unbiased. scripts/goldens/
// make_epoch_order_golden.py is an independent copy.
std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::int64_t epoch);

// B samples right-padded to the longest, L. CPU tensors.
struct Batch {
  at::Tensor input_ids;    // [B, L] int64, 0 in padding
  at::Tensor loss_mask;    // [B, L] float32, 0 in padding
  at::Tensor lengths;      // [B] int64, real lengths
  std::int64_t num_tokens = 0;  // sum of lengths
  std::vector<std::size_t> indices;  // the samples' indices in the dataset, in row order
};

// The seed of a micro-batch's own random draws (the block drafters'
// anchors): splitmix64 of the run's seed, the epoch and the batch's first
// sample, which no other micro-batch of the epoch starts with. Every layout
// deals the same micro-batches, and a resumed run meets them again: the
// draws need no state of their own.
std::uint64_t batch_seed(std::uint64_t seed, std::int64_t epoch, const Batch& batch);

// Samples data[indices[0]], data[indices[1]], ... in that order. Throws
// talon::Error for an empty list or an index past the end.
Batch make_batch(const PreparedDataset& data, const std::vector<std::size_t>& indices);

}  // namespace talon::data
