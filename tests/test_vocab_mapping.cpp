#include "talon/data/vocab_mapping.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "talon/io/safetensors.h"
#include "talon/util/error.h"
#include "test_support.h"

using talon::data::VocabCounter;
using talon::data::VocabMapping;

namespace {

struct Sample {
  std::vector<std::int32_t> ids;
  std::vector<std::uint8_t> mask;
};

// Brief §2 written out directly: rank every seen id by (count desc, first
// appearance asc), fill with the smallest unseen ids, sort.
std::vector<std::int64_t> reference_used(const std::vector<Sample>& samples, std::int64_t vocab, std::int64_t vd) {
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> stats;  // id -> (count, first position)
  std::int64_t position = 0;
  for (const auto& s : samples) {
    for (std::size_t t = 0; t < s.ids.size(); ++t, ++position) {
      if (!s.mask[t]) continue;
      auto [it, inserted] = stats.try_emplace(s.ids[t], 0, position);
      it->second.first++;
    }
  }
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> ranked;  // (-count, first, id)
  for (auto& [id, cf] : stats) ranked.emplace_back(-cf.first, cf.second, id);
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::int64_t> used;
  for (auto& r : ranked) {
    if (static_cast<std::int64_t>(used.size()) == vd) break;
    used.push_back(std::get<2>(r));
  }
  for (std::int64_t id = 0; static_cast<std::int64_t>(used.size()) < vd && id < vocab; ++id) {
    if (!stats.count(id)) used.push_back(id);
  }
  std::sort(used.begin(), used.end());
  return used;
}

std::vector<Sample> random_samples(std::mt19937& rng, int n, std::int64_t vocab, double zipf_skew) {
  std::vector<Sample> out;
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    Sample s;
    int len = 1 + rng() % 40;
    for (int t = 0; t < len; ++t) {
      // Skewed ids give many ties among rare ids, the case the tie rule decides.
      s.ids.push_back(static_cast<std::int32_t>(std::pow(u(rng), zipf_skew) * vocab) % vocab);
      s.mask.push_back(u(rng) < 0.6);
    }
    out.push_back(s);
  }
  return out;
}

VocabMapping build(const std::vector<Sample>& samples, std::int64_t vocab, std::int64_t vd) {
  VocabCounter counter(vocab);
  for (const auto& s : samples) counter.add(s.ids.data(), s.mask.data(), s.ids.size());
  return VocabMapping::build(counter, vd);
}

}  // namespace

TEST(VocabMapping, MatchesReferenceOnRandomData) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    std::int64_t vocab = 50 + rng() % 500;
    std::int64_t vd = 1 + rng() % vocab;
    auto samples = random_samples(rng, 1 + rng() % 60, vocab, 1.0 + (trial % 4));
    VocabMapping m = build(samples, vocab, vd);
    ASSERT_EQ(m.used, reference_used(samples, vocab, vd)) << "trial " << trial;
    ASSERT_EQ(static_cast<std::int64_t>(m.d2t.size()), vd);
    ASSERT_EQ(static_cast<std::int64_t>(m.t2d.size()), vocab);
    for (std::int64_t i = 0; i < vd; ++i) {
      ASSERT_EQ(i + m.d2t[i], m.used[i]);
      ASSERT_EQ(m.t2d[m.used[i]], 1);
    }
    ASSERT_EQ(std::count(m.t2d.begin(), m.t2d.end(), 1), vd);
  }
}

TEST(VocabMapping, TiesGoToTheIdSeenFirst) {
  // ids 9 and 4 each appear twice; 9 appears first, so with Vd = 2 the pick is
  // {7 (three times), 9}. Masked-out positions do not count.
  std::vector<Sample> samples = {{{9, 7, 4, 1}, {1, 1, 1, 0}}, {{4, 9, 7, 7, 1}, {1, 1, 1, 1, 0}}};
  VocabMapping m = build(samples, 10, 2);
  EXPECT_EQ(m.used, (std::vector<std::int64_t>{7, 9}));
  EXPECT_EQ(m.d2t, (std::vector<std::int64_t>{7, 8}));
  EXPECT_DOUBLE_EQ(m.coverage, 5.0 / 7.0);
}

TEST(VocabMapping, FillsWithSmallestUnseenIds) {
  std::vector<Sample> samples = {{{5, 2, 5}, {1, 1, 1}}};
  VocabMapping m = build(samples, 10, 5);
  EXPECT_EQ(m.used, (std::vector<std::int64_t>{0, 1, 2, 3, 5}));
  EXPECT_EQ(m.d2t, (std::vector<std::int64_t>{0, 0, 0, 0, 1}));
  EXPECT_DOUBLE_EQ(m.coverage, 1.0);
}

TEST(VocabMapping, RejectsBadSizes) {
  VocabCounter counter(10);
  EXPECT_THROW(VocabMapping::build(counter, 11), talon::Error);
  EXPECT_THROW(VocabMapping::build(counter, 0), talon::Error);
  std::vector<std::int32_t> ids = {12};
  std::vector<std::uint8_t> mask = {1};
  EXPECT_THROW(counter.add(ids.data(), mask.data(), 1), talon::Error);
}

TEST(VocabMapping, SafetensorsRoundTripAndValidation) {
  std::mt19937 rng(3);
  auto samples = random_samples(rng, 20, 300, 2.0);
  VocabMapping m = build(samples, 300, 64);
  talon::testing::TempDir dir;
  std::string path = dir.file("vocab_mapping.safetensors");
  m.save(path);
  {
    auto file = talon::io::SafetensorsFile::open(path);
    EXPECT_EQ(file.find("d2t")->dtype, talon::io::DType::I64);
    EXPECT_EQ(file.find("t2d")->dtype, talon::io::DType::BOOL);
    EXPECT_EQ(file.find("t2d")->shape, (std::vector<std::int64_t>{300}));
  }
  VocabMapping back = VocabMapping::load(path);
  EXPECT_EQ(back.used, m.used);
  EXPECT_EQ(back.d2t, m.d2t);
  EXPECT_EQ(back.t2d, m.t2d);

  VocabMapping broken = m;
  broken.d2t[3] += 1000;  // maps outside t2d
  broken.save(path);
  talon::testing::expect_error([&] { VocabMapping::load(path); }, {path, "d2t[3]"});
}
