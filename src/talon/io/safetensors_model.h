// The weights of a Hugging Face model directory: one model.safetensors, or
// shards listed by model.safetensors.index.json
//   {"metadata": {...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "talon/io/safetensors.h"

namespace talon::io {

class SafetensorsModel {
 public:
  // Opens and validates every shard, and checks that each tensor the index
  // lists exists in its shard. Throws talon::Error naming the index file,
  // the tensor and the shard.
  static SafetensorsModel open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  std::vector<std::string> names() const;  // sorted
  const TensorInfo& info(const std::string& name) const;
  // A zero-copy view (see SafetensorsFile::tensor); throws naming the tensor
  // and the directory when absent.
  at::Tensor tensor(const std::string& name) const;

 private:
  struct Location {
    std::size_t file;        // index into files_
    const TensorInfo* info;  // owned by the file's shared state, stable across copies
  };
  const Location& locate(const std::string& name) const;

  std::string dir_;
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, Location> where_;
};

}  // namespace talon::io
