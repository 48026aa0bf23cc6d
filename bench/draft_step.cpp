// One EAGLE-3 training step of the draft alone (TTT forward + backward over
// random features), for a draft shape on a device: the figure that decides
// how fast online training can go once the target's features exist.
// Shapes: "tiny" (examples/tiny-draft-config.json) and "llama3-8b"
// (SpecForge's configs/llama3-8B-eagle3.json: H 4096, I 14336, 32/8 heads,
// V 128256, Vd 32000). CPU runs in fp32, CUDA in bf16.
// Prints the first (cold) step's time, then the mean of `steps` more (none
// with 0: the way to measure long lengths once), and the peak memory.
// Usage: build/bench/draft_step [tiny|llama3-8b] [cpu|cuda] [length] [ttt_length] [steps]
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <string>

#include "device_memory.h"
#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/eagle3/ttt.h"

namespace {

talon::io::DraftConfig shape(const std::string& name) {
  talon::io::DraftConfig c;
  if (name == "tiny") {
    c.hidden_size = 64, c.intermediate_size = 256, c.num_attention_heads = 4, c.num_key_value_heads = 2;
    c.head_dim = 16, c.draft_vocab_size = 2048;
  } else if (name == "llama3-8b") {
    c.hidden_size = 4096, c.intermediate_size = 14336, c.num_attention_heads = 32, c.num_key_value_heads = 8;
    c.head_dim = 128, c.draft_vocab_size = 32000;
  } else {
    throw std::runtime_error("shape: tiny or llama3-8b");
  }
  c.vocab_size = 128256;
  c.target_hidden_size = c.hidden_size;
  c.rms_norm_eps = 1e-5;
  return c;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "tiny";
  const at::Device device(argc > 2 ? std::string(argv[2]) : std::string("cpu"));
  const std::int64_t length = argc > 3 ? std::stoll(argv[3]) : 512;
  const int ttt = argc > 4 ? std::stoi(argv[4]) : 7;
  const int steps = argc > 5 ? std::stoi(argv[5]) : 5;
  const at::ScalarType dtype = device.is_cuda() ? at::kBFloat16 : at::kFloat;
  const auto options = at::TensorOptions().device(device).dtype(dtype);

  talon::io::DraftConfig config = shape(name);
  at::Generator gen = at::detail::createCPUGenerator(0);
  at::Tensor embed = (at::randn({config.vocab_size, config.hidden_size}, gen) * 0.02).to(options);
  auto draft = talon::model::Eagle3Draft::create(config, embed, gen, options);

  // Random features for one sample of `length` tokens, all supervised.
  talon::model::TttBatch batch;
  batch.input_ids = at::randint(0, config.vocab_size, {1, length}, gen).to(device);
  batch.loss_mask = at::ones({1, length}, at::kFloat).to(device);
  batch.lengths = at::full({1}, length, at::kLong).to(device);
  batch.aux = at::randn({1, length, 3 * config.hidden_size}, gen).to(options);
  batch.target.hidden = at::randn({1, length, config.hidden_size}, gen).to(options);
  batch.target.draft_head = (at::randn({config.draft_vocab_size, config.hidden_size}, gen) * 0.1).to(options);
  batch.target.in_draft = at::ones({1, length}, at::kFloat).to(device);

  auto run = [&] {
    talon::model::TttOutput out = talon::model::ttt_forward(draft, batch, ttt);
    out.loss.backward();
    // Reading a value waits for every kernel queued before it on the stream.
    (void)draft.fc.grad().sum().item<float>();
    for (auto& [n, p] : draft.parameters()) p.mutable_grad() = at::Tensor();
  };
  auto seconds_since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  fmt::print("shape {} device {} dtype {} length {} ttt {}\n", name, device.str(), c10::toString(dtype), length, ttt);
  talon::bench::reset_peak_device_memory(device);
  auto start = std::chrono::steady_clock::now();
  run();  // the first step also warms the allocator and the kernels up
  fmt::print("first_step_ms {:.1f}\n", seconds_since(start) * 1e3);
  if (steps > 0) {
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) run();
    const double seconds = seconds_since(start) / steps;
    fmt::print("ms_per_step {:.1f}\n", seconds * 1e3);
    fmt::print("tokens_per_s {:.0f}\n", length / seconds);
  }
  fmt::print("peak_rss_mib {:.0f}\n", peak_rss_mib());
  fmt::print("peak_device_gib {:.2f}\n", talon::bench::peak_device_memory_gib(device));
  return 0;
}
