// TargetModel against an independent reference: a double-precision decoder
// written here from the formulas, one position at a time (explicit softmax
// over the past positions, RoPE by cos/sin of pos * inv_freq per pair of
// dimensions, RMSNorm by hand, llama3 frequency scaling case by case), on
// tiny random checkpoints written by the test: Llama (GQA, llama3 rope
// scaling), Qwen2 (q/k/v biases, tied embeddings), Qwen3 (q/k norm, head_dim
// != hidden / heads). Then the checkpoint forms (shards, bf16/fp16 on disk),
// the errors, right-padded batches, and decoding with a KV cache (a chain
// and a draft tree) against the whole-sequence forward.
#include "talon/model/target_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/model/batch_cache.h"
#include "test_support.h"

namespace talon::model {
namespace {

using nlohmann::json;
using talon::testing::expect_error;
using talon::testing::TempDir;

using Weights = std::map<std::string, at::Tensor>;  // fp32 CPU, Hugging Face names
using Vec = std::vector<double>;

// ---------------------------------------------------------------- configs

json llama_config() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", 32},
          {"intermediate_size", 48},
          {"num_hidden_layers", 5},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"vocab_size", 97},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          // head_dim 8 has wavelengths 6.3, 63, 628 and 6283; band edges at
          // 1024/4 = 256 and 1024/1 = 1024 put one pair in each llama3 case
          // (kept, smoothed, divided by factor).
          {"rope_scaling",
           {{"rope_type", "llama3"},
            {"factor", 8.0},
            {"low_freq_factor", 1.0},
            {"high_freq_factor", 4.0},
            {"original_max_position_embeddings", 1024}}},
          {"tie_word_embeddings", false}};
}

json qwen2_config() {
  return {{"architectures", {"Qwen2ForCausalLM"}},
          {"model_type", "qwen2"},
          {"hidden_size", 48},
          {"intermediate_size", 64},
          {"num_hidden_layers", 4},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"vocab_size", 101},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 1000000.0},
          {"tie_word_embeddings", true}};
}

json qwen3_config() {
  return {{"architectures", {"Qwen3ForCausalLM"}},
          {"model_type", "qwen3"},
          {"hidden_size", 40},
          {"intermediate_size", 56},
          {"num_hidden_layers", 6},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"head_dim", 16},  // heads * head_dim = 64 != hidden 40
          {"vocab_size", 89},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 1000000.0},
          {"tie_word_embeddings", false}};
}

// The config fields the reference reads, straight from the JSON.
struct Dims {
  std::int64_t hidden, inter, layers, heads, kv_heads, head_dim, vocab;
  bool qkv_bias, o_bias, qk_norm, tied;
};

Dims dims_of(const json& c) {
  Dims d;
  d.hidden = c["hidden_size"];
  d.inter = c["intermediate_size"];
  d.layers = c["num_hidden_layers"];
  d.heads = c["num_attention_heads"];
  d.kv_heads = c["num_key_value_heads"];
  d.head_dim = c.value("head_dim", d.hidden / d.heads);
  d.vocab = c["vocab_size"];
  // transformers: Qwen2 always biases q/k/v (never o); Llama and Qwen3 bias
  // all four when attention_bias.
  d.qkv_bias = c["model_type"] == "qwen2" || c.value("attention_bias", false);
  d.o_bias = c["model_type"] != "qwen2" && c.value("attention_bias", false);
  d.qk_norm = c["model_type"] == "qwen3";
  d.tied = c["tie_word_embeddings"];
  return d;
}

// Random weights scaled so activations stay near 1 and attention is far from
// uniform; norm weights and biases random too, so a swapped or skipped one
// shows.
Weights random_weights(const json& c, std::uint64_t seed) {
  const Dims d = dims_of(c);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto normal = [&gen](std::vector<std::int64_t> shape, double std) {
    return at::randn(shape, gen, at::TensorOptions(at::kFloat)) * std;
  };
  auto linear = [&](std::int64_t out, std::int64_t in) { return normal({out, in}, 1.0 / std::sqrt(double(in))); };
  auto norm = [&](std::int64_t n) { return 1.0 + normal({n}, 0.2); };
  Weights w;
  w["model.embed_tokens.weight"] = normal({d.vocab, d.hidden}, 1.0);
  for (std::int64_t i = 0; i < d.layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    w[p + "input_layernorm.weight"] = norm(d.hidden);
    w[p + "post_attention_layernorm.weight"] = norm(d.hidden);
    w[p + "self_attn.q_proj.weight"] = linear(d.heads * d.head_dim, d.hidden);
    w[p + "self_attn.k_proj.weight"] = linear(d.kv_heads * d.head_dim, d.hidden);
    w[p + "self_attn.v_proj.weight"] = linear(d.kv_heads * d.head_dim, d.hidden);
    w[p + "self_attn.o_proj.weight"] = linear(d.hidden, d.heads * d.head_dim);
    if (d.o_bias) w[p + "self_attn.o_proj.bias"] = normal({d.hidden}, 0.3);
    if (d.qkv_bias) {
      w[p + "self_attn.q_proj.bias"] = normal({d.heads * d.head_dim}, 0.3);
      w[p + "self_attn.k_proj.bias"] = normal({d.kv_heads * d.head_dim}, 0.3);
      w[p + "self_attn.v_proj.bias"] = normal({d.kv_heads * d.head_dim}, 0.3);
    }
    if (d.qk_norm) {
      w[p + "self_attn.q_norm.weight"] = norm(d.head_dim);
      w[p + "self_attn.k_norm.weight"] = norm(d.head_dim);
    }
    w[p + "mlp.gate_proj.weight"] = linear(d.inter, d.hidden);
    w[p + "mlp.up_proj.weight"] = linear(d.inter, d.hidden);
    w[p + "mlp.down_proj.weight"] = linear(d.hidden, d.inter);
  }
  w["model.norm.weight"] = norm(d.hidden);
  if (!d.tied) w["lm_head.weight"] = linear(d.vocab, d.hidden);
  return w;
}

// -------------------------------------------------------------- reference

// Row-major doubles of every weight.
std::map<std::string, Vec> to_doubles(const Weights& w) {
  std::map<std::string, Vec> out;
  for (const auto& [name, t] : w) {
    at::Tensor flat = t.to(at::kDouble).contiguous().reshape({-1});
    out[name] = Vec(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
  }
  return out;
}

class Reference {
 public:
  Reference(json config, const Weights& weights) : c_(std::move(config)), d_(dims_of(c_)), w_(to_doubles(weights)) {}

  struct Result {
    std::vector<std::vector<Vec>> layers;  // [layer][position] -> [H], the residual stream after the layer
    std::vector<Vec> hidden;               // [position] -> [H], final norm applied
    std::vector<Vec> logits;               // [position] -> [V]
  };

  Result run(const std::vector<std::int64_t>& ids) const {
    const std::size_t n = ids.size();
    std::vector<Vec> x(n);
    const Vec& embed = w_.at("model.embed_tokens.weight");
    for (std::size_t t = 0; t < n; ++t) {
      x[t] = Vec(embed.begin() + ids[t] * d_.hidden, embed.begin() + (ids[t] + 1) * d_.hidden);
    }
    Result r;
    for (std::int64_t i = 0; i < d_.layers; ++i) {
      x = layer(i, x);
      r.layers.push_back(x);
    }
    const std::string head = d_.tied ? "model.embed_tokens.weight" : "lm_head.weight";
    for (std::size_t t = 0; t < n; ++t) {
      r.hidden.push_back(rms(x[t], w_.at("model.norm.weight")));
      r.logits.push_back(matvec(w_.at(head), d_.vocab, r.hidden.back()));
    }
    return r;
  }

 private:
  double eps() const { return c_["rms_norm_eps"]; }

  Vec rms(const Vec& x, const Vec& weight) const {
    double sum = 0;
    for (double v : x) sum += v * v;
    double scale = 1.0 / std::sqrt(sum / double(x.size()) + eps());
    Vec y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = weight[i] * x[i] * scale;
    return y;
  }

  // W [rows, x.size()] times x.
  static Vec matvec(const Vec& w, std::int64_t rows, const Vec& x) {
    Vec y(rows, 0.0);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::size_t k = 0; k < x.size(); ++k) y[r] += w[r * x.size() + k] * x[k];
    }
    return y;
  }

  Vec proj(const std::string& name, std::int64_t rows, const Vec& x) const {
    Vec y = matvec(w_.at(name + ".weight"), rows, x);
    if (auto bias = w_.find(name + ".bias"); bias != w_.end()) {
      for (std::int64_t r = 0; r < rows; ++r) y[r] += bias->second[r];
    }
    return y;
  }

  // Per pair i: 1 / theta^(2i/d), then HF's llama3 rule on its wavelength.
  double inv_freq(std::int64_t i) const {
    double f = 1.0 / std::pow(double(c_["rope_theta"]), 2.0 * double(i) / double(d_.head_dim));
    const json& s = c_.value("rope_scaling", json());
    if (s.is_null()) return f;
    double factor = s["factor"], low = s["low_freq_factor"], high = s["high_freq_factor"];
    double original = s["original_max_position_embeddings"];
    double wavelength = 2 * M_PI / f;
    if (wavelength < original / high) return f;
    if (wavelength > original / low) return f / factor;
    double smooth = (original / wavelength - low) / (high - low);
    return (1 - smooth) * f / factor + smooth * f;
  }

  // Rotates pairs (j, j + d/2) of every head of x by pos * inv_freq(j).
  void rope(Vec& x, std::int64_t heads, std::size_t pos) const {
    const std::int64_t half = d_.head_dim / 2;
    for (std::int64_t h = 0; h < heads; ++h) {
      double* v = x.data() + h * d_.head_dim;
      for (std::int64_t j = 0; j < half; ++j) {
        double angle = double(pos) * inv_freq(j), a = v[j], b = v[j + half];
        v[j] = a * std::cos(angle) - b * std::sin(angle);
        v[j + half] = b * std::cos(angle) + a * std::sin(angle);
      }
    }
  }

  void head_norm(Vec& x, std::int64_t heads, const Vec& weight) const {
    for (std::int64_t h = 0; h < heads; ++h) {
      Vec one(x.begin() + h * d_.head_dim, x.begin() + (h + 1) * d_.head_dim);
      one = rms(one, weight);
      std::copy(one.begin(), one.end(), x.begin() + h * d_.head_dim);
    }
  }

  std::vector<Vec> layer(std::int64_t i, const std::vector<Vec>& x) const {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const std::size_t n = x.size();
    const std::int64_t d = d_.head_dim, q_width = d_.heads * d, kv_width = d_.kv_heads * d;
    std::vector<Vec> q(n), k(n), v(n);
    for (std::size_t t = 0; t < n; ++t) {
      Vec h = rms(x[t], w_.at(p + "input_layernorm.weight"));
      q[t] = proj(p + "self_attn.q_proj", q_width, h);
      k[t] = proj(p + "self_attn.k_proj", kv_width, h);
      v[t] = proj(p + "self_attn.v_proj", kv_width, h);
      if (d_.qk_norm) {
        head_norm(q[t], d_.heads, w_.at(p + "self_attn.q_norm.weight"));
        head_norm(k[t], d_.kv_heads, w_.at(p + "self_attn.k_norm.weight"));
      }
      rope(q[t], d_.heads, t);
      rope(k[t], d_.kv_heads, t);
    }
    std::vector<Vec> out(n);
    for (std::size_t t = 0; t < n; ++t) {
      Vec attn(q_width, 0.0);
      for (std::int64_t h = 0; h < d_.heads; ++h) {
        const std::int64_t g = h / (d_.heads / d_.kv_heads);  // the kv head query head h reads
        Vec score(t + 1);
        double top = -INFINITY;
        for (std::size_t j = 0; j <= t; ++j) {
          double dot = 0;
          for (std::int64_t e = 0; e < d; ++e) dot += q[t][h * d + e] * k[j][g * d + e];
          score[j] = dot / std::sqrt(double(d));
          top = std::max(top, score[j]);
        }
        double total = 0;
        for (double& s : score) total += (s = std::exp(s - top));
        for (std::size_t j = 0; j <= t; ++j) {
          for (std::int64_t e = 0; e < d; ++e) attn[h * d + e] += score[j] / total * v[j][g * d + e];
        }
      }
      Vec y = x[t];
      Vec o = proj(p + "self_attn.o_proj", d_.hidden, attn);
      for (std::int64_t e = 0; e < d_.hidden; ++e) y[e] += o[e];
      Vec m = rms(y, w_.at(p + "post_attention_layernorm.weight"));
      Vec gate = proj(p + "mlp.gate_proj", d_.inter, m), up = proj(p + "mlp.up_proj", d_.inter, m);
      for (std::int64_t e = 0; e < d_.inter; ++e) gate[e] = gate[e] / (1 + std::exp(-gate[e])) * up[e];
      Vec down = proj(p + "mlp.down_proj", d_.hidden, gate);
      for (std::int64_t e = 0; e < d_.hidden; ++e) y[e] += down[e];
      out[t] = y;
    }
    return out;
  }

  json c_;
  Dims d_;
  std::map<std::string, Vec> w_;
};

// -------------------------------------------------------------- helpers

// Writes config.json and the weights (in `dtype`) as one model.safetensors,
// or as `shards` files with model.safetensors.index.json. `drop` names
// weights to leave out. Returns the directory.
std::string write_model(const TempDir& tmp, const std::string& name, const json& config, const Weights& weights,
                        at::ScalarType dtype = at::kFloat, int shards = 1, const std::set<std::string>& drop = {}) {
  std::filesystem::path dir = tmp.path() / name;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << config.dump(2);
  std::vector<io::NamedTensors> files(shards);
  json weight_map = json::object();
  int next = 0;
  for (const auto& [tensor_name, t] : weights) {
    if (drop.count(tensor_name)) continue;
    int shard = next++ % shards;
    files[shard].emplace_back(tensor_name, t.to(dtype));
    weight_map[tensor_name] = "model-0000" + std::to_string(shard + 1) + "-of-0000" + std::to_string(shards) +
                              ".safetensors";
  }
  if (shards == 1) {
    io::write_safetensors((dir / "model.safetensors").string(), files[0], {{"format", "pt"}});
  } else {
    for (int s = 0; s < shards; ++s) {
      std::string file = "model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
      io::write_safetensors((dir / file).string(), files[s], {{"format", "pt"}});
    }
    std::ofstream(dir / "model.safetensors.index.json")
        << json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2);
  }
  return dir.string();
}

std::vector<std::int64_t> random_ids(std::int64_t vocab, std::int64_t length, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor ids = at::randint(vocab, {length}, gen, at::TensorOptions(at::kLong));
  return std::vector<std::int64_t>(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + length);
}

at::Tensor as_batch(const std::vector<std::int64_t>& ids) {
  return at::tensor(ids, at::TensorOptions(at::kLong)).reshape({1, static_cast<std::int64_t>(ids.size())});
}

// Max |got - want| over got [L, N] (fp32) and want [L][N].
double max_diff(const at::Tensor& got, const std::vector<Vec>& want) {
  at::Tensor g = got.to(at::kDouble).contiguous();
  EXPECT_EQ(g.size(0), static_cast<std::int64_t>(want.size()));
  double worst = 0;
  for (std::size_t t = 0; t < want.size(); ++t) {
    EXPECT_EQ(g.size(1), static_cast<std::int64_t>(want[t].size()));
    for (std::size_t e = 0; e < want[t].size(); ++e) {
      worst = std::max(worst, std::abs(g[t][e].item<double>() - want[t][e]));
    }
  }
  return worst;
}

// A checkpoint of `config` with random weights (seed), loaded in fp32.
TargetModel load_random(const TempDir& tmp, const json& config, std::uint64_t seed) {
  return TargetModel::load(write_model(tmp, "model", config, random_weights(config, seed)), at::kCPU, at::kFloat);
}

constexpr double kTolerance = 1e-4;

// Loads the checkpoint in fp32 and checks aux, hidden and logits against the
// reference on one random sequence.
void expect_matches_reference(const json& config, const std::vector<int>& aux_layers) {
  TempDir tmp;
  Weights weights = random_weights(config, 11);
  std::string dir = write_model(tmp, "model", config, weights);
  TargetModel model = TargetModel::load(dir, at::kCPU, at::kFloat);
  std::vector<std::int64_t> ids = random_ids(config["vocab_size"], 13, 5);

  TargetFeatures f = model.forward(as_batch(ids), aux_layers);
  Reference::Result want = Reference(config, weights).run(ids);
  const std::int64_t h = config["hidden_size"];
  ASSERT_EQ(f.aux.sizes(), at::IntArrayRef({1, 13, 3 * h}));
  ASSERT_EQ(f.hidden.sizes(), at::IntArrayRef({1, 13, h}));
  EXPECT_EQ(f.aux.scalar_type(), at::kFloat);
  for (int k = 0; k < 3; ++k) {
    EXPECT_LT(max_diff(f.aux[0].narrow(-1, k * h, h), want.layers[aux_layers[k]]), kTolerance) << "aux " << k;
  }
  EXPECT_LT(max_diff(f.hidden[0], want.hidden), kTolerance);
  EXPECT_LT(max_diff(at::matmul(f.hidden[0], model.lm_head().t()), want.logits), kTolerance);
}

// ------------------------------------------------------------------ tests

TEST(TargetModel, LlamaMatchesReference) { expect_matches_reference(llama_config(), {1, 2, 4}); }
TEST(TargetModel, Qwen2MatchesReference) { expect_matches_reference(qwen2_config(), {0, 1, 3}); }
TEST(TargetModel, Qwen3MatchesReference) { expect_matches_reference(qwen3_config(), {1, 2, 5}); }

// from_weights over the tensors load() reads gives load()'s model; a
// missing or misshapen tensor is named.
TEST(TargetModel, FromWeightsMatchesLoadAndNamesBadTensors) {
  TempDir tmp;
  const json config = qwen2_config();
  const Weights weights = random_weights(config, 4);
  const TargetModel loaded = TargetModel::load(write_model(tmp, "qwen2", config, weights), at::kCPU, at::kFloat);
  const io::TargetConfig parsed = io::parse_target_config(config, "qwen2.json");
  auto from = [&](std::unordered_map<std::string, at::Tensor> w) {
    return TargetModel::from_weights(parsed, std::move(w), at::kCPU, at::kFloat, {}, "qwen2.json");
  };
  std::unordered_map<std::string, at::Tensor> all(weights.begin(), weights.end());
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{3, 1, 4, 1, 5, 9}).view({1, -1});
  EXPECT_TRUE(at::equal(from(all).forward(ids, {0, 1, 3}).aux, loaded.forward(ids, {0, 1, 3}).aux));

  std::unordered_map<std::string, at::Tensor> missing = all;
  missing.erase("model.layers.1.self_attn.k_proj.bias");
  expect_error([&] { from(missing); }, {"qwen2.json", "model.layers.1.self_attn.k_proj.bias"});
  std::unordered_map<std::string, at::Tensor> misshapen = all;
  misshapen["model.norm.weight"] = at::ones({3});
  expect_error([&] { from(misshapen); }, {"qwen2.json", "model.norm.weight", "[3]"});
}

TEST(TargetModel, LlamaWithAttentionBiasMatchesReference) {
  json config = llama_config();
  config["attention_bias"] = true;  // q/k/v and o_proj biases
  expect_matches_reference(config, {0, 3, 4});
}

// The reference would not notice a model that ignored rope_scaling unless
// the scaling moves the result well past the tolerance.
TEST(TargetModel, Llama3RopeScalingChangesTheResult) {
  TempDir tmp;
  json config = llama_config();
  Weights weights = random_weights(config, 11);
  TargetModel model = TargetModel::load(write_model(tmp, "model", config, weights), at::kCPU, at::kFloat);
  std::vector<std::int64_t> ids = random_ids(97, 13, 5);
  json unscaled = config;
  unscaled.erase("rope_scaling");
  Reference::Result want = Reference(unscaled, weights).run(ids);
  EXPECT_GT(max_diff(model.forward(as_batch(ids), {1, 2, 4}).hidden[0], want.hidden), 100 * kTolerance);
}

TEST(TargetModel, Accessors) {
  TempDir tmp;
  json config = qwen2_config();  // tied
  Weights weights = random_weights(config, 3);
  TargetModel model = TargetModel::load(write_model(tmp, "model", config, weights), at::kCPU, at::kFloat);
  EXPECT_EQ(model.config().architecture, io::Architecture::Qwen2);
  EXPECT_EQ(model.device(), at::Device(at::kCPU));
  EXPECT_EQ(model.dtype(), at::kFloat);
  EXPECT_TRUE(at::equal(model.embed_tokens(), weights["model.embed_tokens.weight"]));
  EXPECT_TRUE(at::equal(model.lm_head(), weights["model.embed_tokens.weight"]));

  json untied = llama_config();
  Weights untied_weights = random_weights(untied, 3);
  TargetModel llama = TargetModel::load(write_model(tmp, "llama", untied, untied_weights), at::kCPU, at::kFloat);
  EXPECT_TRUE(at::equal(llama.lm_head(), untied_weights["lm_head.weight"]));
}

TEST(TargetModel, ShardedCheckpointLoadsTheSame) {
  TempDir tmp;
  json config = qwen3_config();
  Weights weights = random_weights(config, 7);
  TargetModel single = TargetModel::load(write_model(tmp, "single", config, weights), at::kCPU, at::kFloat);
  std::string sharded_dir = write_model(tmp, "sharded", config, weights, at::kFloat, 3);
  ASSERT_TRUE(std::filesystem::exists(sharded_dir + "/model.safetensors.index.json"));
  TargetModel sharded = TargetModel::load(sharded_dir, at::kCPU, at::kFloat);
  at::Tensor ids = as_batch(random_ids(89, 9, 1));
  TargetFeatures a = single.forward(ids, {0, 2, 4}), b = sharded.forward(ids, {0, 2, 4});
  EXPECT_TRUE(at::equal(a.aux, b.aux));
  EXPECT_TRUE(at::equal(a.hidden, b.hidden));
}

// Half-precision files are widened exactly; the model then matches the
// reference built from the rounded weights.
TEST(TargetModel, HalfPrecisionOnDiskConvertsToFp32) {
  for (at::ScalarType disk : {at::kBFloat16, at::kHalf}) {
    SCOPED_TRACE(c10::toString(disk));
    TempDir tmp;
    json config = llama_config();
    Weights weights = random_weights(config, 2);
    TargetModel model = TargetModel::load(write_model(tmp, "model", config, weights, disk), at::kCPU, at::kFloat);
    Weights rounded;
    for (const auto& [name, t] : weights) rounded[name] = t.to(disk).to(at::kFloat);
    EXPECT_EQ(model.embed_tokens().scalar_type(), at::kFloat);
    EXPECT_TRUE(at::equal(model.embed_tokens(), rounded["model.embed_tokens.weight"]));

    std::vector<std::int64_t> ids = random_ids(97, 10, 8);
    TargetFeatures f = model.forward(as_batch(ids), {0, 1, 3});
    Reference::Result want = Reference(config, rounded).run(ids);
    EXPECT_LT(max_diff(f.aux[0].narrow(-1, 0, 32), want.layers[0]), kTolerance);
    EXPECT_LT(max_diff(f.hidden[0], want.hidden), kTolerance);
  }
}

// The compute dtype used on GPUs, run on the CPU: same formulas, bf16 error.
TEST(TargetModel, Bf16ComputeStaysCloseToFp32) {
  TempDir tmp;
  json config = qwen3_config();
  std::string dir = write_model(tmp, "model", config, random_weights(config, 4));
  TargetModel fp32 = TargetModel::load(dir, at::kCPU, at::kFloat);
  TargetModel bf16 = TargetModel::load(dir, at::kCPU, at::kBFloat16);
  EXPECT_EQ(bf16.embed_tokens().scalar_type(), at::kBFloat16);
  at::Tensor ids = as_batch(random_ids(89, 12, 3));
  TargetFeatures want = fp32.forward(ids, {1, 2, 3}), got = bf16.forward(ids, {1, 2, 3});
  EXPECT_EQ(got.aux.scalar_type(), at::kBFloat16);
  EXPECT_EQ(got.hidden.scalar_type(), at::kBFloat16);
  double scale = want.hidden.abs().max().item<double>();
  EXPECT_LT((got.hidden.to(at::kFloat) - want.hidden).abs().max().item<double>(), 0.05 * scale);
}

// On a GPU machine: bf16 on CUDA against the fp32 CPU model.
TEST(TargetModel, CudaBf16StaysCloseToCpuFp32) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  TempDir tmp;
  json config = llama_config();
  std::string dir = write_model(tmp, "model", config, random_weights(config, 4), at::kBFloat16);
  TargetModel cpu = TargetModel::load(dir, at::kCPU, at::kFloat);
  TargetModel cuda = TargetModel::load(dir, at::Device(at::kCUDA, 0), at::kBFloat16);
  at::Tensor ids = as_batch(random_ids(97, 12, 3));
  TargetFeatures want = cpu.forward(ids, {1, 2, 3}), got = cuda.forward(ids, {1, 2, 3});
  EXPECT_TRUE(got.aux.is_cuda());
  double scale = want.aux.abs().max().item<double>();
  EXPECT_LT((got.aux.cpu().to(at::kFloat) - want.aux).abs().max().item<double>(), 0.05 * scale);
}

// The draft config's eagle_aux_hidden_state_layer_ids (0-based output of
// layer) picks which reference layers come back, in ascending order
// whatever order they are given in.
TEST(TargetModel, OverriddenAuxLayers) {
  TempDir tmp;
  json config = llama_config();
  Weights weights = random_weights(config, 9);
  TargetModel model = TargetModel::load(write_model(tmp, "model", config, weights), at::kCPU, at::kFloat);
  std::vector<std::int64_t> ids = random_ids(97, 8, 2);
  Reference::Result want = Reference(config, weights).run(ids);

  io::DraftConfig draft;
  draft.aux_layer_ids = std::array<int, 3>{3, 0, 2};
  std::vector<int> layers = io::aux_layer_ids(draft, 5);
  EXPECT_EQ(layers, (std::vector<int>{0, 2, 3}));
  for (const std::vector<int>& given : {layers, std::vector<int>{3, 0, 2}}) {
    TargetFeatures f = model.forward(as_batch(ids), given);
    EXPECT_LT(max_diff(f.aux[0].narrow(-1, 0, 32), want.layers[0]), kTolerance);
    EXPECT_LT(max_diff(f.aux[0].narrow(-1, 32, 32), want.layers[2]), kTolerance);
    EXPECT_LT(max_diff(f.aux[0].narrow(-1, 64, 32), want.layers[3]), kTolerance);
  }
  // The last layer's output may be asked for too (before the final norm).
  TargetFeatures last = model.forward(as_batch(ids), {0, 1, 4});
  EXPECT_LT(max_diff(last.aux[0].narrow(-1, 64, 32), want.layers[4]), kTolerance);
}

TEST(TargetModel, BadForwardArgumentsAreErrors) {
  TempDir tmp;
  json config = llama_config();
  TargetModel model = load_random(tmp, config, 1);
  at::Tensor ids = as_batch({1, 2, 3});
  expect_error([&] { model.forward(ids, {1, 1, 2}); }, {"aux layers", "distinct", "[0, 4]"});
  expect_error([&] { model.forward(ids, {1, 2, 5}); }, {"aux layers", "[1, 2, 5]"});
  expect_error([&] { model.forward(ids, {-1, 2, 3}); }, {"aux layers"});
  expect_error([&] { model.forward(as_batch({1, 97}), {0, 1, 2}); }, {"token ids", "[0, 97)", "97"});
  expect_error([&] { model.forward(ids.to(at::kInt), {0, 1, 2}); }, {"int64", "[1, 3]"});
  expect_error([&] { model.forward(ids.reshape({3}), {0, 1, 2}); }, {"[B, L]"});
}

TEST(TargetModel, MissingTensorIsNamed) {
  TempDir tmp;
  json config = qwen2_config();
  Weights weights = random_weights(config, 1);
  for (std::string name : {"model.layers.2.mlp.up_proj.weight", "model.layers.0.self_attn.k_proj.bias",
                           "model.norm.weight", "model.embed_tokens.weight"}) {
    std::string dir = write_model(tmp, "model", config, weights, at::kFloat, 1, {name});
    expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); }, {dir, "missing tensor", name});
  }
  json qwen3 = qwen3_config();
  std::string dir = write_model(tmp, "qwen3", qwen3, random_weights(qwen3, 1), at::kFloat, 2,
                                {"model.layers.5.self_attn.q_norm.weight"});
  expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); },
               {dir, "model.layers.5.self_attn.q_norm.weight", "[16]"});
  json llama = llama_config();
  dir = write_model(tmp, "llama", llama, random_weights(llama, 1), at::kFloat, 1, {"lm_head.weight"});
  expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); }, {dir, "lm_head.weight", "[97, 32]"});
}

TEST(TargetModel, WrongShapeIsNamedWithBothShapes) {
  TempDir tmp;
  json config = qwen3_config();
  Weights weights = random_weights(config, 1);
  weights["model.layers.3.self_attn.k_proj.weight"] = at::zeros({40, 32});
  std::string dir = write_model(tmp, "model", config, weights);
  expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); },
               {dir, "model.layers.3.self_attn.k_proj.weight", "expected shape [32, 40]", "found [40, 32]"});

  // A config that disagrees with the checkpoint: the first mismatching tensor.
  json wider = qwen3_config();
  wider["vocab_size"] = 90;
  dir = write_model(tmp, "wider", wider, random_weights(config, 1));
  expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); },
               {dir, "model.embed_tokens.weight", "[90, 40]", "[89, 40]"});
}

// A config claiming more layers than the weights hold is refused before a
// list per layer is built: 10^9 layers (weights for 8) grew to 7 GB and hung.
TEST(TargetModel, LayerCountIsCheckedAgainstTheWeightsFirst) {
  TempDir tmp;
  const json config = llama_config();  // 5 layers
  const Weights weights = random_weights(config, 1);
  for (int shards : {1, 2}) {  // model.safetensors, or an index
    json claimed = config;
    claimed["num_hidden_layers"] = 1024;
    const std::string dir = write_model(tmp, "more" + std::to_string(shards), claimed, weights, at::kFloat, shards);
    expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); },
                 {dir + "/config.json: field \"num_hidden_layers\": expected 5, the layers the weights in " + dir +
                  " hold (model.layers.0 to model.layers.4), found 1024"});
  }
  json claimed = config;
  claimed["num_hidden_layers"] = 1000000000;
  const std::string dir = write_model(tmp, "billion", claimed, weights);
  expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); },
               {dir + "/config.json: field \"num_hidden_layers\": expected at most 1024, found 1000000000"});
}

// A NaN or infinity in a target weight is an error naming the tensor and
// the element: by default on a strided sample of each tensor (every element
// of the small ones), with WeightCheck::Full on every element.
TEST(TargetModel, NonFiniteWeightsAreNamed) {
  TempDir tmp;
  const json config = qwen2_config();  // the embedding is [101, 48]: 4848 elements, every 2nd sampled
  auto load = [](const std::string& dir, WeightCheck check, at::ScalarType dtype = at::kFloat) {
    return TargetModel::load(dir, at::kCPU, dtype, {}, check);
  };
  Weights weights = random_weights(config, 1);
  weights["model.layers.2.mlp.up_proj.weight"][3][5] = -INFINITY;  // [64, 48]: all 3072 sampled
  std::string dir = write_model(tmp, "inf", config, weights);
  expect_error([&] { load(dir, WeightCheck::Sampled); },
               {dir + ": tensor \"model.layers.2.mlp.up_proj.weight\": expected finite weights, found -inf at "
                      "[3, 5] (read as Float)"});

  weights = random_weights(config, 1);
  weights["model.embed_tokens.weight"][7][1] = NAN;  // flat index 337: odd, between two samples
  dir = write_model(tmp, "nan", config, weights);
  EXPECT_NO_THROW(load(dir, WeightCheck::Sampled));
  expect_error([&] { load(dir, WeightCheck::Full); },
               {dir + ": tensor \"model.embed_tokens.weight\": expected finite weights, found nan at [7, 1] (read as "
                      "Float)"});
  // read_target_rows checks the rows it reads, and names them as in the file.
  const at::Tensor rows = at::tensor(std::vector<std::int64_t>{2, 7}, at::kLong);
  expect_error([&] { read_target_rows(dir, TargetMatrix::Embedding, rows, at::kCPU, at::kFloat, WeightCheck::Full); },
               {dir + ": tensor \"model.embed_tokens.weight\": expected finite weights, found nan at [7, 1]"});

  // Finite on disk, infinite in the dtype the model computes with.
  weights = random_weights(config, 1);
  weights["model.norm.weight"][4] = 1e5;  // float16 ends at 65504
  dir = write_model(tmp, "overflow", config, weights);
  EXPECT_NO_THROW(load(dir, WeightCheck::Full));
  expect_error([&] { load(dir, WeightCheck::Sampled, at::kHalf); },
               {dir + ": tensor \"model.norm.weight\": expected finite weights, found inf at [4] (read as Half)"});
}

// A weight the config does not explain means a variant Talon would run
// wrongly (an o_proj bias in Qwen2, MLP biases): an error, not ignored.
TEST(TargetModel, UnexpectedTensorIsAnError) {
  TempDir tmp;
  json config = qwen2_config();
  for (const char* name : {"model.layers.1.self_attn.o_proj.bias", "model.layers.0.mlp.up_proj.bias",
                           "model.layers.4.input_layernorm.weight"}) {
    Weights weights = random_weights(config, 1);
    weights[name] = at::zeros({48});
    std::string dir = write_model(tmp, "model", config, weights);
    expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); }, {dir, "unexpected tensor", name, "qwen2"});
  }
}

// What transformers skips quietly: saved RoPE buffers, and lm_head beside
// tied embeddings (the embedding is used).
TEST(TargetModel, IgnorableExtraTensorsLoad) {
  TempDir tmp;
  json config = qwen2_config();
  Weights weights = random_weights(config, 1);
  weights["model.layers.0.self_attn.rotary_emb.inv_freq"] = at::ones({6});
  weights["lm_head.weight"] = at::zeros({101, 48});
  TargetModel model = TargetModel::load(write_model(tmp, "model", config, weights), at::kCPU, at::kFloat);
  EXPECT_TRUE(at::equal(model.lm_head(), weights["model.embed_tokens.weight"]));
}

TEST(TargetModel, NonFloatTensorIsAnError) {
  TempDir tmp;
  json config = llama_config();
  Weights weights = random_weights(config, 1);
  std::string dir = write_model(tmp, "model", config, weights);
  weights["model.norm.weight"] = at::ones({32}, at::kLong);
  io::NamedTensors list(weights.begin(), weights.end());
  io::write_safetensors(dir + "/model.safetensors", list);
  expect_error([&] { TargetModel::load(dir, at::kCPU, at::kFloat); }, {dir, "model.norm.weight", "I64"});
  expect_error([&] { TargetModel::load(dir, at::kCPU, at::kLong); }, {dir, "float32"});
}

// Right padding: each sample's real positions see only earlier real
// positions, so the batch gives what each sample gives alone.
TEST(TargetModel, RightPaddedBatchMatchesEachSampleAlone) {
  TempDir tmp;
  json config = qwen2_config();
  TargetModel model = load_random(tmp, config, 6);
  const std::vector<std::int64_t> lengths = {9, 4, 1};
  at::Tensor batch = at::zeros({3, 9}, at::kLong);
  std::vector<std::vector<std::int64_t>> samples;
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    samples.push_back(random_ids(101, lengths[b], 20 + b));
    batch[b].narrow(0, 0, lengths[b]).copy_(at::tensor(samples[b], at::kLong));
  }
  TargetFeatures together = model.forward(batch, {0, 1, 2});
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    TargetFeatures alone = model.forward(as_batch(samples[b]), {0, 1, 2});
    const std::int64_t n = lengths[b];
    EXPECT_TRUE(at::allclose(together.aux[b].narrow(0, 0, n), alone.aux[0], 1e-5, 1e-5)) << "sample " << b;
    EXPECT_TRUE(at::allclose(together.hidden[b].narrow(0, 0, n), alone.hidden[0], 1e-5, 1e-5)) << "sample " << b;
  }
}


// Decoding with a KV cache (extend) gives each new token the features
// forward() gives it on the whole sequence: a prompt, then one token at a
// time (Qwen3: q/k norm); a draft tree whose nodes each see only their
// ancestors, then the accepted path kept and decoding continued from it;
// and a batch of sequences advancing by different numbers of tokens, each
// row blind to the others' columns (BatchCache's holes).
void expect_same_rows(const TargetFeatures& got, const TargetFeatures& whole, std::int64_t first, const char* what) {
  const std::int64_t n = got.hidden.size(1);
  EXPECT_TRUE(at::allclose(got.aux[0], whole.aux[0].narrow(0, first, n), 1e-5, 1e-5)) << what;
  EXPECT_TRUE(at::allclose(got.hidden[0], whole.hidden[0].narrow(0, first, n), 1e-5, 1e-5)) << what;
}

// One row's block of tokens after what `cache` holds: a chain when `parent`
// is empty, else each token i attending to itself and its ancestors.
TargetFeatures extend_row(const TargetModel& model, BatchCache& cache, const std::vector<std::int64_t>& tokens,
                          const std::vector<std::int64_t>& parent, const std::vector<int>& aux) {
  const auto n = static_cast<std::int64_t>(tokens.size());
  at::Tensor block = at::ones({n, n}, at::kBool).tril(), depth = at::arange(n, at::kLong);
  if (!parent.empty()) {
    block.zero_();
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t a = i; a >= 0; a = parent[a]) block[i][a] = true;
      depth[i] = parent[i] < 0 ? 0 : depth[parent[i]].item<std::int64_t>() + 1;
    }
  }
  return model.extend(as_batch(tokens), cache.positions(depth.unsqueeze(0)), cache.mask(block.unsqueeze(0)),
                      cache.kv(), aux);
}

std::vector<std::int64_t> counting(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

TEST(TargetModel, ExtendingTheCacheMatchesTheWholeSequence) {
  TempDir tmp;
  json config = qwen3_config();
  TargetModel model = load_random(tmp, config, 8);
  const std::vector<int> aux = {0, 1, 2};
  const std::vector<std::int64_t> ids = random_ids(config["vocab_size"], 12, 31);
  const TargetFeatures whole = model.forward(as_batch(ids), aux);
  BatchCache cache(1);
  expect_same_rows(extend_row(model, cache, {ids.begin(), ids.begin() + 7}, {}, aux), whole, 0, "prompt");
  cache.settle({counting(7)});
  for (std::size_t t = 7; t < 12; ++t) {
    expect_same_rows(extend_row(model, cache, {ids[t]}, {}, aux), whole, static_cast<std::int64_t>(t), "one token");
    cache.settle({{0}});
  }
  EXPECT_EQ(cache.kv().length(), 12);
  EXPECT_EQ(cache.length(0), 12);
}

TEST(TargetModel, DraftTreeNodesSeeOnlyTheirAncestors) {
  TempDir tmp;
  json config = llama_config();
  TargetModel model = load_random(tmp, config, 9);
  const std::vector<int> aux = {1, 2, 4};
  const std::vector<std::int64_t> prefix = random_ids(config["vocab_size"], 6, 41);
  // The tree after the prefix: node 0 and node 1 at depth 0, node 2 (child
  // of 0) and node 3 (child of 1) at depth 1, node 4 (child of 3) at depth 2.
  const std::vector<std::int64_t> tokens = {11, 22, 33, 44, 55}, parent = {-1, -1, 0, 1, 3};
  const std::int64_t start = 6;
  BatchCache cache(1);
  extend_row(model, cache, prefix, {}, aux);
  cache.settle({counting(start)});
  const TargetFeatures tree = extend_row(model, cache, tokens, parent, aux);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::vector<std::int64_t> path;
    for (std::int64_t a = static_cast<std::int64_t>(i); a >= 0; a = parent[a]) path.insert(path.begin(), tokens[a]);
    std::vector<std::int64_t> sequence = prefix;
    sequence.insert(sequence.end(), path.begin(), path.end());
    const TargetFeatures alone = model.forward(as_batch(sequence), aux);
    const std::int64_t last = static_cast<std::int64_t>(sequence.size()) - 1;
    EXPECT_TRUE(at::allclose(tree.hidden[0][i], alone.hidden[0][last], 1e-5, 1e-5)) << "node " << i;
    EXPECT_TRUE(at::allclose(tree.aux[0][i], alone.aux[0][last], 1e-5, 1e-5)) << "node " << i;
  }
  // Accept the path 1 -> 3 -> 4, keep it, and decode one more token.
  cache.settle({{1, 3, 4}});
  EXPECT_EQ(cache.kv().length(), start + 3);
  std::vector<std::int64_t> sequence = prefix;
  sequence.insert(sequence.end(), {22, 44, 55, 66});
  expect_same_rows(extend_row(model, cache, {66}, {}, aux), model.forward(as_batch(sequence), aux), start + 3,
                   "after the accepted path");
}

// prefill() (fused causal attention, keys and values kept) is the masked
// path's fast twin: on a batch it gives the features and the cache that
// extend() with the causal mask gives, and it wants an empty cache.
TEST(TargetModel, PrefillMatchesTheMaskedPath) {
  TempDir tmp;
  json config = qwen3_config();
  TargetModel model = load_random(tmp, config, 11);
  const std::vector<int> aux = {0, 1, 3};
  const std::vector<std::int64_t> a = random_ids(config["vocab_size"], 9, 61);
  const std::vector<std::int64_t> b = random_ids(config["vocab_size"], 9, 62);
  const at::Tensor ids = at::stack({as_batch({a.begin(), a.begin() + 6})[0], as_batch(b)[0].narrow(0, 0, 6)});
  KvCache fast, slow;
  const TargetFeatures f = model.prefill(ids, fast, aux);
  const TargetFeatures s = model.extend(ids, at::arange(6).expand({2, 6}), at::ones({2, 6, 6}, at::kBool).tril(), slow,
                                        aux);
  EXPECT_TRUE(at::allclose(f.hidden, s.hidden, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(f.aux, s.aux, 1e-5, 1e-5));
  ASSERT_EQ(fast.layers(), slow.layers());
  for (std::size_t layer = 0; layer < fast.layers(); ++layer) {
    EXPECT_TRUE(at::allclose(fast.keys(layer), slow.keys(layer), 1e-5, 1e-5)) << "layer " << layer;
    EXPECT_TRUE(at::allclose(fast.values(layer), slow.values(layer), 1e-5, 1e-5)) << "layer " << layer;
  }
  expect_error([&] { model.prefill(ids, fast, aux); }, {"target prefill: the cache must be empty"});
}

TEST(TargetModel, BatchRowsAdvanceIndependently) {
  TempDir tmp;
  json config = llama_config();
  TargetModel model = load_random(tmp, config, 10);
  const std::vector<int> aux = {0, 2, 3};
  const std::vector<std::int64_t> a = random_ids(config["vocab_size"], 9, 51);
  const std::vector<std::int64_t> b = random_ids(config["vocab_size"], 9, 52);
  BatchCache cache(2);
  // Prompts of 3 and 5 tokens, right-padded to 5.
  at::Tensor ids = at::stack({as_batch({a[0], a[1], a[2], 0, 0})[0], as_batch({b.begin(), b.begin() + 5})[0]});
  model.extend(ids, cache.positions(at::arange(5).expand({2, 5})), cache.mask(at::ones({2, 5, 5}, at::kBool).tril()),
               cache.kv(), aux);
  cache.settle({counting(3), counting(5)});
  // A block of 3 in each row: row 0 keeps all of it, row 1 its first token.
  ids = at::stack({as_batch({a[3], a[4], a[5]})[0], as_batch({b[5], 7, 8})[0]});
  TargetFeatures step = model.extend(ids, cache.positions(at::arange(3).expand({2, 3})),
                                     cache.mask(at::ones({2, 3, 3}, at::kBool).tril()), cache.kv(), aux);
  expect_same_rows({step.aux.narrow(0, 0, 1), step.hidden.narrow(0, 0, 1)},
                   model.forward(as_batch({a.begin(), a.begin() + 6}), aux), 3, "row 0");
  cache.settle({{0, 1, 2}, {0}});
  EXPECT_EQ(cache.length(0), 6);
  EXPECT_EQ(cache.length(1), 6);
  ids = at::stack({as_batch({a[6]})[0], as_batch({b[6]})[0]});
  step = model.extend(ids, cache.positions(at::zeros({2, 1}, at::kLong)), cache.mask(at::ones({2, 1, 1}, at::kBool)),
                      cache.kv(), aux);
  expect_same_rows({step.aux.narrow(0, 0, 1), step.hidden.narrow(0, 0, 1)},
                   model.forward(as_batch({a.begin(), a.begin() + 7}), aux), 6, "row 0 after its block");
  expect_same_rows({step.aux.narrow(0, 1, 1), step.hidden.narrow(0, 1, 1)},
                   model.forward(as_batch({b.begin(), b.begin() + 7}), aux), 6, "row 1 past its holes");
  cache.settle({{0}, {0}});
  cache.keep_rows({1});
  EXPECT_EQ(cache.kv().length(), 7) << "row 0's columns and the padding dropped with it";
}

}  // namespace
}  // namespace talon::model
