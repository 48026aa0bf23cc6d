#include "talon/text/word_cache.h"

#include <xxhash.h>

namespace talon::text {

WordCache::WordCache(std::size_t capacity) : shard_capacity_(capacity / kShards + 1) {}

bool WordCache::lookup(std::string_view word, std::vector<std::int32_t>& ids) const {
  if (word.size() > kMaxWordBytes) return false;
  std::uint64_t hash = XXH3_64bits(word.data(), word.size());
  Shard& shard = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.entries.find(hash);
  if (it == shard.entries.end() || it->second.word != word) return false;
  ids.insert(ids.end(), it->second.ids.begin(), it->second.ids.end());
  return true;
}

void WordCache::store(std::string_view word, const std::int32_t* ids, std::size_t count) const {
  if (word.size() > kMaxWordBytes) return;
  std::uint64_t hash = XXH3_64bits(word.data(), word.size());
  Shard& shard = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.entries.size() >= shard_capacity_) shard.entries.clear();
  Entry& entry = shard.entries[hash];
  entry.word.assign(word);
  entry.ids.assign(ids, ids + count);
}

}  // namespace talon::text
