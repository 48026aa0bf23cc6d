// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum that
// frames TFRecords. crc32c is table-driven (slicing-by-8); crc32c_reference
// is the bit-at-a-time definition it is tested against.
#pragma once

#include <cstdint>
#include <string_view>

namespace talon::track {

// `crc` is an earlier result to extend: crc32c(b, crc32c(a)) == crc32c(a + b).
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0);
std::uint32_t crc32c_reference(std::string_view bytes, std::uint32_t crc = 0);

// TFRecord stores CRCs rotated and offset, so that a CRC of data that itself
// holds CRCs is not degenerate.
constexpr std::uint32_t kCrcMaskDelta = 0xa282ead8u;
constexpr std::uint32_t mask_crc(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }
constexpr std::uint32_t unmask_crc(std::uint32_t masked) {
  std::uint32_t rotated = masked - kCrcMaskDelta;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace talon::track
