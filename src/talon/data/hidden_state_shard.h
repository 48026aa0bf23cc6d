// One shard of an offline hidden-state cache (`talon cache`; layout in
// docs/formats.md): a safetensors file holding, for each of its samples k
// (the sample's index in the prepared dataset), four tensors
//   k.input_ids          I32 [n]
//   k.loss_mask          U8  [n]
//   k.aux_hidden_states  BF16 or F32 [n, mH]  the m aux layers' outputs
//   k.hidden_states      BF16 or F32 [n, H]   final_norm(last layer output)
// Its __metadata__ names the cache it belongs to and holds each sample's
// XXH64, checked whenever the sample is read; the cache index holds the
// XXH64 of the shard's header, so those checksums are covered too.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "talon/io/safetensors.h"

namespace talon::data {

// A sample as the target produced it; CPU tensors, written as they are.
struct HiddenStateSample {
  std::int64_t index = 0;
  at::Tensor input_ids;  // int32 [n]
  at::Tensor loss_mask;  // uint8 [n]
  at::Tensor aux;        // [n, mH]
  at::Tensor hidden;     // [n, H], same dtype as aux
};

// A sample read back: CPU views of the mapped file, verified.
struct CachedSample {
  at::Tensor input_ids;  // int32 [n]
  at::Tensor loss_mask;  // uint8 [n]
  at::Tensor aux;        // [n, mH]
  at::Tensor hidden;     // [n, H]
};

// What the cache index records of a complete shard.
struct ShardRecord {
  std::string file;  // name inside the cache directory
  std::int64_t first_sample = 0, num_samples = 0, num_tokens = 0;
  std::uint64_t bytes = 0;   // file size
  std::string header_xxh64;  // of the file's first 8 + N bytes
};

// What every shard of a cache shares, checked when one is opened.
struct ShardFormat {
  std::string cache_id;  // CacheSettings::id()
  std::int64_t hidden_size = 0;
  std::int64_t aux_layers = 3;  // m
  at::ScalarType dtype = at::kBFloat16;
};

// Writes `samples` (consecutive indices) atomically to dir/file.
void write_shard(const std::string& dir, const std::string& file, const std::vector<HiddenStateSample>& samples,
                        const ShardFormat& format);

class HiddenStateShard {
 public:
  // The fast check every reader does: the file's size and header checksum
  // against `record`, then the header against `format` and the record's
  // sample range (every tensor present with its shape and dtype). Errors
  // name the file.
  static HiddenStateShard open(const std::string& dir, const ShardRecord& record, const ShardFormat& format);
  // A record of the file as it is, for the index; its header is checked
  // against `format` as in open().
  static ShardRecord describe(const std::string& dir, const std::string& file, const ShardFormat& format);

  // Sample `index` (inside the record's range), its checksum verified.
  CachedSample sample(std::int64_t index) const;
  const ShardRecord& record() const { return record_; }

 private:
  HiddenStateShard(io::SafetensorsFile file, ShardRecord record, std::vector<std::uint64_t> checksums)
      : file_(std::move(file)), record_(std::move(record)), checksums_(std::move(checksums)) {}
  io::SafetensorsFile file_;
  ShardRecord record_;
  std::vector<std::uint64_t> checksums_;  // per sample, from the metadata
};

}  // namespace talon::data
