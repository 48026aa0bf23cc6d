// talon eval: speculative decoding of held-out prompts with a target and an
// EAGLE-3 draft checkpoint (Talon's, SpecForge's, any SGLang loads); reports
// the acceptance length, the acceptance rate per draft position and tokens/s
// with and without speculation (docs/evaluation.md).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <optional>

#include "chat_template_flags.h"
#include "commands.h"
#include "flag_range.h"
#include "talon/data/vocab_mapping.h"
#include "talon/eval/acceptance.h"
#include "talon/eval/prompts.h"
#include "talon/io/hf_config.h"
#include "talon/model/draft_checkpoint.h"
#include "talon/train/device.h"
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
};

void print_table(const eval::AcceptanceReport& r, const EvalOptions& o) {
  const nlohmann::json j = r.to_json();
  fmt::print("prompts {}  generated tokens {}  target verifications {}\n", r.prompts, r.tokens, r.verifications);
  fmt::print("draft steps {}  topk {}  draft tokens {}  batch size {}\n", o.tree.num_steps, o.tree.topk,
             o.tree.num_draft_tokens, o.batch_size);
  fmt::print("acceptance length       {:.3f}\n", r.acceptance_length());
  const std::vector<double> rates = r.acceptance_rates();
  for (std::size_t i = 0; i < rates.size(); ++i) fmt::print("accepted at depth {}     {:.3f}\n", i + 1, rates[i]);
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
  cmd->add_option("--draft-model-path", o->draft_model_path,
                  "EAGLE-3 draft directory: Talon's, SpecForge's, AngelSlim's or the EAGLE authors' "
                  "(model.safetensors, its shards, or pytorch_model.bin); without draft_vocab_size its lm_head is "
                  "the target's, as SGLang serves it")
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

  cmd->callback([o] {
    if (!o->num_draft_tokens && o->tree.topk > 1) {
      fail("--speculative-num-draft-tokens is needed with --speculative-eagle-topk {}", o->tree.topk);
    }
    o->tree.num_draft_tokens = o->num_draft_tokens.value_or(o->tree.num_steps + 1);
    o->tree.check();
    // Configs and prompts are checked before any weights load.
    const io::TargetConfig target_config = io::load_target_config(o->target_model_path);
    const std::string draft_config = o->draft_model_path + "/config.json";
    io::check_draft_fits_target(io::load_draft_config(draft_config), target_config,
                                fmt::format("draft {} against target {}", draft_config, o->target_model_path));
    const text::Tokenizer tokenizer = text::Tokenizer::load(o->target_model_path);
    text::check_tokenizer_fits(tokenizer, target_config.vocab_size, o->target_model_path + "/config.json");
    const text::ChatTemplate chat_template = text::resolve_template(o->chat_template, o->target_model_path);
    const auto prompts = eval::load_prompts(o->data_path, tokenizer, chat_template, o->system_prompt, o->num_prompts,
                                            {o->max_new_tokens, target_config.max_position_embeddings});

    const at::Device device = train::parse_device(o->device, 0);
    const at::ScalarType dtype = train::compute_dtype(device);
    const model::TargetModel target =
        model::TargetModel::load(o->target_model_path, device, dtype, {}, o->target_weight_check);
    // A draft without draft_vocab_size gets the target's lm_head, as SGLang
    // serves it (vLLM would use the draft's own lm_head.weight if it has one).
    const model::DraftCheckpoint checkpoint = model::load_draft_checkpoint(
        o->draft_model_path, model::TargetLmHead{o->target_model_path, dtype, o->target_weight_check});
    model::Eagle3Draft draft =
        model::Eagle3Draft::create(checkpoint.config, target.embed_tokens(), at::detail::createCPUGenerator(0),
                                   at::TensorOptions().device(device).dtype(dtype));
    draft.load_parameters(checkpoint.parameters, checkpoint.weights);
    const at::Tensor d2t = at::tensor(data::VocabMapping::of_draft(checkpoint.d2t, checkpoint.t2d,
                                                                   checkpoint.config.draft_vocab_size,
                                                                   checkpoint.config.vocab_size, checkpoint.weights)
                                          .d2t);
    const std::vector<int> aux =
        io::aux_layer_ids(checkpoint.config, static_cast<int>(target.config().num_hidden_layers));

    const eval::GenerationLimits limits{o->max_new_tokens, {eval::end_of_turn_id(tokenizer, chat_template)}};
    const eval::AcceptanceReport report =
        eval::measure_acceptance(target, draft, d2t, aux, prompts, o->tree, limits, o->batch_size);
    print_table(report, *o);
    if (!o->output.empty()) {
      nlohmann::json j = report.to_json();
      j["speculative_num_steps"] = o->tree.num_steps;
      j["speculative_eagle_topk"] = o->tree.topk;
      j["speculative_num_draft_tokens"] = o->tree.num_draft_tokens;
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
