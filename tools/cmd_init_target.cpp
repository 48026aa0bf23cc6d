// talon init-target: a Hugging Face target model directory with random
// weights, from a config.json and a tokenizer. Makes the tiny targets of
// examples/ and of the tests; the result loads in Talon and in transformers.
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "flag_range.h"
#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/model/target_weights.h"
#include "talon/text/tokenizer.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/json_file.h"

namespace talon::cli {
namespace {

namespace fs = std::filesystem;

struct InitTargetOptions {
  std::string config_path;
  std::string tokenizer_dir;
  std::string output_dir;
  std::uint64_t seed = 0;
  std::string dtype = "bf16";
};

void init_target(const InitTargetOptions& o) {
  util::AtomicDir out(o.output_dir, "target model");  // first: refuses an output dir holding anything else
  nlohmann::json config_json = util::load_json_file(o.config_path);
  io::TargetConfig config = io::parse_target_config(config_json, o.config_path);
  // transformers' PretrainedConfig default; the weights are drawn from N(0, this).
  double initializer_range = util::JsonFields(config_json, util::JsonLocation(o.config_path))
                                 .positive_number("initializer_range")
                                 .value_or(0.02);

  // Every id the tokenizer can produce must index the embedding.
  text::Tokenizer tokenizer = text::Tokenizer::load(o.tokenizer_dir);
  text::check_tokenizer_fits(tokenizer, config.vocab_size, o.config_path);

  const bool bf16 = o.dtype == "bf16";
  const char* dtype_name = bf16 ? "bfloat16" : "float32";
  config_json["torch_dtype"] = dtype_name;
  if (config_json.contains("dtype")) config_json["dtype"] = dtype_name;  // transformers 5's name for it

  util::write_file_atomic(out.file("config.json"), config_json.dump(2) + "\n");
  auto weights = model::random_target_weights(config, initializer_range, o.seed, bf16 ? at::kBFloat16 : at::kFloat);
  io::write_safetensors(out.file("model.safetensors"), weights, {{"format", "pt"}});
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::path source = fs::path(o.tokenizer_dir) / name;
    std::error_code ec;
    if (!fs::exists(source, ec)) continue;  // tokenizer_config.json is optional
    fs::copy_file(source, out.file(name), ec);
    if (ec) fail("{}: cannot copy to {}: {}", source.string(), out.file(name), ec.message());
  }
  out.commit();

  std::int64_t parameters = 0;
  for (const auto& [name, tensor] : weights) parameters += tensor.numel();
  fmt::print("initialized a random {} target -> {}\n", io::architecture_name(config.architecture), o.output_dir);
  fmt::print("  {} layers, hidden {}, vocab {}, {} parameters in {} (seed {}, initializer_range {})\n",
             config.num_hidden_layers, config.hidden_size, config.vocab_size, parameters, dtype_name, o.seed,
             initializer_range);
}

}  // namespace

void add_init_target_command(CLI::App& app) {
  auto options = std::make_shared<InitTargetOptions>();
  CLI::App* cmd = app.add_subcommand("init-target", "Create a target model directory with random weights");
  cmd->add_option("--config", options->config_path, "Target config.json (Llama, Qwen2 or Qwen3)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", options->tokenizer_dir, "Directory holding tokenizer.json (and tokenizer_config.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--output-dir", options->output_dir,
                  "Directory to write: absent, empty, or an earlier init-target output, replaced atomically")
      ->required();
  cmd->add_option("--seed", options->seed, "Random seed; the same seed gives byte-identical files")
      ->check(flag_range("[0, 18446744073709551615]"))
      ->capture_default_str();
  cmd->add_option("--dtype", options->dtype, "Weight dtype on disk (also written as torch_dtype)")
      ->check(CLI::IsMember({"bf16", "fp32"}))
      ->capture_default_str();
  cmd->callback([options] { init_target(*options); });
}

}  // namespace talon::cli
