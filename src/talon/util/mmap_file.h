// A read-only memory map of a whole file. Movable, not copyable; unmapped
// when the last owner goes away (share it with std::shared_ptr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace talon::util {

class MmapFile {
 public:
  explicit MmapFile(const std::string& path);  // throws talon::Error
  ~MmapFile();
  MmapFile(MmapFile&& other) noexcept;
  MmapFile& operator=(MmapFile&& other) noexcept;
  MmapFile(const MmapFile&) = delete;
  MmapFile& operator=(const MmapFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace talon::util
