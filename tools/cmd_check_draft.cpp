// talon check-draft: whether SGLang and vLLM would serve a draft directory
// as Talon computes it, against the target's config (docs/checkpoints.md).
// Prints every problem and fails, or one line saying what passed.
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "talon/io/hf_config.h"
#include "talon/model/eagle3/draft_check.h"
#include "talon/train/draft_methods.h"
#include "talon/util/error.h"

namespace talon::cli {
namespace {

struct CheckDraftOptions {
  std::string draft_dir;
  std::string target_model_path;
  std::string strategy = "eagle3";
};

void check_draft(const CheckDraftOptions& o) {
  const io::TargetConfig target = io::load_target_config(o.target_model_path);
  const model::DraftCheck check =
      train::check_draft(model::parse_strategy(o.strategy), o.draft_dir, target, o.target_model_path);
  if (!check.problems.empty()) {
    for (const std::string& problem : check.problems) fmt::print(stderr, "problem: {}\n", problem);
    fail("{}: {} problem{}: SGLang or vLLM would not serve this draft as trained", o.draft_dir,
         check.problems.size(), check.problems.size() == 1 ? "" : "s");
  }
  fmt::print("OK {}\n", check.checked);
}

}  // namespace

void add_check_draft_command(CLI::App& app) {
  auto options = std::make_shared<CheckDraftOptions>();
  CLI::App* cmd =
      app.add_subcommand("check-draft", "Check that SGLang and vLLM would serve a draft directory as trained");
  cmd->footer(
      "Checks tensor names, shapes and dtypes, the config fields the engines read with their defaults, aux layer "
      "ids in both conventions, context length and d2t/t2d (EAGLE-3), the block fields and the target layers "
      "(DFlash, DSpark), against the target's config.json; prints each problem and exits 1 (docs/checkpoints.md). "
      "Training runs the same check on every checkpoint it writes.");
  cmd->add_option("draft_dir", options->draft_dir, "Draft directory (config.json and model.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--strategy", options->strategy,
                  "The draft's method: eagle3 (LlamaForCausalLMEagle3), dflash (DFlashDraftModel) or dspark "
                  "(Qwen3DSparkModel)")
      ->check(CLI::IsMember({"eagle3", "dflash", "dspark"}))
      ->capture_default_str();
  cmd->add_option("--target-model-path", options->target_model_path,
                  "Target model directory (or its config.json): only the config is read")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->callback([options] { check_draft(*options); });
}

}  // namespace talon::cli
