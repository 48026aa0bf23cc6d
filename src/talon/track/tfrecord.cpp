#include "talon/track/tfrecord.h"

#include <cstdint>

#include "talon/track/crc32c.h"

namespace talon::track {
namespace {

// Little-endian whatever the host: the format fixes the byte order.
void append_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

void append_tfrecord(std::string& out, std::string_view data) {
  std::size_t header_at = out.size();
  append_le(out, data.size(), 8);
  append_le(out, mask_crc(crc32c(std::string_view(out).substr(header_at, 8))), 4);
  out.append(data);
  append_le(out, mask_crc(crc32c(data)), 4);
}

}  // namespace talon::track
