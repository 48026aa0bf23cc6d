// TFRecord framing, the container of TensorBoard event files. One record:
//   uint64 length (little-endian)
//   uint32 mask_crc(crc32c(the 8 length bytes))
//   length bytes of data
//   uint32 mask_crc(crc32c(data))
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace talon::track {

constexpr std::size_t kTfRecordOverhead = 8 + 4 + 4;

// Appends the framed record for `data` to `out`.
void append_tfrecord(std::string& out, std::string_view data);

}  // namespace talon::track
