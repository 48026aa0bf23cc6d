// talon cache: runs the target over a dataset and writes the hidden-state
// cache that `talon train --train-hidden-states-path` trains from
// (docs/training.md "Offline training"); `talon cache --verify DIR` checks
// every checksum of an existing cache. Started by `talon launch` or
// torchrun, the ranks share the shards (train/cache_builder.h).
#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <optional>

#include "chat_template_flags.h"
#include "commands.h"
#include "flag_range.h"
#include "rank_runner.h"
#include "talon/data/hidden_state_cache.h"
#include "talon/train/cache_builder.h"
#include "talon/util/error.h"
#include "talon/util/progress.h"
#include "weight_check_flag.h"

namespace talon::cli {
namespace {

// "1073741824", "512M", "1G", "1.5G" (binary units) -> bytes.
std::uint64_t parse_size(const std::string& text) {
  const std::string units = "KMGT";
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string suffix = text.substr(used);
  const std::size_t unit =
      suffix.size() == 1 ? units.find(static_cast<char>(std::toupper(suffix[0]))) : std::string::npos;
  const double bytes = value * (unit == std::string::npos ? 1.0 : std::pow(1024.0, static_cast<double>(unit + 1)));
  if (used == 0 || (!suffix.empty() && unit == std::string::npos) || !(bytes >= 1 && bytes < 1e18)) {
    fail("--shard-size {}: expected a positive size such as 1G, 512M or 4096", text);
  }
  return static_cast<std::uint64_t>(bytes);
}

void verify(const std::string& dir, bool show_progress) {
  const auto start = std::chrono::steady_clock::now();
  const data::HiddenStateCache cache = data::HiddenStateCache::open(dir);
  const data::CacheIndex& index = cache.index();
  std::optional<util::Progress> progress;
  if (show_progress) progress.emplace("verify", static_cast<std::uint64_t>(index.num_tokens), "tokens");
  std::uint64_t bytes = 0;
  cache.verify([&](const data::ShardRecord& shard) {
    bytes += shard.bytes;
    if (progress) progress->advance(static_cast<std::uint64_t>(shard.num_tokens));
  });
  if (progress) progress->finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{}: {} shards, {} samples, {} tokens: every checksum matches and every sample holds the prepared "
             "dataset's tokens\n",
             dir, index.shards.size(), index.num_samples, index.num_tokens);
  fmt::print("read {} in {:.2f} s ({:.0f} tokens/s, {}/s)\n", util::format_bytes(bytes), seconds,
             static_cast<double>(index.num_tokens) / seconds,
             util::format_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / seconds)));
}

}  // namespace

void add_cache_command(CLI::App& app) {
  auto o = std::make_shared<train::CacheOptions>();
  auto system_prompt = std::make_shared<std::optional<std::string>>();
  auto dtype = std::make_shared<std::string>("bf16");
  auto shard_size = std::make_shared<std::string>("1G");
  auto verify_dir = std::make_shared<std::string>();
  auto tp_size = std::make_shared<int>(1);
  auto quiet = std::make_shared<bool>(false);
  auto connect = std::make_shared<parallel::ConnectOptions>();
  auto strategy = std::make_shared<std::string>("eagle3");

  CLI::App* cmd = app.add_subcommand(
      "cache", "Run the target over a dataset and cache its hidden states for offline training; or check a cache");
  cmd->add_option("--target-model-path", o->target_model_path, "Target model directory (Hugging Face layout)")
      ->check(CLI::ExistingDirectory);
  add_weight_check_flag(*cmd, o->target_weight_check);
  cmd->add_option("--strategy", *strategy, "The draft method training will use: eagle3, dflash or dspark")
      ->check(CLI::IsMember({"eagle3", "dflash", "dspark"}))
      ->capture_default_str();
  cmd->add_option("--draft-model-config", o->draft_model_config,
                  "The draft config training will use: the target layers it reads and its draft vocabulary size")
      ->check(CLI::ExistingFile);
  cmd->add_option("--data-path", o->data.inputs,
                  "Conversation JSONL files or a directory written by `talon prepare`; kept in OUTPUT_DIR/prepared")
      ->check(CLI::ExistingPath);
  add_chat_template_flags(*cmd, o->data.chat_template, true);
  cmd->add_option("--system-prompt", *system_prompt, "System prompt for conversations without one ('' for none)");
  cmd->add_option("--max-length", o->data.max_length, "Tokens kept per sample")
      ->check(flag_range("[2, inf)"))
      ->capture_default_str();
  cmd->add_option("--output-dir", o->output_dir, "The cache directory (a rerun continues an unfinished one; locked while the run lasts)");
  cmd->add_option("--dtype", *dtype, "Stored hidden states: bf16 or fp32")
      ->check(CLI::IsMember({"bf16", "fp32"}))
      ->capture_default_str();
  cmd->add_option("--shard-size", *shard_size, "Tensor bytes per shard file, at most (K, M, G suffixes)")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Samples per target forward pass")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu or cuda (each rank takes the GPU of its LOCAL_RANK)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--tp-size", *tp_size,
                  "Target tensor-parallel size; the world / this target copies take disjoint shards")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  add_collective_flags(*cmd, *connect);
  cmd->add_option("--verify", *verify_dir, "Check every checksum of the cache in DIR, and nothing else")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--quiet", *quiet, "No progress bar");

  cmd->callback([=] {
    if (!verify_dir->empty()) return verify(*verify_dir, !*quiet);
    for (const auto& [flag, value] : {std::pair{"--target-model-path", o->target_model_path.empty()},
                                      std::pair{"--draft-model-config", o->draft_model_config.empty()},
                                      std::pair{"--data-path", o->data.inputs.empty()},
                                      std::pair{"--output-dir", o->output_dir.empty()}}) {
      if (value) throw CLI::RequiredError(flag);
    }
    train::CacheOptions options = *o;
    options.strategy = model::parse_strategy(*strategy);
    options.data.system_prompt = *system_prompt;
    options.dtype = *dtype == "fp32" ? at::kFloat : at::kBFloat16;
    options.shard_size = parse_size(*shard_size);
    options.show_progress = !*quiet;
    parallel::ConnectOptions groups_options = *connect;
    groups_options.target_tp = *tp_size;
    groups_options.device = options.device == "cuda" ? at::kCUDA : at::kCPU;
    run_as_rank(groups_options, [&](parallel::ProcessGroups& groups) {
      const train::CacheReport r = train::build_cache(options, groups);
      if (groups.rank() != 0) return;
      fmt::print("cache: {} samples, {} tokens in {} shards, {} ({:.1f} bytes/token) in {}\n", r.samples,
                 r.tokens, r.shards, util::format_bytes(r.bytes),
                 r.tokens > 0 ? static_cast<double>(r.bytes) / static_cast<double>(r.tokens) : 0.0,
                 options.output_dir);
      fmt::print("this run: {} tokens in {:.2f} s ({:.0f} tokens/s)\n", r.written_tokens, r.seconds,
                 r.seconds > 0 ? static_cast<double>(r.written_tokens) / r.seconds : 0.0);
    });
  });
}

}  // namespace talon::cli
