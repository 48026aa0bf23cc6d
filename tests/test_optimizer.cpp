#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/optim.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "talon/train/adamw.h"
#include "talon/train/grad_clip.h"
#include "talon/train/lr_schedule.h"
#include "talon/parallel/process_groups.h"
#include "talon/train/draft_optimizer.h"
#include "test_support.h"

using talon::testing::expect_error;
using talon::train::AdamW;
using talon::train::AdamWOptions;
using talon::train::LrSchedule;
using talon::train::DraftOptimizer;
using talon::train::NamedTensors;

namespace {

// torch.nn.utils.clip_grad_norm_ in one process: the two halves together.
double clip_grad_norm(const std::vector<at::Tensor>& tensors, double max_norm) {
  return talon::train::clip_to_norm(tensors, talon::train::grad_norm_squared(tensors), max_norm);
}

const std::vector<std::vector<std::int64_t>> kShapes = {{7, 5}, {13}, {3, 4, 2}};

// Fresh fp32 leaf parameters with random values, the same for equal seeds.
NamedTensors random_params(std::uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  NamedTensors params;
  for (std::size_t i = 0; i < kShapes.size(); ++i) {
    params.emplace_back("layer" + std::to_string(i) + ".weight",
                        at::randn(kShapes[i], gen, at::TensorOptions().dtype(at::kFloat)).requires_grad_(true));
  }
  return params;
}

// The gradients of step `step`, the same for every caller.
std::vector<at::Tensor> random_grads(std::int64_t step) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1000 + step);
  std::vector<at::Tensor> grads;
  for (const auto& shape : kShapes) grads.push_back(at::randn(shape, gen) * 0.1);
  return grads;
}

void set_grads(const NamedTensors& params, std::int64_t step) {
  std::vector<at::Tensor> grads = random_grads(step);
  for (std::size_t i = 0; i < params.size(); ++i) params[i].second.mutable_grad() = grads[i];
}

double lr_of(std::int64_t step) { return 1e-3 * (1 + 0.1 * static_cast<double>(step % 4)); }

NamedTensors clone_all(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().clone());
  return out;
}

}  // namespace

// ---- AdamW ----

class AdamWVsLibtorch : public ::testing::TestWithParam<double> {};

// libtorch's C++ torch::optim::AdamW is an independent implementation
// (mul/add instead of lerp for m), so agreement is to rounding, not bits.
TEST_P(AdamWVsLibtorch, SameUpdates) {
  const double weight_decay = GetParam();
  NamedTensors ours = random_params(1);
  NamedTensors theirs = random_params(1);
  std::vector<at::Tensor> their_tensors;
  for (const auto& [name, t] : theirs) their_tensors.push_back(t);

  AdamW adamw(ours, AdamWOptions{0.9, 0.999, 1e-8, weight_decay});
  torch::optim::AdamW reference(their_tensors,
                                torch::optim::AdamWOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(weight_decay));
  for (std::int64_t step = 0; step < 12; ++step) {
    set_grads(ours, step);
    set_grads(theirs, step);
    adamw.step(lr_of(step));
    static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options()).lr(lr_of(step));
    reference.step();
  }
  EXPECT_EQ(adamw.steps(), 12);
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const at::Tensor& a = ours[i].second;
    const at::Tensor& b = theirs[i].second;
    EXPECT_TRUE(at::allclose(a, b, /*rtol=*/1e-6, /*atol=*/1e-7))
        << ours[i].first << " max abs diff " << (a - b).abs().max().item<double>();
    // And the params moved: the comparison is not vacuous.
    EXPECT_FALSE(at::allclose(a, random_params(1)[i].second, 0, 1e-4)) << ours[i].first;
  }
}

INSTANTIATE_TEST_SUITE_P(WeightDecay, AdamWVsLibtorch, ::testing::Values(0.0, 0.01, 0.1));

// The formula in double, one element at a time.
TEST(AdamW, MatchesScalarFormula) {
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.05;
  std::vector<float> init = {0.5f, -1.25f, 2.0f, 0.0f, 1e-3f, -3.5f};
  std::vector<std::vector<float>> grads = {{0.1f, -0.2f, 0.3f, 0.0f, 1e-6f, -5.0f},
                                           {0.2f, 0.2f, -0.1f, 1e-3f, 2e-6f, 4.0f},
                                           {-0.3f, 0.0f, 0.0f, -1e-3f, 0.0f, -3.0f},
                                           {0.05f, -0.4f, 0.2f, 0.5f, 1e-5f, 2.0f},
                                           {0.0f, 0.1f, -0.2f, 0.25f, -1e-5f, 1.0f}};
  at::Tensor p = at::tensor(init).requires_grad_(true);
  AdamW adamw({{"p", p}}, AdamWOptions{beta1, beta2, eps, wd});

  std::vector<double> x(init.begin(), init.end()), m(x.size(), 0.0), v(x.size(), 0.0);
  for (std::size_t t = 1; t <= grads.size(); ++t) {
    const double lr = 1e-2 / static_cast<double>(t);
    for (std::size_t j = 0; j < x.size(); ++j) {
      const double g = grads[t - 1][j];
      x[j] *= 1 - lr * wd;
      m[j] = beta1 * m[j] + (1 - beta1) * g;
      v[j] = beta2 * v[j] + (1 - beta2) * g * g;
      const double bc1 = 1 - std::pow(beta1, static_cast<double>(t));
      const double bc2 = 1 - std::pow(beta2, static_cast<double>(t));
      x[j] -= (lr / bc1) * m[j] / (std::sqrt(v[j]) / std::sqrt(bc2) + eps);
    }
    p.mutable_grad() = at::tensor(grads[t - 1]);
    adamw.step(lr);
  }
  NamedTensors state = adamw.state();
  for (std::size_t j = 0; j < x.size(); ++j) {
    // m of element 5 nearly cancels (-5, 4, -3, ...): its fp32 rounding is
    // relative to the gradients, not to m.
    double g_max = 0;
    for (const auto& g : grads) g_max = std::max(g_max, std::abs(static_cast<double>(g[j])));
    EXPECT_NEAR(p[j].item<double>(), x[j], 1e-6 * std::abs(x[j]) + 1e-9) << "element " << j;
    EXPECT_NEAR(state[1].second[j].item<double>(), m[j], 1e-6 * std::abs(m[j]) + 1e-8 * g_max) << "exp_avg " << j;
    EXPECT_NEAR(state[2].second[j].item<double>(), v[j], 1e-6 * std::abs(v[j]) + 1e-8 * g_max * g_max)
        << "exp_avg_sq " << j;
  }
}

TEST(AdamW, SkipsParamsWithoutGrad) {
  NamedTensors params = random_params(2);
  NamedTensors before = clone_all(params);
  AdamW adamw(params);
  set_grads(params, 0);
  params[1].second.mutable_grad().reset();
  adamw.step(1e-3);
  EXPECT_FALSE(at::equal(params[0].second, before[0].second));
  EXPECT_TRUE(at::equal(params[1].second, before[1].second));
  EXPECT_TRUE(at::equal(adamw.state()[3].second, at::zeros({13})));  // exp_avg.layer1.weight
}

TEST(AdamW, StateNamesAndLayout) {
  NamedTensors params = random_params(3);
  AdamW adamw(params);
  NamedTensors state = adamw.state();
  std::vector<std::string> names;
  for (const auto& [name, t] : state) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"step", "exp_avg.layer0.weight", "exp_avg_sq.layer0.weight",
                                             "exp_avg.layer1.weight", "exp_avg_sq.layer1.weight",
                                             "exp_avg.layer2.weight", "exp_avg_sq.layer2.weight"}));
  EXPECT_EQ(state[0].second.dim(), 0);
  EXPECT_EQ(state[0].second.scalar_type(), at::kLong);
  EXPECT_EQ(state[2].second.sizes(), params[0].second.sizes());
  EXPECT_EQ(state[2].second.scalar_type(), at::kFloat);
}

// Stopping after 5 steps, saving, and continuing in a fresh optimizer gives
// the bits of an uninterrupted run of 10.
TEST(AdamW, ResumeIsBitExact) {
  const AdamWOptions options{0.9, 0.95, 1e-8, 0.01};
  NamedTensors straight = random_params(4);
  AdamW straight_opt(straight, options);
  for (std::int64_t step = 0; step < 10; ++step) {
    set_grads(straight, step);
    straight_opt.step(lr_of(step));
  }

  NamedTensors first = random_params(4);
  AdamW first_opt(first, options);
  for (std::int64_t step = 0; step < 5; ++step) {
    set_grads(first, step);
    first_opt.step(lr_of(step));
  }
  NamedTensors saved_params = clone_all(first);
  NamedTensors saved_state = clone_all(first_opt.state());
  // Keep running the first optimizer: the saved copies must not move.
  for (std::int64_t step = 5; step < 7; ++step) {
    set_grads(first, step);
    first_opt.step(lr_of(step));
  }

  NamedTensors resumed = clone_all(saved_params);
  for (auto& [name, t] : resumed) t.requires_grad_(true);
  AdamW resumed_opt(resumed, options);
  resumed_opt.load_state(saved_state);
  EXPECT_EQ(resumed_opt.steps(), 5);
  for (std::int64_t step = 5; step < 10; ++step) {
    set_grads(resumed, step);
    resumed_opt.step(lr_of(step));
  }
  for (std::size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_TRUE(at::equal(resumed[i].second, straight[i].second)) << resumed[i].first;
  }
  NamedTensors a = straight_opt.state(), b = resumed_opt.state();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
}

TEST(AdamW, LoadStateRejectsMismatches) {
  NamedTensors params = random_params(5);
  AdamW adamw(params);
  set_grads(params, 0);
  adamw.step(1e-3);
  const NamedTensors good = clone_all(adamw.state());
  auto without = [&](const std::string& name) {
    NamedTensors s;
    for (const auto& entry : good) {
      if (entry.first != name) s.push_back(entry);
    }
    return s;
  };
  auto replaced = [&](const std::string& name, at::Tensor t) {
    NamedTensors s = good;
    for (auto& entry : s) {
      if (entry.first == name) entry.second = t;
    }
    return s;
  };

  AdamW fresh(random_params(5));
  expect_error([&] { fresh.load_state(without("exp_avg_sq.layer1.weight")); },
               {"exp_avg_sq.layer1.weight", "missing"});
  expect_error([&] { fresh.load_state(without("step")); }, {"'step'", "missing"});
  expect_error([&] { fresh.load_state(replaced("exp_avg.layer0.weight", at::zeros({5, 7}))); },
               {"exp_avg.layer0.weight", "[5, 7]", "[7, 5]"});
  expect_error([&] { fresh.load_state(replaced("exp_avg.layer2.weight", at::zeros({3, 4, 2}, at::kDouble))); },
               {"exp_avg.layer2.weight", "Double", "Float"});
  expect_error([&] { fresh.load_state(replaced("step", at::scalar_tensor(1.0))); }, {"'step'", "Float", "Long"});
  expect_error([&] { fresh.load_state(replaced("step", at::scalar_tensor(-2, at::kLong))); }, {"'step'", "-2"});
  NamedTensors extra = good;
  extra.emplace_back("exp_avg.layer9.weight", at::zeros({1}));
  expect_error([&] { fresh.load_state(extra); }, {"unexpected", "exp_avg.layer9.weight"});
  NamedTensors twice = good;
  twice.push_back(good[1]);
  expect_error([&] { fresh.load_state(twice); }, {"exp_avg.layer0.weight", "twice"});

  // Nothing was loaded by the failed calls.
  EXPECT_EQ(fresh.steps(), 0);
  for (const auto& [name, t] : fresh.state()) EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << name;
  fresh.load_state(good);
  EXPECT_EQ(fresh.steps(), 1);
}

TEST(AdamW, RejectsBadParams) {
  expect_error([] { AdamW({{"w", at::zeros({2}, at::kBFloat16)}}); }, {"'w'", "float32", "BFloat16"});
  expect_error([] { AdamW({{"w", at::zeros({2})}, {"w", at::zeros({2})}}); }, {"'w'", "twice"});
  at::Tensor p = at::zeros({2}).requires_grad_(true);
  AdamW adamw({{"w", p}});
  p.mutable_grad() = at::zeros({3});
  expect_error([&] { adamw.step(1e-3); }, {"gradient of 'w'", "[3]", "[2]"});
}

// ---- DraftOptimizer (one process; tests/test_parallel.cpp holds the multi-process layouts) ----

// The mixed-precision update against its definition: fp32 masters taking
// AdamW on the fp32 gradient, the bf16 parameter their rounding.
TEST(DraftOptimizer, Bf16ParamsFollowFp32Masters) {
  talon::parallel::ProcessGroups alone;
  at::Tensor w = at::randn({4, 3}).to(at::kBFloat16).requires_grad_(true);
  at::Tensor b = at::randn({3}).requires_grad_(true);
  NamedTensors want = {{"w", w.detach().to(at::kFloat).clone().requires_grad_(true)},
                       {"b", b.detach().clone().requires_grad_(true)}};
  AdamW reference(want);
  DraftOptimizer optimizer({{"w", w}, {"b", b}}, {{}, {}}, alone);
  for (int step = 0; step < 3; ++step) {
    at::Tensor x = at::randn({2, 4});
    (at::matmul(x.to(at::kBFloat16), w).to(at::kFloat) + b).pow(2).sum().backward();
    ASSERT_EQ(w.grad().scalar_type(), at::kBFloat16);
    want[0].second.mutable_grad() = w.grad().to(at::kFloat);
    want[1].second.mutable_grad() = b.grad().clone();
    const double expected_norm = std::sqrt(want[0].second.grad().pow(2).sum().item<double>() +
                                           want[1].second.grad().pow(2).sum().item<double>());
    EXPECT_NEAR(optimizer.reduce_and_clip(1e9), expected_norm, 1e-5 * expected_norm);
    optimizer.step(1e-2);
    reference.step(1e-2);
    optimizer.zero_grads();
    EXPECT_FALSE(w.grad().defined());
    EXPECT_TRUE(at::equal(w.detach(), want[0].second.detach().to(at::kBFloat16))) << "step " << step;
    EXPECT_TRUE(at::equal(b.detach(), want[1].second.detach())) << "step " << step;
  }
  DraftOptimizer::State state = optimizer.full_state(true);
  ASSERT_EQ(state.masters.size(), 2u);
  EXPECT_EQ(state.masters[0].first, "w");
  EXPECT_EQ(state.masters[0].second.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(state.masters[0].second, want[0].second.detach()));  // more precise than w itself
}

// Updates smaller than bf16's resolution accumulate in the master.
TEST(DraftOptimizer, MasterKeepsSmallUpdates) {
  talon::parallel::ProcessGroups alone;
  at::Tensor w = at::ones({1}, at::kBFloat16).requires_grad_(true);
  DraftOptimizer optimizer({{"w", w}}, {{}}, alone);
  for (int i = 0; i < 16; ++i) {
    w.mutable_grad() = at::ones({1}, at::kBFloat16);  // AdamW's step is then lr * (1 - ~1e-8)
    optimizer.reduce_and_clip(1e9);
    optimizer.step(1e-3);  // bf16 spacing just below 1 is 2^-8 ~ 3.9e-3
    optimizer.zero_grads();
  }
  EXPECT_NEAR(optimizer.full_state(true).masters[0].second.item<double>(), 1 - 16e-3, 1e-6);
  EXPECT_EQ(w.item<double>(), 0.984375);  // 1 - 2^-6, the nearest bf16
}

// A full state loaded into a fresh optimizer continues bit for bit; wrong
// shapes and missing tensors are refused by name.
TEST(DraftOptimizer, FullStateResumesExactly) {
  talon::parallel::ProcessGroups alone;
  auto run = [&](DraftOptimizer& optimizer, at::Tensor& w, int steps, std::uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (int i = 0; i < steps; ++i) {
      w.mutable_grad() = at::randn({5, 2}, gen);
      optimizer.reduce_and_clip(0.5);
      optimizer.step(1e-2);
      optimizer.zero_grads();
    }
  };
  at::Tensor a = at::ones({5, 2}).requires_grad_(true), b = at::ones({5, 2}).requires_grad_(true);
  DraftOptimizer first({{"w", a}}, {{}}, alone);
  run(first, a, 3, 1);
  DraftOptimizer second({{"w", b}}, {{}}, alone);
  second.load_full_state(first.full_state(true), "state");
  EXPECT_TRUE(at::equal(a, b));
  run(first, a, 2, 2);
  run(second, b, 2, 2);
  EXPECT_TRUE(at::equal(a, b));

  DraftOptimizer::State bad = first.full_state(true);
  bad.masters[0].second = at::zeros({2, 5});
  expect_error([&] { second.load_full_state(bad, "ckpt/training_state"); },
               {"ckpt/training_state", "w", "[2, 5]", "[5, 2]"});
  bad = first.full_state(true);
  bad.adamw.erase(bad.adamw.begin() + 1);
  expect_error([&] { second.load_full_state(bad, "ckpt/training_state"); }, {"missing tensor exp_avg.w"});
}

// ---- clip_grad_norm ----

TEST(ClipGradNorm, ScalesAboveTheLimit) {
  at::Tensor a = at::zeros({2}).requires_grad_(true);
  at::Tensor b = at::zeros({1, 1}).requires_grad_(true);
  at::Tensor c = at::zeros({3}).requires_grad_(true);  // no grad: ignored
  a.mutable_grad() = at::tensor(std::vector<float>{3, 4});
  b.mutable_grad() = at::tensor(std::vector<float>{12}).view({1, 1});
  const double norm = clip_grad_norm({a, b, c}, 1.0);
  EXPECT_NEAR(norm, 13.0, 1e-6);
  const double coef = 1.0 / (13.0 + 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 3 * coef, 1e-7);
  EXPECT_NEAR(a.grad()[1].item<double>(), 4 * coef, 1e-7);
  EXPECT_NEAR(b.grad()[0][0].item<double>(), 12 * coef, 1e-7);
  EXPECT_FALSE(c.grad().defined());
}

TEST(ClipGradNorm, LeavesGradsUnderTheLimit) {
  at::Tensor a = at::zeros({2}).requires_grad_(true);
  a.mutable_grad() = at::tensor(std::vector<float>{3, 4});
  at::Tensor before = a.grad().clone();
  EXPECT_NEAR(clip_grad_norm({a}, 5.5), 5.0, 1e-6);
  EXPECT_TRUE(at::equal(a.grad(), before));
  EXPECT_EQ(clip_grad_norm({at::zeros({2})}, 1.0), 0.0);  // no grads at all
}

TEST(ClipGradNorm, MatchesDoubleComputation) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  std::vector<at::Tensor> tensors;
  double sum_sq = 0;
  for (const auto& shape : kShapes) {
    at::Tensor t = at::zeros(shape).requires_grad_(true);
    t.mutable_grad() = at::randn(shape, gen);
    sum_sq += t.grad().to(at::kDouble).pow(2).sum().item<double>();
    tensors.push_back(t);
  }
  std::vector<at::Tensor> before;
  for (const at::Tensor& t : tensors) before.push_back(t.grad().to(at::kDouble));
  const double expected = std::sqrt(sum_sq);
  const double norm = clip_grad_norm(tensors, 0.5);
  EXPECT_NEAR(norm, expected, 1e-6 * expected);
  const double coef = 0.5 / (expected + 1e-6);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_TRUE(at::allclose(tensors[i].grad().to(at::kDouble), before[i] * coef, 1e-6, 1e-9));
  }
}

TEST(ClipGradNorm, NonFiniteNormLeavesGrads) {
  for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    at::Tensor a = at::zeros({3}).requires_grad_(true);
    a.mutable_grad() = at::tensor(std::vector<float>{1, bad, 2});
    at::Tensor b = at::zeros({1}).requires_grad_(true);
    b.mutable_grad() = at::tensor(std::vector<float>{100});
    const double norm = clip_grad_norm({a, b}, 1.0);
    EXPECT_FALSE(std::isfinite(norm));
    EXPECT_EQ(b.grad().item<double>(), 100.0);
    EXPECT_EQ(a.grad()[2].item<double>(), 2.0);
  }
}

// ---- LrSchedule ----

TEST(LrSchedule, WarmupThenCosine) {
  const double base = 1e-4;
  LrSchedule s(base, 1000, 0.015);
  EXPECT_EQ(s.warmup_steps, 15);
  EXPECT_EQ(s.total_steps, 1000);
  EXPECT_DOUBLE_EQ(s.at(0), base / 15);
  EXPECT_DOUBLE_EQ(s.at(6), base * 7 / 15);
  EXPECT_DOUBLE_EQ(s.at(14), base);
  EXPECT_DOUBLE_EQ(s.at(15), base);  // first cosine step: cos(0)
  EXPECT_DOUBLE_EQ(s.at(16), base * (1 + std::cos(M_PI * 1 / 985)) / 2);
  EXPECT_DOUBLE_EQ(s.at(15 + 985 / 2), base * (1 + std::cos(M_PI * 492 / 985)) / 2);
  EXPECT_DOUBLE_EQ(s.at(999), base * (1 + std::cos(M_PI * 984 / 985)) / 2);
  EXPECT_GT(s.at(999), 0);
  EXPECT_EQ(s.at(1000), 0.0);
  EXPECT_EQ(s.at(5000), 0.0);
  for (std::int64_t k = 16; k < 1000; ++k) EXPECT_LT(s.at(k), s.at(k - 1)) << k;
}

TEST(LrSchedule, WarmupStepsTruncate) {
  EXPECT_EQ(LrSchedule(1, 100, 0.015).warmup_steps, 1);   // 1.5
  EXPECT_EQ(LrSchedule(1, 100, 0.29).warmup_steps, 28);   // 0.29 * 100 = 28.999999999999996, as Python's int()
  EXPECT_EQ(LrSchedule(1, 100, 0.07).warmup_steps, 7);    // 7.000000000000001
  EXPECT_EQ(LrSchedule(1, 10, 0.0).warmup_steps, 0);
}

TEST(LrSchedule, NoWarmup) {
  LrSchedule s(2.0, 10, 0.0);
  EXPECT_EQ(s.at(0), 2.0);
  EXPECT_DOUBLE_EQ(s.at(5), 2.0 * (1 + std::cos(M_PI * 5 / 10)) / 2);
  EXPECT_EQ(s.at(10), 0.0);
}

TEST(LrSchedule, AllWarmup) {
  LrSchedule s(2.0, 10, 1.0);  // total == W: no cosine part, no division by zero
  EXPECT_EQ(s.warmup_steps, 10);
  EXPECT_DOUBLE_EQ(s.at(0), 0.2);
  EXPECT_EQ(s.at(9), 2.0);
  EXPECT_EQ(s.at(10), 0.0);
  EXPECT_EQ(LrSchedule(2.0, 0, 0.5).at(0), 0.0);  // no steps at all
}

TEST(LrSchedule, RejectsBadInput) {
  expect_error([] { LrSchedule(1e-4, 10, 1.5); }, {"warmup ratio", "1.5"});
  expect_error([] { LrSchedule(1e-4, -1, 0.1); }, {"total optimizer steps", "-1"});
  expect_error([] { LrSchedule(-1e-4, 10, 0.1); }, {"learning rate"});
  expect_error([] { LrSchedule(1e-4, 10, 0.1).at(-1); }, {"step -1"});
}
