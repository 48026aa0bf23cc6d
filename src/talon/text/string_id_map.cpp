#include "talon/text/string_id_map.h"

#include <xxhash.h>

#include "talon/util/error.h"

namespace talon::text {

void StringIdMap::insert(std::string_view key, std::int32_t id) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  if (arena_.size() + key.size() > UINT32_MAX) fail("vocabulary strings exceed 4 GiB");
  std::uint64_t hash = XXH3_64bits(key.data(), key.size());
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.id < 0) {
      slot = {hash, static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(key.size()), id};
      arena_.append(key);
      ++size_;
      return;
    }
    if (slot.hash == hash && key_of(slot) == key) {
      slot.id = id;
      return;
    }
  }
}

std::optional<std::int32_t> StringIdMap::find(std::string_view key) const {
  if (slots_.empty()) return std::nullopt;
  std::uint64_t hash = XXH3_64bits(key.data(), key.size());
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.id < 0) return std::nullopt;
    if (slot.hash == hash && key_of(slot) == key) return slot.id;
  }
}

void StringIdMap::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
  std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.id < 0) continue;
    std::size_t i = slot.hash & mask;
    while (slots_[i].id >= 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

}  // namespace talon::text
