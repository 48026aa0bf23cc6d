// The parallel layer (brief §4). In one process: the layout arithmetic, the
// launch environment, and tensor-parallel shards. In several processes
// over Gloo on loopback (the ranks are this binary, started by the test):
// the collectives against their definitions, the tensor-parallel operators
// against their one-process forms, the target and the draft split over TP
// groups against the whole model, and ZeRO-2 against one process.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#ifdef TALON_NCCL
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/autograd.h>
#include <ATen/core/grad_mode.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_model.h"
#include "talon/model/target_weights.h"
#include "talon/model/eagle3/ttt.h"
#include "talon/parallel/group_impl.h"
#include "talon/parallel/launch_env.h"
#include "talon/parallel/layout.h"
#include "talon/parallel/process_groups.h"
#include "talon/parallel/tensor_parallel.h"
#include "talon/parallel/tp_shard.h"
#include "talon/train/draft_optimizer.h"
#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace talon {
namespace {

using io::NamedTensors;
using nlohmann::json;
using parallel::Group;
using parallel::Layout;
using parallel::ProcessGroups;
using parallel::TpShard;
using testing::expect_error;
using testing::is_rank_process;
using testing::run_test_ranks;

std::unique_ptr<ProcessGroups> connect(int target_tp, int draft_tp) {
  parallel::ConnectOptions options;
  options.target_tp = target_tp;
  options.draft_tp = draft_tp;
  options.collective_timeout = std::chrono::seconds(120);
  options.heartbeat_timeout = std::chrono::seconds(60);
  return ProcessGroups::connect(parallel::LaunchEnv::from_environment(), options);
}

// max |a - b| / max |b|: a tolerance relative to the tensor's scale.
double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() /
         std::max(b.to(at::kDouble).abs().max().item<double>(), 1e-300);
}

// ---------------------------------------------------------------- one process

TEST(Layout, EveryRankFindsItsGroups) {
  Layout a{8, 5, 4, 2};  // target TP 4 x DP 2; draft TP 2 x DP 4
  a.validate();
  EXPECT_EQ(a.target_tp_group(), (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(a.target_dp_group(), (std::vector<int>{1, 5}));
  EXPECT_EQ(a.draft_tp_group(), (std::vector<int>{4, 5}));
  EXPECT_EQ(a.draft_dp_group(), (std::vector<int>{1, 3, 5, 7}));
  EXPECT_EQ(a.target_tp_rank(), 1);
  EXPECT_EQ(a.draft_dp_rank(), 2);
  EXPECT_EQ(a.draft_tp_rank(), 1);
  // Ranks 4..7 hold draft-DP positions 2 and 3: the target group serves both.
  EXPECT_EQ(a.draft_dp_ranks_of_target_group(), (std::vector<int>{2, 3}));

  Layout b{8, 5, 2, 4};  // draft TP wider than target TP
  EXPECT_EQ(b.target_tp_group(), (std::vector<int>{4, 5}));
  EXPECT_EQ(b.draft_tp_group(), (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(b.draft_dp_ranks_of_target_group(), (std::vector<int>{1}));

  expect_error([] { Layout{6, 0, 4, 1}.validate(); }, {"--tp-size 4", "world size 6"});
  expect_error([] { Layout{6, 0, 2, 4}.validate(); }, {"--draft-tp-size 4", "world size 6"});
}

// Sets the launch variables for the scope of a test, the others unset.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::vector<std::pair<std::string, std::string>>& values) {
    for (const char* name : kNames) {
      if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
      ::unsetenv(name);
    }
    for (const auto& [name, value] : values) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const char* name : kNames) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  static constexpr const char* kNames[] = {"RANK",
                                           "WORLD_SIZE",
                                           "LOCAL_RANK",
                                           "MASTER_ADDR",
                                           "MASTER_PORT",
                                           "OMPI_COMM_WORLD_RANK",
                                           "OMPI_COMM_WORLD_SIZE",
                                           "OMPI_COMM_WORLD_LOCAL_RANK",
                                           "SLURM_PROCID",
                                           "SLURM_NTASKS",
                                           "SLURM_LOCALID",
                                           "TORCHELASTIC_USE_AGENT_STORE",
                                           "TORCHELASTIC_RESTART_COUNT"};
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST(LaunchEnv, ReadsTorchrunMpiAndSlurmVariables) {
  {
    ScopedEnv env({});
    parallel::LaunchEnv e = parallel::LaunchEnv::from_environment();
    EXPECT_EQ(e.world_size, 1);
    EXPECT_EQ(e.rank, 0);
  }
  {
    ScopedEnv env({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"},
                   {"MASTER_PORT", "29500"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                   {"TORCHELASTIC_RESTART_COUNT", "2"}});
    parallel::LaunchEnv e = parallel::LaunchEnv::from_environment();
    EXPECT_EQ(e.rank, 3);
    EXPECT_EQ(e.world_size, 4);
    EXPECT_EQ(e.local_rank, 1);
    EXPECT_EQ(e.master_addr, "node0");
    EXPECT_EQ(e.master_port, 29500);
    EXPECT_TRUE(e.agent_store);
    EXPECT_EQ(e.attempt, 2);
  }
  {
    ScopedEnv env({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                   {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1234"}});
    parallel::LaunchEnv e = parallel::LaunchEnv::from_environment();
    EXPECT_EQ(e.rank, 1);
    EXPECT_EQ(e.world_size, 2);
    EXPECT_EQ(e.local_rank, 1);
  }
  {
    ScopedEnv env({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}, {"MASTER_ADDR", "h"},
                   {"MASTER_PORT", "1234"}});
    EXPECT_EQ(parallel::LaunchEnv::from_environment().rank, 5);
  }
  {
    ScopedEnv env({{"RANK", "0"}, {"WORLD_SIZE", "2"}});
    expect_error([] { parallel::LaunchEnv::from_environment(); }, {"MASTER_ADDR", "MASTER_PORT", "2 ranks"});
  }
  {
    ScopedEnv env({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}});
    expect_error([] { parallel::LaunchEnv::from_environment(); }, {"rank 2", "world size 2"});
  }
  {
    ScopedEnv env({{"RANK", "x"}, {"WORLD_SIZE", "2"}});
    expect_error([] { parallel::LaunchEnv::from_environment(); }, {"RANK=x", "integer"});
  }
}

TEST(TpShard, SplitsByWholeUnitsOrReplicatesKvHeads) {
  at::Tensor full = at::arange(24, at::kFloat).view({8, 3});
  TpShard even = TpShard::of({0, 4, false, "heads"}, 1, 4, "--tp-size");
  EXPECT_EQ(even.parts, 4);
  EXPECT_TRUE(at::equal(even.slice(full), full.narrow(0, 2, 2)));
  EXPECT_FALSE(even.partial_grads);
  TpShard columns = TpShard::of({1, 3, false, "x"}, 2, 3, "--tp-size");
  EXPECT_TRUE(at::equal(columns.slice(full), full.narrow(1, 2, 1)));

  // 2 kv heads over 4 members: members 0, 1 hold head 0 and 2, 3 head 1.
  for (int rank = 0; rank < 4; ++rank) {
    TpShard kv = TpShard::of({0, 2, true, "kv heads"}, rank, 4, "--tp-size");
    EXPECT_EQ(kv.parts, 2);
    EXPECT_EQ(kv.index, rank / 2);
    EXPECT_TRUE(kv.partial_grads);
    EXPECT_TRUE(at::equal(kv.slice(full), full.narrow(0, 4 * (rank / 2), 4)));
  }
  TpShard whole = TpShard::of(parallel::Split::none(), 1, 4, "--tp-size");
  EXPECT_TRUE(at::equal(whole.slice(full), full));

  expect_error([] { TpShard::of({0, 6, false, "intermediate_size of the draft"}, 0, 4, "--draft-tp-size"); },
               {"--draft-tp-size 4 does not divide the intermediate_size of the draft (6)"});
  expect_error([] { TpShard::of({0, 3, true, "num_key_value_heads of the target"}, 0, 2, "--tp-size"); },
               {"--tp-size 2", "num_key_value_heads of the target (3)", "multiple or a divisor"});
}

// ---------------------------------------------------------------- several processes

// Every collective of `world` on tensors of `device`, against its
// definition for n members.
void expect_collectives(const Group& world, at::Device device) {
  const int r = world.rank(), n = world.size();
  const auto on = [&](const at::Tensor& t) { return t.to(device); };
  const auto back = [](const at::Tensor& t) { return t.cpu(); };
  const float ranks_sum = n * (n - 1) / 2.0f;
  at::Tensor x = on(at::tensor(std::vector<float>{float(r), float(10 - r), 1}));
  world.all_reduce(x);
  EXPECT_TRUE(at::equal(back(x), at::tensor(std::vector<float>{ranks_sum, 10.0f * n - ranks_sum, float(n)})));
  at::Tensor m = on(at::tensor(std::vector<std::int64_t>{r, -r}));
  world.all_reduce(m, parallel::ReduceOp::Max);
  EXPECT_TRUE(at::equal(back(m), at::tensor(std::vector<std::int64_t>{n - 1, 0})));
  world.all_reduce(m, parallel::ReduceOp::Min);
  EXPECT_TRUE(at::equal(back(m), at::tensor(std::vector<std::int64_t>{n - 1, 0})));
  std::vector<at::Tensor> all = world.all_gather(on(at::full({2}, double(r))));
  ASSERT_EQ(all.size(), static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) EXPECT_TRUE(at::equal(back(all[k]), at::full({2}, double(k))));
  // [n * 2] rows: block r of the sum over members.
  at::Tensor rows = on(at::arange(2 * n, at::kFloat) * (r + 1));
  EXPECT_TRUE(at::equal(back(world.reduce_scatter(rows)), at::arange(2 * n, at::kFloat).narrow(0, 2 * r, 2) *
                                                             (n * (n + 1) / 2.0f)));
  at::Tensor b = on(at::full({3}, double(r)));
  world.broadcast(b, n - 1);
  EXPECT_TRUE(at::equal(back(b), at::full({3}, double(n - 1))));
  world.barrier();
}

TEST(Collectives, MatchTheirDefinitions) {
  if (!is_rank_process()) return run_test_ranks(3);
  auto groups = connect(1, 1);
  ASSERT_EQ(groups->world().size(), 3);
  expect_collectives(groups->world(), at::kCPU);
  groups->finish();
}

// The same over NCCL on this machine's GPUs: a rank per GPU where there are
// two or more. NCCL refuses two ranks on one GPU, so with one the group is
// a c10d ProcessGroupNCCL of one member, which still makes a communicator
// and runs every collective's kernel.
TEST(Collectives, MatchTheirDefinitionsOverNccl) {
#ifndef TALON_NCCL
  GTEST_SKIP() << "built without NCCL";
#else
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const int gpus = static_cast<int>(at::getNumGPUs());
  if (gpus >= 2) {
    if (!is_rank_process()) return run_test_ranks(std::min(gpus, 4));
    parallel::ConnectOptions options;
    options.device = at::kCUDA;
    options.collective_timeout = std::chrono::seconds(120);
    auto groups = ProcessGroups::connect(parallel::LaunchEnv::from_environment(), options);
    expect_collectives(groups->world(), parallel::local_device(at::kCUDA, groups->local_rank()));
    groups->finish();
    return;
  }
  auto impl = std::make_shared<Group::Impl>();
  impl->name = "nccl";
  impl->nccl = true;
  impl->device_index = 0;
  impl->timeout = std::chrono::seconds(120);
  impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::HashStore>(), 0, 1,
                                                              c10d::ProcessGroupNCCL::Options::create());
  expect_collectives(Group(impl), at::Device(at::kCUDA, 0));
#endif
}

// Megatron's MLP with the conjugate operators, the vocabulary-parallel
// embedding, argmax, softmax and soft cross-entropy: values and gradients
// against the same computation on whole tensors.
TEST(TensorParallelOps, MatchOneProcess) {
  if (!is_rank_process()) return run_test_ranks(2);
  auto groups = connect(1, 2);
  const Group& tp = groups->draft_tp();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);  // every rank draws the same whole tensors
  auto rows = [&](const at::Tensor& t, int dim) { return TpShard::of({dim, t.size(dim), false, "t"}, tp.rank(), 2, "tp").slice(t); };

  at::Tensor x = at::randn({5, 6}, gen, at::kDouble).requires_grad_(true);
  at::Tensor w1 = at::randn({8, 6}, gen, at::kDouble), w2 = at::randn({6, 8}, gen, at::kDouble);
  at::Tensor c = at::randn({5, 6}, gen, at::kDouble);
  at::Tensor w1s = rows(w1, 0).clone().requires_grad_(true), w2s = rows(w2, 1).clone().requires_grad_(true);
  at::Tensor out = parallel::reduce_from_tp(at::linear(at::relu(at::linear(parallel::copy_to_tp(x, tp), w1s)), w2s), tp);
  (out * c).sum().backward();
  at::Tensor xw = x.detach().clone().requires_grad_(true), w1w = w1.clone().requires_grad_(true),
             w2w = w2.clone().requires_grad_(true);
  at::Tensor want = at::linear(at::relu(at::linear(xw, w1w)), w2w);
  (want * c).sum().backward();
  EXPECT_LT(relative_difference(out, want), 1e-12);
  EXPECT_LT(relative_difference(x.grad(), xw.grad()), 1e-12);
  EXPECT_LT(relative_difference(w1s.grad(), rows(w1w.grad(), 0)), 1e-12);
  EXPECT_LT(relative_difference(w2s.grad(), rows(w2w.grad(), 1)), 1e-12);

  at::Tensor table = at::randn({10, 3}, gen, at::kDouble);
  at::Tensor ids = at::tensor(std::vector<std::int64_t>{0, 9, 4, 5, 5, 2}).view({2, 3});
  EXPECT_TRUE(at::equal(parallel::vocab_parallel_embedding(rows(table, 0), ids, tp), at::embedding(table, ids)));

  // Ties across the block boundary go to the lower index, as torch.argmax does.
  at::Tensor values = at::randn({4, 10}, gen, at::kDouble);
  values[1][2] = 9;
  values[1][7] = 9;
  values[2][6] = 9;
  values[2][8] = 9;
  EXPECT_TRUE(at::equal(parallel::vocab_parallel_argmax(rows(values, 1), tp), values.argmax(-1)));
  EXPECT_EQ(parallel::vocab_parallel_argmax(rows(values, 1), tp)[1].item<std::int64_t>(), 2);
  EXPECT_LT(relative_difference(parallel::vocab_parallel_softmax(rows(values, 1), tp),
                                rows(at::softmax(values, -1), 1)),
            1e-14);

  at::Tensor logits = (3 * at::randn({2, 3, 10}, gen, at::kDouble)).requires_grad_(true);
  at::Tensor p = at::softmax(at::randn({2, 3, 10}, gen, at::kDouble), -1);
  at::Tensor weight = (at::rand({2, 3}, gen, at::kDouble) < 0.6).to(at::kFloat);
  at::Tensor local = rows(logits.detach(), 2).clone().requires_grad_(true);
  at::Tensor loss = parallel::vocab_parallel_soft_cross_entropy(local, rows(p, 2), weight, tp);
  at::Tensor plain = -(weight.unsqueeze(-1).to(at::kDouble) * p * at::log_softmax(logits, -1)).sum();
  EXPECT_NEAR(loss.item<double>(), plain.item<double>(), 1e-12 * std::abs(plain.item<double>()));
  loss.backward();
  plain.backward();
  EXPECT_LT(relative_difference(local.grad(), rows(logits.grad(), 2)), 1e-12);
  groups->finish();
}

// ---- the target over target-TP groups

// A tiny random target written into `dir` (config.json + model.safetensors).
void write_target(const std::string& dir, const json& config, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  util::write_file_atomic(dir + "/config.json", config.dump());
  io::TargetConfig parsed = io::load_target_config(dir);
  io::write_safetensors(dir + "/model.safetensors", model::random_target_weights(parsed, 0.2, seed, at::kFloat));
}

json llama_config() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 32},
          {"intermediate_size", 48}, {"num_hidden_layers", 5}, {"num_attention_heads", 4},
          {"num_key_value_heads", 2}, {"vocab_size", 96}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
          {"tie_word_embeddings", false}};
}

json qwen2_config() {
  return {{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"}, {"hidden_size", 48},
          {"intermediate_size", 64}, {"num_hidden_layers", 4}, {"num_attention_heads", 4},
          {"num_key_value_heads", 2}, {"vocab_size", 100}, {"rms_norm_eps", 1e-6}, {"rope_theta", 1e6},
          {"tie_word_embeddings", true}};
}

// Every rank writes the same target into its own directory, loads it whole
// and split over its target-TP group, and compares the features.
void expect_split_target_matches(const json& config, int target_tp) {
  auto groups = connect(target_tp, 1);
  testing::TempDir tmp;
  const std::string dir = tmp.file("target");
  write_target(dir, config, 5);
  model::TargetModel whole = model::TargetModel::load(dir, at::kCPU, at::kFloat);
  model::TargetModel split = model::TargetModel::load(dir, at::kCPU, at::kFloat, groups->target_tp());
  const std::int64_t vocab = config["vocab_size"];
  EXPECT_EQ(split.lm_head().size(0), vocab / target_tp);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor ids = at::randint(0, vocab, {2, 9}, gen, at::kLong);
  const std::vector<int> aux = {0, 1, 2};
  model::TargetFeatures a = whole.forward(ids, aux), b = split.forward(ids, aux);
  EXPECT_LT(relative_difference(b.aux, a.aux), 1e-5);
  EXPECT_LT(relative_difference(b.hidden, a.hidden), 1e-5);
  at::Tensor rows = b.hidden.reshape({-1, b.hidden.size(2)});
  EXPECT_TRUE(at::equal(model::chunked_argmax(rows, split.lm_head(), 7, 5, groups->target_tp()),
                        model::chunked_argmax(rows, whole.lm_head(), 7, 5)));
  groups->finish();
}

TEST(TensorParallelTarget, LlamaOverFourRanksReplicatesKvHeads) {
  if (!is_rank_process()) return run_test_ranks(4);
  expect_split_target_matches(llama_config(), 4);
}

TEST(TensorParallelTarget, Qwen2BiasesAndTiedEmbeddingsOverTwoRanks) {
  if (!is_rank_process()) return run_test_ranks(4);  // two target-TP groups of two
  expect_split_target_matches(qwen2_config(), 2);
}

// ---- the draft over draft-TP groups

io::DraftConfig tiny_draft() {
  io::DraftConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.vocab_size = 52;
  c.draft_vocab_size = 8;  // small enough that random weights agree on some argmaxes
  c.target_hidden_size = 24;
  c.rms_norm_eps = 1e-6;
  return c;
}

// The TTT loss, its per-step figures and every gradient of a draft split
// over `draft_tp` ranks against the whole draft, fp64, on the plain and
// the long-context paths.
void expect_split_draft_matches(int draft_tp) {
  auto groups = connect(1, draft_tp);
  const Group& tp = groups->draft_tp();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(21);
  const io::DraftConfig c = tiny_draft();
  const std::int64_t B = 2, L = 11, V = c.vocab_size, Vd = c.draft_vocab_size;
  at::Tensor embed = at::randn({V, c.hidden_size}, gen, at::kDouble);
  model::Eagle3Draft whole = model::Eagle3Draft::create(c, embed, gen, at::TensorOptions().dtype(at::kDouble));
  {
    at::NoGradGuard no_grad;
    for (auto& [name, t] : whole.parameters()) t.mul_(3);  // predictions that vary by position
  }
  model::Eagle3Draft split = model::Eagle3Draft::create(
      c, model::Eagle3Draft::shard(c, "embed_tokens.weight", tp).slice(embed), gen,
      at::TensorOptions().dtype(at::kDouble), tp);
  split.load_parameters(whole.parameters(), "whole draft");

  at::Tensor lengths = at::tensor(std::vector<std::int64_t>{L, 7});
  at::Tensor input_ids = at::randint(0, V, {B, L}, gen, at::kLong);
  at::Tensor loss_mask = (at::rand({B, L}, gen, at::kDouble) < 0.7).to(at::kFloat);
  loss_mask[1].narrow(0, 6, L - 6).zero_();
  input_ids[1].narrow(0, 7, L - 7).zero_();
  at::Tensor aux = at::randn({B, L, 3 * c.target_hidden_size}, gen, at::kDouble);
  at::Tensor hidden = at::randn({B, L, c.hidden_size}, gen, at::kDouble);
  at::Tensor lm_head = at::randn({V, c.hidden_size}, gen, at::kDouble);
  at::Tensor used = std::get<0>(at::randperm(V, gen, at::kLong).narrow(0, 0, Vd).sort());
  model::DraftVocab vocab{used - at::arange(Vd, at::kLong), at::zeros({V}, at::kBool).index_fill_(0, used, true)};
  at::Tensor draft_head = model::draft_head_rows(lm_head, vocab);
  model::TttBatch whole_batch{input_ids, loss_mask, lengths, aux,
                              model::target_distribution(hidden, lm_head, draft_head, vocab)};
  model::TttBatch split_batch = whole_batch;
  split_batch.target.draft_head = model::Eagle3Draft::shard(c, "lm_head.weight", tp).slice(draft_head);

  for (const model::TttOptions& options : {model::TttOptions::plain(), model::TttOptions{true, 4, true}}) {
    SCOPED_TRACE(::testing::Message() << "head chunk " << options.head_chunk);
    model::TttOutput a = model::ttt_forward(whole, whole_batch, 4, options);
    model::TttOutput b = model::ttt_forward(split, split_batch, 4, options);
    EXPECT_NEAR(b.loss.item<double>(), a.loss.item<double>(), 1e-12);
    EXPECT_LT(relative_difference(b.ploss, a.ploss), 1e-12);
    EXPECT_TRUE(at::equal(b.correct, a.correct));
    EXPECT_TRUE(at::equal(b.supervised, a.supervised));
    EXPECT_GT(a.correct.sum().item<double>(), 0);  // the accuracy's argmaxes are exercised
    std::vector<at::Tensor> wp, sp;
    for (auto& [name, t] : whole.parameters()) wp.push_back(t);
    for (auto& [name, t] : split.parameters()) sp.push_back(t);
    std::vector<at::Tensor> wg = torch::autograd::grad({a.loss}, wp), sg = torch::autograd::grad({b.loss}, sp);
    const std::vector<TpShard> shards = split.shards();
    for (std::size_t i = 0; i < wg.size(); ++i) {
      shards[i].reduce_partial_grad(sg[i], tp);
      EXPECT_LT(relative_difference(shards[i].gather(sg[i], tp), wg[i]), 1e-10) << whole.parameters()[i].first;
    }
  }
  groups->finish();
}

TEST(TensorParallelDraft, TwoRanksMatchTheWholeDraft) {
  if (!is_rank_process()) return run_test_ranks(2);
  expect_split_draft_matches(2);
}

TEST(TensorParallelDraft, FourRanksReplicateKvHeads) {
  if (!is_rank_process()) return run_test_ranks(4);
  expect_split_draft_matches(4);
}

// ---- ZeRO-2 over draft DP, with draft TP

// Draft TP 2 x DP 2: each rank holds a share of the gradient of its slices
// (the DP shares sum to the whole; kv-head replicas each hold part of it),
// and three clipped AdamW steps must give the one-process result. Then
// the full state matches, and a one-process state loads into this layout.
TEST(Zero2, TwoByTwoMatchesOneProcess) {
  if (!is_rank_process()) return run_test_ranks(4);
  auto groups = connect(1, 2);
  const Group& tp = groups->draft_tp();
  const int d = groups->layout().draft_dp_rank();
  const std::vector<parallel::Split> splits = {
      {0, 4, false, "rows"}, {1, 2, false, "columns"}, {0, 1, true, "kv head"}, parallel::Split::none()};
  const std::vector<std::vector<std::int64_t>> shapes = {{4, 3}, {5, 6}, {2, 3}, {7}};
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  NamedTensors whole_params, split_params;
  std::vector<TpShard> shards;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    at::Tensor w = at::randn(shapes[i], gen);
    shards.push_back(TpShard::of(splits[i], tp.rank(), tp.size(), "--draft-tp-size"));
    whole_params.emplace_back("p" + std::to_string(i), w.clone().requires_grad_(true));
    split_params.emplace_back("p" + std::to_string(i), shards[i].slice(w).clone().requires_grad_(true));
  }
  ProcessGroups alone;
  train::DraftOptimizer one(whole_params, std::vector<TpShard>(shapes.size()), alone);
  train::DraftOptimizer many(split_params, shards, *groups);
  const double dp_share = d == 0 ? 0.25 : 0.75;
  for (int step = 0; step < 3; ++step) {
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      at::Tensor g = at::randn(shapes[i], gen);
      whole_params[i].second.mutable_grad() = g;
      const double replica_share = shards[i].partial_grads ? (tp.rank() == 0 ? 0.4 : 0.6) : 1.0;
      split_params[i].second.mutable_grad() = shards[i].slice(g) * dp_share * replica_share;
    }
    const double a = one.reduce_and_clip(0.5), b = many.reduce_and_clip(0.5);
    EXPECT_NEAR(b, a, 1e-6 * a);
    EXPECT_GT(a, 0.5);  // clipping is exercised
    one.step(1e-2);
    many.step(1e-2);
    one.zero_grads();
    many.zero_grads();
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      EXPECT_LT(relative_difference(split_params[i].second, shards[i].slice(whole_params[i].second)), 1e-6)
          << "step " << step << " p" << i;
    }
  }
  train::DraftOptimizer::State a = one.full_state(true), b = many.full_state(true);
  ASSERT_EQ(a.masters.size(), b.masters.size());
  for (std::size_t i = 0; i < a.masters.size(); ++i) EXPECT_LT(relative_difference(b.masters[i].second, a.masters[i].second), 1e-6);
  for (std::size_t i = 0; i < a.adamw.size(); ++i) {
    EXPECT_EQ(b.adamw[i].first, a.adamw[i].first);
    EXPECT_LT(relative_difference(b.adamw[i].second, a.adamw[i].second), 1e-5) << a.adamw[i].first;
  }
  // A state saved by one process resumes in this layout.
  for (auto& [name, t] : split_params) {
    at::NoGradGuard no_grad;
    t.zero_();
  }
  many.load_full_state(a, "one-process state");
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    EXPECT_TRUE(at::equal(split_params[i].second, shards[i].slice(whole_params[i].second))) << "p" << i;
  }
  groups->finish();
}

}  // namespace
}  // namespace talon
