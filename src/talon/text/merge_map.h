// The BPE merge table: (left id, right id) -> (rank, merged id), as an
// open-addressing hash keyed by both ids packed in 64 bits. Looked up for
// every adjacent pair of every word, so it must be cheap.
#pragma once

#include <cstdint>
#include <vector>

namespace talon::text {

struct Merge {
  std::uint32_t rank;
  std::int32_t id;
};

class MergeMap {
 public:
  // Inserts or, when the pair exists, replaces it (a later duplicate merge wins, as in HF).
  void insert(std::int32_t left, std::int32_t right, Merge merge);

  const Merge* find(std::int32_t left, std::int32_t right) const {
    if (slots_.empty()) return nullptr;
    std::uint64_t key = pack(left, right);
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = slot_of(key);; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};  // ids are non-negative int32
  struct Slot {
    std::uint64_t key = kEmpty;
    Merge merge{};
  };
  static std::uint64_t pack(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }
  std::size_t slot_of(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void grow();

  std::vector<Slot> slots_;
  int shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace talon::text
