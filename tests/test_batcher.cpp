#include "talon/data/batcher.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "talon/data/sample_builder.h"
#include "test_support.h"

using talon::data::Batch;
using talon::data::epoch_order;
using talon::data::make_batch;
using talon::data::PreparedDataset;
using talon::data::PreparedDatasetWriter;
using talon::data::TokenizedSample;
using talon::testing::expect_error;
using talon::testing::TempDir;

namespace {

bool is_permutation_of_range(const std::vector<std::size_t>& order, std::size_t n) {
  std::vector<std::size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> expected(n);
  std::iota(expected.begin(), expected.end(), std::size_t{0});
  return sorted == expected;
}

}  // namespace

TEST(EpochOrder, IsPermutation) {
  for (std::size_t n : {0, 1, 2, 3, 10, 1000, 4097}) {
    for (std::int64_t epoch : {0, 1, 7}) {
      EXPECT_TRUE(is_permutation_of_range(epoch_order(n, 1234, epoch), n)) << "n=" << n << " epoch=" << epoch;
    }
  }
}

TEST(EpochOrder, DependsOnSeedAndEpochOnly) {
  const std::size_t n = 1000;
  auto a = epoch_order(n, 42, 0);
  EXPECT_EQ(a, epoch_order(n, 42, 0));
  EXPECT_NE(a, epoch_order(n, 42, 1));
  EXPECT_NE(a, epoch_order(n, 43, 0));
  EXPECT_NE(epoch_order(n, 42, 1), epoch_order(n, 42, 2));
  std::vector<std::size_t> identity(n);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  EXPECT_NE(a, identity);
}

// Expected values printed by scripts/goldens/make_epoch_order_golden.py, an
// independent Python implementation (plain ints cut to 64 bits) of the same generator.
TEST(EpochOrder, Golden) {
  using V = std::vector<std::size_t>;
  EXPECT_EQ(epoch_order(10, 0, 0), (V{6, 3, 2, 9, 8, 1, 4, 7, 0, 5}));
  EXPECT_EQ(epoch_order(10, 0, 1), (V{2, 1, 8, 4, 9, 6, 5, 7, 3, 0}));
  EXPECT_EQ(epoch_order(10, 1234, 0), (V{9, 5, 7, 0, 1, 6, 2, 3, 8, 4}));
  EXPECT_EQ(epoch_order(17, 0xdeadbeefcafef00dULL, 3),
            (V{10, 0, 14, 2, 11, 13, 1, 9, 15, 7, 4, 12, 8, 6, 5, 3, 16}));
  EXPECT_EQ(epoch_order(5, 42, -1), (V{4, 0, 2, 1, 3}));
  V big = epoch_order(100000, 7, 2);
  EXPECT_EQ(V(big.begin(), big.begin() + 5), (V{9440, 51123, 18458, 92631, 7878}));
  EXPECT_EQ(V(big.end() - 5, big.end()), (V{81672, 84431, 50962, 78575, 31288}));
}

class MakeBatch : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = tmp_.file("prepared");
    PreparedDatasetWriter writer(dir);
    for (const TokenizedSample& s : samples_) writer.append(s);
    talon::data::DatasetProvenance provenance;
    provenance.tokenizer_fingerprint = "0";
    provenance.vocab_size = 100;
    provenance.chat_template = "test";
    provenance.chat_template_fingerprint = "0";
    provenance.max_length = 8;
    writer.finish(provenance, nlohmann::json::object());
    data_ = std::make_unique<PreparedDataset>(PreparedDataset::open(dir));
  }

  TempDir tmp_;
  std::vector<TokenizedSample> samples_{
      {{11, 12, 13}, {0, 1, 0}},
      {{21, 22, 23, 24, 25}, {0, 0, 1, 1, 0}},
      {{31}, {0}},
      {{41, 42, 43, 44}, {1, 1, 1, 0}},
  };
  std::unique_ptr<PreparedDataset> data_;
};

TEST_F(MakeBatch, PadsToLongest) {
  Batch batch = make_batch(*data_, {2, 1, 0});
  ASSERT_EQ(batch.input_ids.scalar_type(), at::kLong);
  ASSERT_EQ(batch.loss_mask.scalar_type(), at::kFloat);
  ASSERT_EQ(batch.lengths.scalar_type(), at::kLong);
  EXPECT_TRUE(batch.input_ids.device().is_cpu());
  ASSERT_EQ(batch.input_ids.sizes(), (std::vector<std::int64_t>{3, 5}));
  ASSERT_EQ(batch.loss_mask.sizes(), (std::vector<std::int64_t>{3, 5}));
  ASSERT_EQ(batch.lengths.sizes(), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(batch.num_tokens, 1 + 5 + 3);

  at::Tensor ids = at::tensor(std::vector<std::int64_t>{31, 0, 0, 0, 0,  //
                                                        21, 22, 23, 24, 25,  //
                                                        11, 12, 13, 0, 0})
                       .view({3, 5});
  at::Tensor mask = at::tensor(std::vector<float>{0, 0, 0, 0, 0,  //
                                                  0, 0, 1, 1, 0,  //
                                                  0, 1, 0, 0, 0})
                        .view({3, 5});
  EXPECT_TRUE(at::equal(batch.input_ids, ids)) << batch.input_ids;
  EXPECT_TRUE(at::equal(batch.loss_mask, mask)) << batch.loss_mask;
  EXPECT_TRUE(at::equal(batch.lengths, at::tensor(std::vector<std::int64_t>{1, 5, 3})));
}

TEST_F(MakeBatch, SingleSampleHasNoPadding) {
  Batch batch = make_batch(*data_, {3});
  EXPECT_TRUE(at::equal(batch.input_ids, at::tensor(std::vector<std::int64_t>{41, 42, 43, 44}).view({1, 4})));
  EXPECT_TRUE(at::equal(batch.loss_mask, at::tensor(std::vector<float>{1, 1, 1, 0}).view({1, 4})));
  EXPECT_EQ(batch.num_tokens, 4);
}

TEST_F(MakeBatch, RejectsBadIndices) {
  expect_error([&] { make_batch(*data_, {}); }, {"no samples"});
  expect_error([&] { make_batch(*data_, {0, 4}); }, {"index 4", "4 samples"});
}
