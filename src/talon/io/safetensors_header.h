// The safetensors header, parsed and validated without libtorch (so that the
// fuzzer exercises it alone). Layout of a file:
//   [u64 little-endian N][N bytes of JSON header][data buffer]
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin,
// end]} with offsets relative to the data buffer (file offset 8 + N), plus an
// optional "__metadata__" object of string -> string.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "talon/io/dtype.h"

namespace talon::io {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin, end;  // byte range inside the data buffer
  std::uint64_t byte_size() const { return end - begin; }
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // ordered by data offsets
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // file offset of the data buffer: 8 + N
};

// Header lengths above this are refused before anything is parsed (the
// reference Rust reader uses the same cap).
inline constexpr std::uint64_t kMaxHeaderSize = 100'000'000;

// Validates the whole file image `data[0, size)`: header length, JSON,
// every entry's fields, sizes against shapes, and that the tensors tile the
// data buffer exactly. Throws talon::Error naming `source` (and the tensor).
SafetensorsHeader parse_safetensors_header(const std::uint8_t* data, std::size_t size, const std::string& source);

}  // namespace talon::io
