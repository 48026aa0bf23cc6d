#include "talon/data/batcher.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

#include "talon/util/error.h"

namespace talon::data {

namespace {

constexpr std::uint64_t kGamma = 0x9e3779b97f4a7c15ULL;

// splitmix64's output function (Steele, Lea and Flood 2014).
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t state) : state_(state) {}

  std::uint64_t next() { return mix64(state_ += kGamma); }

  // Uniform in [0, bound), bound > 0: draws below 2^64 mod bound are
  // rejected so every residue has the same number of preimages.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      std::uint64_t x = next();
      if (x >= threshold) return x % bound;
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace

std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  SplitMix64 rng(mix64(mix64(seed) + static_cast<std::uint64_t>(epoch)));
  for (std::size_t i = n; i-- > 1;) {
    std::swap(order[i], order[rng.below(static_cast<std::uint64_t>(i) + 1)]);
  }
  return order;
}

std::uint64_t batch_seed(std::uint64_t seed, std::int64_t epoch, const Batch& batch) {
  // A stream of its own, apart from epoch_order's (mix64(seed) + epoch).
  const std::uint64_t stream = mix64(mix64(seed ^ kGamma) + static_cast<std::uint64_t>(epoch));
  return mix64(stream + static_cast<std::uint64_t>(batch.indices.at(0)));
}

Batch make_batch(const PreparedDataset& data, const std::vector<std::size_t>& indices) {
  if (indices.empty()) fail("make_batch: no samples given (a batch needs at least one)");
  std::vector<SampleView> samples;
  samples.reserve(indices.size());
  for (std::size_t index : indices) {
    if (index >= data.size()) {
      fail("make_batch: sample index {} is past the end of {} ({} samples)", index, data.dir(), data.size());
    }
    samples.push_back(data.sample(index));
  }
  std::size_t longest = 0;
  for (const SampleView& s : samples) longest = std::max(longest, s.length);

  const auto rows = static_cast<std::int64_t>(samples.size());
  const auto cols = static_cast<std::int64_t>(longest);
  Batch batch;
  batch.indices = indices;
  batch.input_ids = at::zeros({rows, cols}, at::TensorOptions().dtype(at::kLong));
  batch.loss_mask = at::zeros({rows, cols}, at::TensorOptions().dtype(at::kFloat));
  batch.lengths = at::empty({rows}, at::TensorOptions().dtype(at::kLong));
  auto* ids = batch.input_ids.data_ptr<std::int64_t>();
  auto* mask = batch.loss_mask.data_ptr<float>();
  auto* lengths = batch.lengths.data_ptr<std::int64_t>();
  for (std::int64_t b = 0; b < rows; ++b) {
    const SampleView& s = samples[static_cast<std::size_t>(b)];
    for (std::size_t t = 0; t < s.length; ++t) {
      ids[b * cols + static_cast<std::int64_t>(t)] = s.input_ids[t];
      mask[b * cols + static_cast<std::int64_t>(t)] = s.loss_mask[t] ? 1.0f : 0.0f;
    }
    lengths[b] = static_cast<std::int64_t>(s.length);
    batch.num_tokens += static_cast<std::int64_t>(s.length);
  }
  return batch;
}

}  // namespace talon::data
