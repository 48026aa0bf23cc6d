// Causal attention on the CPU: Talon's ATen block loop
// (flash_attention_forward_blocks / _backward_blocks, memory O(L)) against
// PyTorch's fused CPU flash kernel (also O(L)), one sample without padding,
// fp32: the forward as the target's prefill runs it
// (scaled_dot_product_attention), and the forward and backward as TTT's
// step-0 attention runs them (flash_attention_forward / _backward, which
// dispatch to the kernel without padding). Prints one line per (shape, L):
// ms per call for each and their ratios, and the largest differences.
// Usage: build/bench/attention [--lengths 1024,4096,16384] [--repeats 3]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "talon/model/flash_attention.h"

namespace {

struct Shape {
  const char* name;
  std::int64_t heads, kv_heads, head_dim;
};

// The tiny example target's attention and Llama-3.1-8B's.
constexpr Shape kShapes[] = {{"tiny", 4, 2, 16}, {"llama3-8b", 32, 8, 128}};

template <typename F>
double ms_per_call(F&& f, int repeats) {
  f();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / repeats;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::int64_t> lengths = {1024, 4096, 16384};
  int repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--repeats") {
      repeats = std::stoi(argv[i + 1]);
    } else if (flag == "--lengths") {
      lengths.clear();
      std::istringstream in(argv[i + 1]);
      for (std::string item; std::getline(in, item, ',');) lengths.push_back(std::stoll(item));
    } else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      return 1;
    }
  }
  fmt::print("torch_threads {} dtype fp32 batch 1 repeats {}\n", at::get_num_threads(), repeats);
  at::manual_seed(0);
  for (const Shape& s : kShapes) {
    for (std::int64_t length : lengths) {
      const at::Tensor q = at::randn({1, s.heads, length, s.head_dim});
      const at::Tensor k = at::randn({1, s.kv_heads, length, s.head_dim});
      const at::Tensor v = at::randn({1, s.kv_heads, length, s.head_dim});
      const at::Tensor lengths_t = at::full({1}, length, at::kLong);
      const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
      at::Tensor blocks, fused;
      const double blocks_ms =
          ms_per_call([&] { blocks = talon::model::flash_attention_forward_blocks(q, k, v, lengths_t, scale).out; },
                      repeats);
      const double fused_ms = ms_per_call(
          [&] {
            fused = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true,
                                                     scale, /*enable_gqa=*/true);
          },
          repeats);
      // The backward of the same attention, given its own lse and output.
      const talon::model::FlashForward forward =
          talon::model::flash_attention_forward_blocks(q, k, v, lengths_t, scale);
      const at::Tensor grad = at::randn_like(q);
      const at::Tensor delta = (grad * forward.out).sum(-1);
      talon::model::FlashGrads slow, fast;
      const double blocks_backward_ms = ms_per_call(
          [&] {
            slow = talon::model::flash_attention_backward_blocks(q, k, v, lengths_t, grad, forward.lse, delta, scale);
          },
          repeats);
      const double fused_backward_ms = ms_per_call(
          [&] {
            fast = talon::model::flash_attention_backward(q, k, v, lengths_t, grad, forward.out, forward.lse, scale);
          },
          repeats);
      fmt::print(
          "shape {} length {} blocks_ms {:.1f} sdpa_ms {:.1f} blocks_over_sdpa {:.2f} max_abs_diff {:.2e} "
          "blocks_backward_ms {:.1f} fused_backward_ms {:.1f} backward_blocks_over_fused {:.2f} max_abs_grad_diff {:.2e}\n",
          s.name, length, blocks_ms, fused_ms, blocks_ms / fused_ms, (blocks - fused).abs().max().item<double>(),
          blocks_backward_ms, fused_backward_ms, blocks_backward_ms / fused_backward_ms,
          at::stack({(slow.dq - fast.dq).abs().max(), (slow.dk - fast.dk).abs().max(), (slow.dv - fast.dv).abs().max()})
              .max()
              .item<double>());
      std::fflush(stdout);
    }
  }
  return 0;
}
