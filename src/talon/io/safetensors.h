// Reading and writing safetensors files (format and validation rules: see
// safetensors_header.h and docs/formats.md).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "talon/io/dtype.h"
#include "talon/io/safetensors_header.h"

namespace talon::io {

// Tensors with their names, in order: what a safetensors file holds.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

at::ScalarType to_scalar_type(DType dtype);
std::optional<DType> to_dtype(at::ScalarType type);  // nullopt for types outside DType

// A validated, memory-mapped safetensors file. Copies are cheap and share the
// mapping; tensors read from it keep the mapping alive after the file object
// is gone.
class SafetensorsFile {
 public:
  // Maps and validates the whole header; throws talon::Error naming the file.
  static SafetensorsFile open(const std::string& path);
  // The same over a file image in memory; `owner` keeps `data` alive and is
  // held by every tensor returned. `name` stands for the file in errors.
  static SafetensorsFile from_buffer(std::shared_ptr<const void> owner, const std::uint8_t* data, std::size_t size,
                                     std::string name);

  const std::vector<TensorInfo>& tensors() const;         // ordered by data offsets
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
  const std::map<std::string, std::string>& metadata() const;
  const std::string& path() const;

  // A CPU tensor viewing the file's bytes without copying. The memory is
  // read-only: writing into the tensor crashes; clone() it first. The data
  // is copied only when misaligned for its dtype (a file whose writer did
  // not order tensors by alignment). Throws when `name` is absent, or for a
  // BOOL tensor holding a byte other than 0 or 1.
  at::Tensor tensor(const std::string& name) const;

 private:
  struct State;
  explicit SafetensorsFile(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

// Writes tensors (any device, any layout: contiguous CPU copies are made one
// at a time) to `path` atomically: a temporary file renamed into place, so a
// failure leaves an existing file untouched. Like the reference writer, the
// header is padded with spaces to a multiple of 8 bytes and the data ordered
// by decreasing element size (then name), so every tensor is aligned and the
// tensors tile the buffer. Names must be unique and not "__metadata__".
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace talon::io
