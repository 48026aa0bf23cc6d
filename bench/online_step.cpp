// One online training step as `talon train` runs it, on one device: the
// target's forward for the features (three aux layers, the full-vocabulary
// argmax, the draft vocabulary's probabilities), the draft's TTT forward and
// backward, gradient clipping and the AdamW step, for one sample of L
// tokens. The target's weights are random, made on the device (an 8B target
// in bf16 is 16 GB: no checkpoint to read). Prints per L the step time,
// tokens/s, the model FLOPs of the step and, given the device's peak, the
// model FLOP utilisation, and the device's peak memory.
//
// Model FLOPs (no recomputation counted, as MFU is usually defined), with H
// and I the target's hidden and intermediate sizes, h the draft's, Vd its
// vocabulary, V the target's, T the TTT length:
//   target forward  2 L P_target + 2 L^2 (heads x head_dim) per layer (causal attention: QK^T and PV,
//                   half the square each)
//   argmax          2 L V H         (the position mask's full-vocabulary argmax)
//   probabilities   2 L Vd H        (the draft vocabulary's logits: once, though Talon
//                                    recomputes them per TTT step rather than keep them)
//   draft           2 x 2 L 3H h    (fc: forward and its weight gradient; its input, the
//                                    target's features, needs none)
//                   + 3 x T (2 L P_layer + 2 L^2 q + 2 L Vd h)   (forward and backward;
//                   q = the draft's heads x head_dim)
// where P_target counts the decoder layers' matrices and P_layer the draft
// layer's (its q, k, v read 2h inputs).
//
// Usage: build/bench/online_step [--device cuda] [--lengths 4096,16384] [--ttt-length 7] [--steps 2]
//   [--target-config tests/data/configs/llama-3.1-8b-instruct.json]
//   [--draft-config tests/data/configs/specforge-llama3-8B-eagle3.json] [--peak-tflops 989.4]
// CUDA computes in bf16, the CPU in fp32. --peak-tflops: the device's dense
// bf16 peak (H100 and H200 SXM: 989.4); 0 prints no MFU.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "device_memory.h"
#include "talon/data/batcher.h"
#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_distribution.h"
#include "talon/model/target_model.h"
#include "talon/model/target_weights.h"
#include "talon/model/eagle3/eagle3_method.h"
#include "talon/model/eagle3/ttt.h"
#include "talon/parallel/process_groups.h"
#include "talon/train/draft_optimizer.h"
#include "talon/train/online_features.h"

namespace {

namespace io = talon::io;
namespace model = talon::model;

struct Options {
  std::string device = "cuda";
  std::vector<std::int64_t> lengths = {4096, 16384};
  int ttt_length = 7;
  int steps = 2;
  std::string target_config = "tests/data/configs/llama-3.1-8b-instruct.json";
  std::string draft_config = "tests/data/configs/specforge-llama3-8B-eagle3.json";
  double peak_tflops = 989.4;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--device") o.device = value;
    else if (flag == "--ttt-length") o.ttt_length = std::stoi(value);
    else if (flag == "--steps") o.steps = std::stoi(value);
    else if (flag == "--target-config") o.target_config = value;
    else if (flag == "--draft-config") o.draft_config = value;
    else if (flag == "--peak-tflops") o.peak_tflops = std::stod(value);
    else if (flag == "--lengths") {
      o.lengths.clear();
      std::istringstream in(value);
      for (std::string item; std::getline(in, item, ',');) o.lengths.push_back(std::stoll(item));
    } else {
      throw std::runtime_error("unknown flag " + flag + " (see the usage at the top of bench/online_step.cpp)");
    }
  }
  return o;
}

// The target with weights drawn on the device: N(0, 0.02) matrices, unit
// norms, zero biases, as a fresh transformers model.
model::TargetModel random_target(const io::TargetConfig& config, at::Device device, at::ScalarType dtype,
                                 const std::string& source) {
  std::unordered_map<std::string, at::Tensor> weights;
  const auto options = at::TensorOptions().device(device).dtype(dtype);
  for (const model::TargetTensorSpec& spec : model::target_tensor_specs(config)) {
    switch (spec.role) {
      case model::TensorRole::Matrix: weights[spec.name] = at::randn(spec.shape, options) * 0.02; break;
      case model::TensorRole::Norm: weights[spec.name] = at::ones(spec.shape, options); break;
      case model::TensorRole::Bias: weights[spec.name] = at::zeros(spec.shape, options); break;
    }
  }
  return model::TargetModel::from_weights(config, std::move(weights), device, dtype, {}, source);
}

double step_flops(const io::TargetConfig& t, const io::DraftConfig& d, std::int64_t L, int T) {
  const double H = t.hidden_size, I = t.intermediate_size, V = t.vocab_size, l = static_cast<double>(L);
  const double qo = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
  const double target_layer = H * qo * 2 + H * kv * 2 + 3 * H * I;
  const double target = t.num_hidden_layers * (2 * l * target_layer + 2 * l * l * qo);
  const double h = d.hidden_size, Vd = d.draft_vocab_size;
  const double dqo = d.num_attention_heads * d.head_dim, dkv = d.num_key_value_heads * d.head_dim;
  const double draft_layer = 2 * h * dqo + 2 * h * dkv * 2 + dqo * h + 3 * h * d.intermediate_size;
  const double fc = 2 * l * 3 * H * h;
  const double steps = T * (2 * l * draft_layer + 2 * l * l * dqo + 2 * l * Vd * h);
  return target + 2 * l * V * H + 2 * l * Vd * H + 2 * fc + 3 * steps;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    const at::Device device(o.device);
    const at::ScalarType dtype = device.is_cuda() ? at::kBFloat16 : at::kFloat;
    const io::TargetConfig target_config = io::load_target_config(o.target_config);
    const io::DraftConfig draft_config = io::load_draft_config(o.draft_config);
    fmt::print("device {} dtype {} ttt {} steps {} target {} draft {}\n", device.str(), c10::toString(dtype),
               o.ttt_length, o.steps, o.target_config, o.draft_config);

    const model::TargetModel target = random_target(target_config, device, dtype, o.target_config);
    at::Generator generator = at::detail::createCPUGenerator(0);
    model::Eagle3Draft draft = model::Eagle3Draft::create(draft_config, target.embed_tokens(), generator,
                                                          at::TensorOptions().device(device).dtype(dtype));
    // Any draft vocabulary costs the same: the first Vd target ids.
    const model::DraftVocab vocab{at::zeros({draft_config.draft_vocab_size}, at::kLong).to(device),
                                  (at::arange(draft_config.vocab_size) < draft_config.draft_vocab_size).to(device)};
    const talon::train::OnlineFeatures features(
        target, io::aux_layer_ids(draft_config, static_cast<int>(target_config.num_hidden_layers)),
        talon::train::DistributionReads{vocab, model::draft_head_rows(target.lm_head(), vocab), {}});
    const talon::parallel::ProcessGroups alone;
    talon::train::DraftOptimizer optimizer(draft.parameters(), draft.shards(), alone);

    auto step = [&](const talon::data::Batch& sample) {
      model::TttOutput out = model::ttt_forward(draft, model::ttt_batch(features.make(sample)), o.ttt_length);
      out.loss.backward();
      optimizer.reduce_and_clip(0.5);
      optimizer.step(1e-4);
      optimizer.zero_grads();
      (void)draft.fc.sum().item<float>();  // waits for the device
    };
    for (std::int64_t length : o.lengths) {
      talon::data::Batch sample;
      sample.input_ids = at::randint(0, target_config.vocab_size, {1, length}, generator, at::kLong);
      sample.loss_mask = at::ones({1, length}, at::kFloat);
      sample.lengths = at::full({1}, length, at::kLong);
      sample.num_tokens = length;
      talon::bench::reset_peak_device_memory(device);
      step(sample);  // warm-up: kernels, allocator
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < o.steps; ++i) step(sample);
      const double seconds = seconds_since(start) / o.steps;
      const double tflops = step_flops(target_config, draft_config, length, o.ttt_length) / seconds / 1e12;
      fmt::print("length {} step_s {:.3f} tokens_per_s {:.0f} model_tflops {:.1f}", length, seconds, length / seconds,
                 tflops);
      if (o.peak_tflops > 0) fmt::print(" mfu {:.3f}", tflops / o.peak_tflops);
      fmt::print(" peak_device_gib {:.2f}\n", talon::bench::peak_device_memory_gib(device));
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "online_step: {}\n", e.what());
    return 1;
  }
  return 0;
}
