// A hash map from byte strings to ids with open addressing and every key in
// one arena: the vocabulary lookup on the hot path of encoding, by
// string_view without building a std::string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talon::text {

class StringIdMap {
 public:
  // Inserts or, when the key exists, replaces its id.
  void insert(std::string_view key, std::int32_t id);
  std::optional<std::int32_t> find(std::string_view key) const;
  std::size_t size() const { return size_; }

  // Calls visit(key, id) for every entry, in no particular order.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.id >= 0) visit(key_of(slot), slot.id);
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::int32_t id = -1;  // -1: empty
  };
  std::string_view key_of(const Slot& slot) const { return {arena_.data() + slot.offset, slot.length}; }
  void grow();

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t size_ = 0;
};

}  // namespace talon::text
