// talon eval: speculative decoding of held-out prompts with a target and a
// draft checkpoint (--strategy: EAGLE-3, Talon's, SpecForge's, any SGLang
// loads; DFlash; DSpark); reports the acceptance length in the three
// aggregations in use, the acceptance rate per draft position, a histogram,
// and tokens/s with and without speculation (docs/evaluation.md).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <optional>

#include "chat_template_flags.h"
#include "commands.h"
#include "flag_range.h"
#include "talon/eval/acceptance.h"
#include "talon/eval/prompts.h"
#include "talon/io/hf_config.h"
#include "talon/train/device.h"
#include "talon/train/draft_methods.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "weight_check_flag.h"

namespace talon::cli {
namespace {

struct EvalOptions {
  std::string target_model_path, draft_model_path, data_path, output;
  text::ChatTemplateSettings chat_template;
  std::optional<std::string> system_prompt;
  std::int64_t max_new_tokens = 256, num_prompts = 0, batch_size = 1;
  eval::TreeShape tree;
  std::optional<std::int64_t> num_draft_tokens;
  std::string device = "cpu";
  model::WeightCheck target_weight_check = model::WeightCheck::Sampled;
  std::string strategy = "eagle3";
  std::string summary;  // what drafts how
};

void print_table(const eval::AcceptanceReport& r, const EvalOptions& o) {
  const nlohmann::json j = r.to_json();
  fmt::print("prompts {}  generated tokens {}  target verifications {}\n", r.prompts, r.tokens, r.verifications);
  fmt::print("{}  batch size {}\n", o.summary, o.batch_size);
  fmt::print("acceptance length       {:.3f}  (over verifications; per prompt {:.3f}; per request, SGLang's "
             "spec_accept_length, {:.3f})\n",
             r.acceptance_length(), r.acceptance_length_per_prompt(), r.acceptance_length_per_request());
  const std::vector<double> rates = r.acceptance_rates(), conditional = r.conditional_acceptance_rates();
  for (std::size_t i = 0; i < rates.size(); ++i) {
    fmt::print("accepted at depth {:<3}  {:.3f}  (given depth {} accepted: {:.3f})\n", i + 1, rates[i], i,
               conditional[i]);
  }
  std::string histogram;
  for (std::size_t i = 1; i < r.histogram.size(); ++i) histogram += fmt::format(" {}:{}", i, r.histogram[i]);
  fmt::print("acceptance lengths     {}\n", histogram);
  fmt::print("tokens/s speculative    {:.1f}\n", j["speculative_tokens_per_s"].get<double>());
  fmt::print("tokens/s target alone   {:.1f}\n", j["greedy_tokens_per_s"].get<double>());
  fmt::print("lossless                {}\n", r.mismatches == 0 ? "yes: every output equals the target's greedy one"
                                                               : fmt::format("NO: {} prompts differ", r.mismatches));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Speculative decoding with a draft: acceptance length and speed");
  cmd->add_option("--target-model-path", o->target_model_path, "Target model directory (Hugging Face layout)")
      ->required()
      ->check(CLI::ExistingDirectory);
  add_weight_check_flag(*cmd, o->target_weight_check);
  cmd->add_option("--strategy", o->strategy,
                  "The draft's method: eagle3 (a tree per --speculative-* flags), dflash (block_size - 1 drafts "
                  "per round) or dspark (block_size drafts per round through its Markov head)")
      ->check(CLI::IsMember({"eagle3", "dflash", "dspark"}))
      ->capture_default_str();
  cmd->add_option("--draft-model-path", o->draft_model_path,
                  "Draft directory. EAGLE-3: Talon's, SpecForge's, AngelSlim's or the EAGLE authors' "
                  "(model.safetensors, its shards, or pytorch_model.bin); without draft_vocab_size its lm_head is "
                  "the target's, as SGLang serves it. DFlash, DSpark: config.json and model.safetensors")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data-path", o->data_path, "Conversation JSONL; each line's last user turn is a prompt")
      ->required()
      ->check(CLI::ExistingFile);
  add_chat_template_flags(*cmd, o->chat_template, false);
  cmd->add_option("--system-prompt", o->system_prompt, "System prompt for conversations without one ('' for none)");
  cmd->add_option("--num-prompts", o->num_prompts, "Use the first N prompts (0: all)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "Tokens generated per prompt, at most")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--speculative-num-steps", o->tree.num_steps, "Draft steps per verification: the tree's depth")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--speculative-eagle-topk", o->tree.topk, "Branches kept per draft step (1: chain drafting)")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--speculative-num-draft-tokens", o->num_draft_tokens,
                  "Tokens the target verifies per step, the last verified one included (default with topk 1: "
                  "num-steps + 1)")
      ->check(flag_range("[2, inf)"));
  cmd->add_option("--batch-size", o->batch_size, "Prompts decoded together")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_option("--output", o->output, "Also write the figures as JSON to this file");

  cmd->callback([o, cmd] {
    const model::Strategy strategy = model::parse_strategy(o->strategy);
    if (!train::drafts_a_tree(strategy)) {
      // A block drafter's round is its block: the tree flags do not apply.
      for (const char* flag : {"--speculative-num-steps", "--speculative-eagle-topk", "--speculative-num-draft-tokens"}) {
        if (cmd->count(flag) > 0) {
          fail("{}: --strategy {} drafts one block per round, as many drafts as its config's block_size says",
               flag, o->strategy);
        }
      }
    }
    if (!o->num_draft_tokens && o->tree.topk > 1) {
      fail("--speculative-num-draft-tokens is needed with --speculative-eagle-topk {}", o->tree.topk);
    }
    o->tree.num_draft_tokens = o->num_draft_tokens.value_or(o->tree.num_steps + 1);
    o->tree.check();
    // Configs and prompts are checked before any weights load.
    const io::TargetConfig target_config = io::load_target_config(o->target_model_path);
    const text::Tokenizer tokenizer = text::Tokenizer::load(o->target_model_path);
    text::check_tokenizer_fits(tokenizer, target_config.vocab_size, o->target_model_path + "/config.json");
    const text::ChatTemplate chat_template = text::resolve_template(o->chat_template, o->target_model_path);
    const auto prompts = eval::load_prompts(o->data_path, tokenizer, chat_template, o->system_prompt, o->num_prompts,
                                            {o->max_new_tokens, target_config.max_position_embeddings});

    const at::Device device = train::parse_device(o->device, 0);
    const at::ScalarType dtype = train::compute_dtype(device);
    const model::TargetModel target =
        model::TargetModel::load(o->target_model_path, device, dtype, {}, o->target_weight_check);
    const train::EvalDraft draft = train::load_eval_draft(strategy, o->draft_model_path, target,
                                                          o->target_model_path, o->tree, o->target_weight_check);
    o->summary = draft.summary;

    const eval::GenerationLimits limits{o->max_new_tokens, {eval::end_of_turn_id(tokenizer, chat_template)}};
    const eval::AcceptanceReport report =
        eval::measure_acceptance(target, draft.proposer, draft.target_layers, draft.depth, prompts, limits,
                                 o->batch_size);
    print_table(report, *o);
    if (!o->output.empty()) {
      nlohmann::json j = report.to_json();
      j["strategy"] = o->strategy;
      j["drafting"] = draft.summary;
      if (train::drafts_a_tree(strategy)) {
        j["speculative_num_steps"] = o->tree.num_steps;
        j["speculative_eagle_topk"] = o->tree.topk;
        j["speculative_num_draft_tokens"] = o->tree.num_draft_tokens;
      }
      j["batch_size"] = o->batch_size;
      j["max_new_tokens"] = o->max_new_tokens;
      j["draft_model_path"] = o->draft_model_path;
      util::write_file_atomic(o->output, j.dump(2) + "\n");
    }
    // In fp32 both ways compute the same logits up to rounding far below any
    // argmax margin; in bf16 the different shapes of a verification and a
    // single step can flip a near tie, so there a difference is reported.
    if (report.mismatches != 0 && dtype == at::kFloat) {
      fail("{} prompts decoded differently with speculation: a bug", report.mismatches);
    }
  });
}

}  // namespace talon::cli
