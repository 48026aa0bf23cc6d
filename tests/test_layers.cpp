// model/layers.h against independent computations: the llama3 RoPE golden
// from a Python script, RMSNorm and RoPE written out element by element, and
// the fused causal attention against the plain one.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "talon/model/layers.h"
#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace talon::model {
namespace {

using nlohmann::json;

// tests/data/configs/llama3_inv_freq.json: scripts/goldens/make_rope_golden.py,
// HF's _compute_llama3_parameters in double precision.
TEST(Rope, Llama3InvFreqMatchesPythonReference) {
  json cases = json::parse(util::read_file(std::string(TALON_TEST_DATA) + "/configs/llama3_inv_freq.json"));
  ASSERT_EQ(cases.size(), 2u);
  for (const json& c : cases) {
    auto scaling = io::parse_rope_scaling(json{{"rope_type", "llama3"},
                                               {"factor", c["factor"]},
                                               {"low_freq_factor", c["low_freq_factor"]},
                                               {"high_freq_factor", c["high_freq_factor"]},
                                               {"original_max_position_embeddings", c["original_max_position_embeddings"]}},
                                          "case");
    const std::int64_t head_dim = c["head_dim"];
    const double theta = c["rope_theta"];
    at::Tensor got = rope_inv_freq(head_dim, theta, scaling, "case");
    at::Tensor plain = rope_inv_freq(head_dim, theta, std::nullopt, "case");
    std::vector<double> expected = c["inv_freq"];
    ASSERT_EQ(got.numel(), static_cast<std::int64_t>(expected.size()));
    EXPECT_EQ(got.scalar_type(), at::kFloat);
    int kept = 0, divided = 0, blended = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const double g = got[i].item<double>(), p = plain[i].item<double>();
      EXPECT_NEAR(g, expected[i], 1e-6 * expected[i]) << "head_dim " << head_dim << " i " << i;  // fp32
      EXPECT_NEAR(p, std::pow(theta, -2.0 * i / head_dim), 1e-6 * p);
      const double ratio = g / p;
      if (std::abs(ratio - 1) < 1e-6) {
        ++kept;
      } else if (std::abs(ratio - 1 / c["factor"].get<double>()) < 1e-6) {
        ++divided;
      } else {
        ++blended;
      }
    }
    EXPECT_GT(kept, 0);  // the golden exercises all three bands
    EXPECT_GT(divided, 0);
    EXPECT_GT(blended, 0);
  }
}

TEST(Rope, LinearDividesAndOddHeadDimIsRefused) {
  io::RopeScaling linear;
  linear.type = io::RopeType::Linear;
  linear.factor = 4;
  at::Tensor plain = rope_inv_freq(16, 10000, std::nullopt, "cfg");
  EXPECT_TRUE(at::allclose(rope_inv_freq(16, 10000, linear, "cfg"), plain / 4));
  testing::expect_error([&] { rope_inv_freq(7, 10000, std::nullopt, "draft.json"); }, {"even head_dim", "7"});
}

TEST(Rope, RotatesEachPairByPositionTimesFrequency) {
  const std::int64_t d = 8;
  at::Tensor x = at::randn({1, 2, 5, d}, at::kDouble);
  at::Tensor inv_freq = rope_inv_freq(d, 500, std::nullopt, "t");
  at::Tensor positions = at::arange(3, 8, at::kLong);
  at::Tensor got = apply_rope(x, rope_table(inv_freq, positions, at::kDouble));
  for (std::int64_t h = 0; h < 2; ++h) {
    for (std::int64_t t = 0; t < 5; ++t) {
      for (std::int64_t i = 0; i < d / 2; ++i) {
        const float angle = static_cast<float>(3 + t) * inv_freq[i].item<float>();  // fp32, as the table is built
        const double c = std::cos(angle), s = std::sin(angle);
        const double a = x[0][h][t][i].item<double>(), b = x[0][h][t][i + d / 2].item<double>();
        EXPECT_NEAR(got[0][h][t][i].item<double>(), a * c - b * s, 1e-6);
        EXPECT_NEAR(got[0][h][t][i + d / 2].item<double>(), b * c + a * s, 1e-6);
      }
    }
  }
}

TEST(RmsNorm, NormalisesInFp32AndCastsBeforeTheWeight) {
  at::Tensor x = at::randn({3, 16}).to(at::kBFloat16);
  at::Tensor w = (at::rand({16}) + 0.5).to(at::kBFloat16);
  at::Tensor got = rms_norm(x, w, 1e-5);
  ASSERT_EQ(got.scalar_type(), at::kBFloat16);
  for (std::int64_t r = 0; r < 3; ++r) {
    double sum = 0;
    for (std::int64_t i = 0; i < 16; ++i) sum += std::pow(x[r][i].item<double>(), 2);
    const double inv_rms = 1 / std::sqrt(sum / 16 + 1e-5);
    for (std::int64_t i = 0; i < 16; ++i) {
      // The normalised value is rounded to bf16, then multiplied in bf16.
      at::Tensor normed = at::tensor(static_cast<float>(x[r][i].item<double>() * inv_rms)).to(at::kBFloat16);
      EXPECT_EQ(got[r][i].item<float>(), (w[i] * normed).item<float>()) << r << "," << i;
    }
  }
}

TEST(Attention, BlockwiseMatchesPlainAndRepeatKvExpandsGroups) {
  at::Tensor q = at::randn({2, 4, 9, 8}), k = at::randn({2, 2, 9, 8}), v = at::randn({2, 2, 9, 8});
  at::Tensor k4 = repeat_kv(k, 2), v4 = repeat_kv(v, 2);
  ASSERT_EQ(k4.sizes(), q.sizes());
  EXPECT_TRUE(at::equal(k4[0][0], k[0][0]));
  EXPECT_TRUE(at::equal(k4[0][1], k[0][0]));
  EXPECT_TRUE(at::equal(k4[1][3], k[1][1]));
  at::Tensor plain = causal_attention_reference(q, k, v);
  // Query 0 sees only key 0; the last query sees all keys.
  EXPECT_TRUE(at::allclose(plain[1][2][0], v4[1][2][0], 1e-6, 1e-6));
  at::Tensor scores = at::matmul(q[0][1][8], k4[0][1].t()) / std::sqrt(8.0);
  EXPECT_TRUE(at::allclose(plain[0][1][8], at::matmul(at::softmax(scores, -1), v4[0][1]), 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(causal_attention(q, k, v), plain, 1e-5, 1e-6));
}

}  // namespace
}  // namespace talon::model
