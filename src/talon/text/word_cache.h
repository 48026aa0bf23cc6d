// A bounded, thread-safe cache from a word's bytes to its BPE ids. Words
// repeat (Zipf), so most BPE runs are skipped. The cache is split into
// shards, each behind its own mutex, so threads rarely contend; a full shard
// is emptied and refilled, which keeps memory bounded without LRU bookkeeping.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace talon::text {

class WordCache {
 public:
  static constexpr std::size_t kMaxWordBytes = 256;  // longer words are not cached

  explicit WordCache(std::size_t capacity = 1 << 16);
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;

  // Appends the cached ids of `word` to `ids`; false on a miss.
  bool lookup(std::string_view word, std::vector<std::int32_t>& ids) const;
  void store(std::string_view word, const std::int32_t* ids, std::size_t count) const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    std::string word;
    std::vector<std::int32_t> ids;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, Entry> entries;  // keyed by the word's hash
  };

  std::size_t shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace talon::text
