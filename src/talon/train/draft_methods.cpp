#include "talon/train/draft_methods.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "talon/data/vocab_mapping.h"
#include "talon/eval/block_proposer.h"
#include "talon/eval/eagle3_proposer.h"
#include "talon/io/safetensors_model.h"
#include "talon/model/block/block_check.h"
#include "talon/model/block/block_draft.h"
#include "talon/model/dflash/dflash_config.h"
#include "talon/model/dflash/dflash_drafts.h"
#include "talon/model/dflash/dflash_method.h"
#include "talon/model/eagle3/draft_checkpoint.h"
#include "talon/model/dspark/dspark_drafts.h"
#include "talon/model/dspark/dspark_method.h"
#include "talon/model/eagle3/eagle3_method.h"
#include "talon/text/tokenizer.h"
#include "talon/train/device.h"
#include "talon/train/trainer_run.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::train {
namespace {

// ---------------------------------------------------------------- EAGLE-3

io::DraftConfig plan_eagle3(const TrainOptions& options, const io::TargetConfig& target,
                            const parallel::ProcessGroups& groups) {
  io::DraftConfig draft = io::load_draft_config(options.draft_model_config);
  // The draft's split over --draft-tp-size, checked before the target loads.
  model::Eagle3Draft::shards(draft, groups.draft_tp());
  model::Eagle3Draft::shard(draft, "embed_tokens.weight", groups.draft_tp());
  io::check_draft_fits_target(
      draft, target,
      fmt::format("draft config {} against target {}", options.draft_model_config, options.target_model_path));
  // The checkpoint states at least the target's context: SGLang refuses a
  // draft with a shorter one (as it derives them, with the target's RoPE
  // scaling factor), and vLLM (to 0.24) reads past the draft's RoPE table.
  // Talon's draft computes RoPE per position, so nothing else changes.
  draft.max_position_embeddings =
      std::max({draft.max_position_embeddings, target.max_position_embeddings,
                io::sglang_context_length(target.max_position_embeddings, target.rope_scaling)});
  // --init-draft's config must compute what --draft-model-config does: the
  // run trains and writes the latter, so a difference would silently change
  // the draft its weights were trained as. Checked before any weights load.
  if (!options.init_draft.empty()) {
    model::check_draft_checkpoint_intact(options.init_draft);
    const std::string init_config = options.init_draft + "/config.json";
    io::check_same_draft_computation(io::load_draft_config(init_config), "--init-draft", draft,
                                     "--draft-model-config", static_cast<int>(target.num_hidden_layers),
                                     fmt::format("--init-draft {} against --draft-model-config {}", init_config,
                                                 options.draft_model_config));
  }
  if (options.draft_vocab_size && *options.draft_vocab_size != draft.draft_vocab_size) {
    fail("--draft-vocab-size {} but {} has draft_vocab_size {}", *options.draft_vocab_size,
         options.draft_model_config, draft.draft_vocab_size);
  }
  if (options.ttt_length < 1) fail("--ttt-length must be at least 1, found {}", options.ttt_length);
  return draft;
}

// The draft vocabulary: --init-draft's own (its lm_head rows mean those
// tokens; the identity for a full-vocabulary draft without d2t/t2d), else
// the training set's mapping.
model::DraftVocab load_vocab(const io::DraftConfig& config, const data::PreparedDataset& train,
                             const std::optional<model::DraftCheckpoint>& init) {
  std::string source = train.vocab_mapping_path();
  at::Tensor d2t, t2d;
  if (init) {
    std::tie(source, d2t, t2d) = std::tie(init->weights, init->d2t, init->t2d);
  } else {
    model::DraftVocab mapping = load_draft_vocab(source);
    std::tie(d2t, t2d) = std::tie(mapping.d2t, mapping.t2d);
  }
  const data::VocabMapping m =
      data::VocabMapping::of_draft(d2t, t2d, config.draft_vocab_size, config.vocab_size, source);
  return {at::tensor(m.d2t), at::tensor(m.t2d).to(at::kBool)};
}

// The target's vocabulary rows this draft-TP member holds of the embedding.
at::Tensor vocab_rows(const io::DraftConfig& config, const parallel::Group& draft_tp) {
  const parallel::TpShard shard = model::Eagle3Draft::shard(config, "embed_tokens.weight", draft_tp);
  return shard.slice(at::arange(config.vocab_size, at::kLong));
}

// The draft's rows of the target's embedding: the loaded target's own when
// both split the vocabulary alike, else read from its files.
at::Tensor draft_embedding(const MethodInputs& in, const io::DraftConfig& config) {
  const parallel::Group& draft_tp = in.groups.draft_tp();
  if (in.target && in.target->tp().size() == draft_tp.size()) return in.target->embed_tokens();
  return model::read_target_rows(in.options.target_model_path, model::TargetMatrix::Embedding,
                                 vocab_rows(config, draft_tp), in.device, compute_dtype(in.device),
                                 in.options.target_weight_check);
}

std::unique_ptr<model::DraftMethod> build_eagle3(const io::DraftConfig& config, const MethodInputs& in) {
  const TrainOptions& o = in.options;
  std::optional<model::DraftCheckpoint> init;
  if (!o.init_draft.empty()) {
    init = model::load_draft_checkpoint(
        o.init_draft, model::TargetLmHead{o.target_model_path, compute_dtype(in.device), o.target_weight_check});
  }
  model::DraftVocab vocab = load_vocab(config, in.train_data, init);
  at::Generator generator = at::detail::createCPUGenerator(o.seed);
  model::Eagle3Draft draft =
      model::Eagle3Draft::create(config, draft_embedding(in, config), generator,
                                 at::TensorOptions().device(in.device).dtype(compute_dtype(in.device)),
                                 in.groups.draft_tp());
  if (init) draft.load_parameters(init->parameters, init->weights);
  // The lm_head rows of this rank's block of the draft vocabulary.
  at::Tensor ids = model::Eagle3Draft::shard(config, "lm_head.weight", draft.tp).slice(vocab.target_ids());
  at::Tensor head = model::read_target_rows(o.target_model_path, model::TargetMatrix::LmHead, ids, in.device,
                                            compute_dtype(in.device), o.target_weight_check);
  return std::make_unique<model::Eagle3Method>(std::move(draft), std::move(vocab), std::move(head), o.ttt_length,
                                               o.step);
}

// ---------------------------------------------------------------- DFlash, DSpark

// A special token's id from tokenizer_config.json ("pad_token": "<pad>" or
// {"content": "<pad>"}), if the tokenizer has it.
std::optional<std::int64_t> special_token(const std::string& dir, const text::Tokenizer& tokenizer, const char* key) {
  std::ifstream probe(dir + "/tokenizer_config.json");
  if (!probe) return std::nullopt;
  const nlohmann::json config = util::load_json_file(dir + "/tokenizer_config.json");
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  const nlohmann::json& value = it->is_object() ? it->value("content", nlohmann::json()) : *it;
  if (!value.is_string()) return std::nullopt;
  if (std::optional<std::int32_t> id = tokenizer.token_to_id(value.get<std::string>())) return *id;
  return std::nullopt;
}

// The block's mask token in SpecForge's order (design §2.1): --mask-token-id,
// the draft config's, the tokenizer's "<|MASK|>" (SGLang's default mask
// token), the first embedding row the tokenizer leaves unused, then its
// pad, eos and unk tokens.
std::int64_t resolve_mask_token(const TrainOptions& options, const model::BlockDraftConfig& config) {
  if (options.mask_token_id) return *options.mask_token_id;
  if (config.mask_token_id >= 0) return config.mask_token_id;
  const text::Tokenizer tokenizer = text::Tokenizer::load(options.target_model_path);
  if (std::optional<std::int32_t> id = tokenizer.token_to_id("<|MASK|>")) return *id;
  if (tokenizer.vocab_size() < config.vocab_size) return tokenizer.vocab_size();
  for (const char* key : {"pad_token", "eos_token", "unk_token"}) {
    if (std::optional<std::int64_t> id = special_token(options.target_model_path, tokenizer, key)) return *id;
  }
  fail("{}: no mask token: the config has no mask_token_id, and the tokenizer of {} has no <|MASK|>, no unused "
       "embedding row and no pad, eos or unk token; pass --mask-token-id",
       options.draft_model_config, options.target_model_path);
}

// A DFlash or DSpark config (DFlash's leaves the Markov fields unused).
model::DSparkConfig load_block_config(model::Strategy strategy, const std::string& path) {
  if (strategy == model::Strategy::DSpark) return model::load_dspark_config(path);
  return {model::load_dflash_config(path), {}};
}

// The draft runs on the target's embedding, lm_head and layers: their sizes
// must be the target's. `where` names both in the error.
void check_block_fits_target(const model::BlockDraftConfig& b, const io::TargetConfig& target,
                             const std::string& where) {
  if (b.hidden_size != target.hidden_size) {
    fail("{}: hidden_size {} differs from the target's {} (the draft reads the target's embedding and lm_head)",
         where, b.hidden_size, target.hidden_size);
  }
  if (b.vocab_size != target.vocab_size) {
    fail("{}: vocab_size {} differs from the target's {}", where, b.vocab_size, target.vocab_size);
  }
  if (b.num_target_layers != target.num_hidden_layers) {
    fail("{}: num_target_layers {} differs from the target's num_hidden_layers {}", where, b.num_target_layers,
         target.num_hidden_layers);
  }
}

model::DSparkConfig plan_block(const TrainOptions& options, const io::TargetConfig& target,
                               const parallel::ProcessGroups& groups) {
  const std::string& path = options.draft_model_config;
  model::DSparkConfig c = load_block_config(options.strategy, path);
  model::BlockDraftConfig& b = c.backbone;
  check_block_fits_target(b, target,
                          fmt::format("draft config {} against target {}", path, options.target_model_path));
  if (options.num_anchors) b.num_anchors = *options.num_anchors;
  b.mask_token_id = resolve_mask_token(options, b);
  b.max_position_embeddings = std::max(b.max_position_embeddings, target.max_position_embeddings);
  model::check_block_draft_config(b, path);
  // The backbone's split over --draft-tp-size, checked before the target loads.
  model::BlockDraft::shards(b, groups.draft_tp());
  if (!options.init_draft.empty()) {
    fail("--init-draft: not for --strategy {} yet", model::strategy_name(options.strategy));
  }
  if (options.eval_acceptance_interval > 0) {
    fail("--eval-acceptance-interval: not for --strategy {} yet; run `talon eval` on the checkpoints",
         model::strategy_name(options.strategy));
  }
  return c;
}

// The target's whole embedding or lm_head: the loaded target's without
// target TP, else read from its files.
at::Tensor whole_target_matrix(const MethodInputs& in, model::TargetMatrix which, std::int64_t vocab) {
  if (in.target && in.target->tp().size() == 1) {
    return which == model::TargetMatrix::Embedding ? in.target->embed_tokens() : in.target->lm_head();
  }
  return model::read_target_rows(in.options.target_model_path, which, at::arange(vocab, at::kLong), in.device,
                                 compute_dtype(in.device), in.options.target_weight_check);
}

std::unique_ptr<model::DraftMethod> build_block(const model::DSparkConfig& config, model::Strategy strategy,
                                                const MethodInputs& in) {
  const TrainOptions& o = in.options;
  const at::TensorOptions to = at::TensorOptions().device(in.device).dtype(compute_dtype(in.device));
  const std::int64_t vocab = config.backbone.vocab_size;
  at::Generator generator = at::detail::createCPUGenerator(o.seed);
  const model::LossScope normalization =
      o.loss_normalization == "micro-step" ? model::LossScope::Round : model::LossScope::Step;
  model::BlockDraft backbone = model::BlockDraft::create(
      config.backbone, whole_target_matrix(in, model::TargetMatrix::Embedding, vocab),
      whole_target_matrix(in, model::TargetMatrix::LmHead, vocab), generator, to, in.groups.draft_tp());
  if (strategy == model::Strategy::DFlash) {
    model::DFlashTraining training;
    training.decay_gamma = o.loss_decay_gamma.value_or(7.0);
    training.objective = {model::parse_dflash_loss_type(o.loss_type), o.dpace_alpha, o.objective_chunk_blocks};
    training.blockwise_attention = o.step.blockwise_attention;
    training.normalization = normalization;
    return std::make_unique<model::DFlashMethod>(std::move(backbone), training);
  }
  model::MarkovHead head =
      model::MarkovHead::create(config.markov, vocab, config.backbone.hidden_size, generator, to);
  model::DSparkTraining training;
  training.decay_gamma = o.loss_decay_gamma.value_or(4.0);
  training.objective = {o.dspark_ce_loss_alpha, o.dspark_l1_loss_alpha, o.dspark_confidence_head_alpha,
                        o.objective_chunk_blocks};
  training.blockwise_attention = o.step.blockwise_attention;
  training.normalization = normalization;
  return std::make_unique<model::DSparkMethod>(std::move(backbone), std::move(head), training);
}

}  // namespace

DraftReads draft_reads(model::Strategy strategy, const std::string& config_path, const io::TargetConfig& target) {
  const int layers = static_cast<int>(target.num_hidden_layers);
  switch (strategy) {
    case model::Strategy::Eagle3: {
      const io::DraftConfig config = io::load_draft_config(config_path);
      return {io::aux_layer_ids(config, layers), config.draft_vocab_size};
    }
    case model::Strategy::DFlash:
    case model::Strategy::DSpark:
      return {load_block_config(strategy, config_path).backbone.target_layer_ids, target.vocab_size};
  }
  fail("unknown strategy");
}

DraftPlan plan_draft(const TrainOptions& options, const io::TargetConfig& target,
                     const parallel::ProcessGroups& groups) {
  DraftPlan plan;
  plan.strategy = options.strategy;
  plan.vocab_size = target.vocab_size;
  if (options.strategy == model::Strategy::Eagle3) {
    plan.eagle3 = plan_eagle3(options, target, groups);
    plan.target_layers = io::aux_layer_ids(*plan.eagle3, static_cast<int>(target.num_hidden_layers));
    plan.draft_vocab_size = plan.eagle3->draft_vocab_size;
    plan.config = io::to_json(*plan.eagle3);
    return plan;
  }
  if (options.draft_vocab_size && *options.draft_vocab_size != target.vocab_size) {
    fail("--draft-vocab-size {}: --strategy {} drafts over the target's whole vocabulary ({}): SGLang serves it "
         "with the target's lm_head",
         *options.draft_vocab_size, model::strategy_name(options.strategy), target.vocab_size);
  }
  plan.block = plan_block(options, target, groups);
  plan.target_layers = plan.block->backbone.target_layer_ids;
  plan.draft_vocab_size = target.vocab_size;
  plan.config = options.strategy == model::Strategy::DSpark ? model::dspark_config_json(*plan.block)
                                                            : model::dflash_config_json(plan.block->backbone);
  plan.settings = {{"strategy", model::strategy_name(options.strategy)},
                   {"loss_decay_gamma", options.loss_decay_gamma ? nlohmann::json(*options.loss_decay_gamma) : nullptr},
                   {"loss_type", options.loss_type},
                   {"dpace_alpha", options.dpace_alpha},
                   {"dspark_loss_alphas",
                    {options.dspark_ce_loss_alpha, options.dspark_l1_loss_alpha, options.dspark_confidence_head_alpha}},
                   {"loss_normalization", options.loss_normalization}};
  return plan;
}

std::unique_ptr<model::DraftMethod> build_draft_method(const DraftPlan& plan, const MethodInputs& inputs) {
  if (plan.eagle3) return build_eagle3(*plan.eagle3, inputs);
  return build_block(*plan.block, plan.strategy, inputs);
}

std::optional<DistributionReads> distribution_reads(const model::DraftMethod& method, const MethodInputs& inputs,
                                                    bool vocab_rows) {
  const auto* eagle3 = dynamic_cast<const model::Eagle3Method*>(&method);
  if (eagle3 == nullptr) return std::nullopt;
  DistributionReads reads{eagle3->vocab(), eagle3->draft_head(), {}};
  if (vocab_rows) {
    reads.vocab_rows = model::read_target_rows(
        inputs.options.target_model_path, model::TargetMatrix::LmHead,
        train::vocab_rows(eagle3->draft().config, inputs.groups.draft_tp()), inputs.device,
        compute_dtype(inputs.device), inputs.options.target_weight_check);
  }
  return reads;
}

model::DraftCheck check_draft(model::Strategy strategy, const std::string& dir, const io::TargetConfig& target,
                              const std::string& target_name) {
  if (strategy == model::Strategy::Eagle3) return model::check_draft_for_engines(dir, target, target_name);
  return model::check_block_draft_for_engines(dir, strategy, target, target_name);
}

void check_resumable(const model::DraftMethod& method, const std::string& checkpoint, const std::string& vocab_source) {
  const auto* eagle3 = dynamic_cast<const model::Eagle3Method*>(&method);
  if (eagle3 == nullptr) return;  // the block drafters' config is in the settings
  // The lm_head rows mean the checkpoint's draft vocabulary; this run's must be the same.
  model::DraftVocab saved = load_draft_vocab(checkpoint + "/model.safetensors");
  if (!at::equal(saved.d2t, eagle3->vocab().d2t.cpu()) || !at::equal(saved.t2d, eagle3->vocab().t2d.cpu())) {
    fail("cannot resume from {}: its draft vocabulary (d2t/t2d) differs from this run's (from {})", checkpoint,
         vocab_source);
  }
}

namespace {

eval::ProposerFactory eagle3_proposer(std::shared_ptr<const model::Eagle3Draft> draft, at::Tensor d2t,
                                      const eval::TreeShape& shape) {
  return [draft, d2t, shape](std::int64_t rows) {
    return std::unique_ptr<eval::Proposer>(new eval::Eagle3Proposer(*draft, d2t, shape, rows));
  };
}

EvalDraft load_eval_eagle3(const std::string& dir, const model::TargetModel& target, const std::string& target_dir,
                           const eval::TreeShape& shape, model::WeightCheck check) {
  const std::string config_file = dir + "/config.json";
  io::check_draft_fits_target(io::load_draft_config(config_file), target.config(),
                              fmt::format("draft {} against target {}", config_file, target_dir));
  // A draft without draft_vocab_size gets the target's lm_head, as SGLang
  // serves it (vLLM would use the draft's own lm_head.weight if it has one).
  const model::DraftCheckpoint checkpoint =
      model::load_draft_checkpoint(dir, model::TargetLmHead{target_dir, target.dtype(), check});
  auto draft = std::make_shared<model::Eagle3Draft>(
      model::Eagle3Draft::create(checkpoint.config, target.embed_tokens(), at::detail::createCPUGenerator(0),
                                 at::TensorOptions().device(target.device()).dtype(target.dtype())));
  draft->load_parameters(checkpoint.parameters, checkpoint.weights);
  const at::Tensor d2t = at::tensor(data::VocabMapping::of_draft(checkpoint.d2t, checkpoint.t2d,
                                                                 checkpoint.config.draft_vocab_size,
                                                                 checkpoint.config.vocab_size, checkpoint.weights)
                                        .d2t);
  const int layers = static_cast<int>(target.config().num_hidden_layers);
  return {io::aux_layer_ids(checkpoint.config, layers), shape.num_steps, eagle3_proposer(draft, d2t, shape),
          fmt::format("eagle3: {} steps, top-{}, {} draft tokens", shape.num_steps, shape.topk,
                      shape.num_draft_tokens)};
}

// The block drafters' weights from dir/model.safetensors (or its shards),
// DeepSpec's frozen embed_tokens and lm_head copies skipped as SGLang skips
// them: the target's serve.
model::NamedTensors read_block_weights(const std::string& dir) {
  const io::SafetensorsModel model = io::SafetensorsModel::open(dir);
  model::NamedTensors tensors;
  for (const std::string& name : model.names()) tensors.emplace_back(name, model.tensor(name));
  return tensors;
}

EvalDraft load_eval_block(model::Strategy strategy, const std::string& dir, const model::TargetModel& target,
                          const std::string& target_dir) {
  const std::string config_file = dir + "/config.json";
  const model::DSparkConfig config = load_block_config(strategy, config_file);
  const model::BlockDraftConfig& b = config.backbone;
  check_block_fits_target(b, target.config(), fmt::format("draft {} against target {}", config_file, target_dir));
  if (b.mask_token_id < 0) fail("{}: no mask_token_id", config_file);
  if (target.tp().size() != 1) fail("talon eval: the block drafters decode with an unsplit target");
  const at::TensorOptions to = at::TensorOptions().device(target.device()).dtype(target.dtype());
  const model::NamedTensors weights = read_block_weights(dir);
  auto backbone = std::make_shared<model::BlockDraft>(model::BlockDraft::create(
      b, target.embed_tokens(), target.lm_head(), at::detail::createCPUGenerator(0), to));
  backbone->load_parameters(weights, dir + "/model.safetensors");
  const at::Tensor lm_head = target.lm_head();
  eval::BlockDrafter drafter;
  std::string summary;
  if (strategy == model::Strategy::DSpark) {
    auto head = std::make_shared<model::MarkovHead>(
        model::MarkovHead::create(config.markov, b.vocab_size, b.hidden_size, at::detail::createCPUGenerator(0), to));
    head->load_parameters(weights, b.vocab_size, b.hidden_size, dir + "/model.safetensors");
    drafter = [lm_head, head](const at::Tensor& hidden, std::int64_t anchor) {
      return model::dspark_drafts(lm_head, *head, hidden, anchor);
    };
    summary = fmt::format("dspark: {} drafts per round (gamma), {} Markov head, rank {}", b.block_size,
                          model::markov_head_type_name(config.markov.type), config.markov.rank);
  } else {
    drafter = [lm_head](const at::Tensor& hidden, std::int64_t) { return model::dflash_drafts(lm_head, hidden); };
    summary = fmt::format("dflash: {} drafts per round (block size {})", b.block_size - 1, b.block_size);
  }
  eval::ProposerFactory proposer = [backbone, drafter](std::int64_t rows) {
    return std::unique_ptr<eval::Proposer>(new eval::BlockProposer(*backbone, drafter, rows));
  };
  const std::int64_t depth = strategy == model::Strategy::DSpark ? b.block_size : b.block_size - 1;
  return {b.target_layer_ids, depth, proposer, summary};
}

}  // namespace

bool drafts_a_tree(model::Strategy strategy) { return strategy == model::Strategy::Eagle3; }

EvalDraft load_eval_draft(model::Strategy strategy, const std::string& dir, const model::TargetModel& target,
                          const std::string& target_dir, const eval::TreeShape& shape, model::WeightCheck check) {
  model::check_draft_checkpoint_intact(dir);
  if (strategy == model::Strategy::Eagle3) return load_eval_eagle3(dir, target, target_dir, shape, check);
  return load_eval_block(strategy, dir, target, target_dir);
}

eval::AcceptanceReport measure_draft_acceptance(const model::DraftMethod& method, const model::TargetModel& target,
                                                const std::vector<eval::Tokens>& prompts,
                                                const eval::GenerationLimits& limits, std::int64_t steps,
                                                at::Device device) {
  const auto* eagle3 = dynamic_cast<const model::Eagle3Method*>(&method);
  if (eagle3 == nullptr) {
    fail("acceptance during training: not for --strategy {} yet", model::strategy_name(method.strategy()));
  }
  const model::Eagle3Draft& draft = eagle3->draft();
  model::NamedTensors saved;
  for (const auto& [name, value] : draft.parameters()) saved.emplace_back(name, value.detach().to(at::kBFloat16));
  auto as_saved = std::make_shared<model::Eagle3Draft>(
      model::Eagle3Draft::create(draft.config, draft.embed_tokens, at::detail::createCPUGenerator(0),
                                 at::TensorOptions().device(device).dtype(compute_dtype(device))));
  as_saved->load_parameters(saved, "the draft as saved");
  const eval::TreeShape chain{steps, 1, steps + 1};
  const int layers = static_cast<int>(target.config().num_hidden_layers);
  return eval::measure_acceptance(target, eagle3_proposer(as_saved, eagle3->vocab().d2t.cpu(), chain),
                                  io::aux_layer_ids(draft.config, layers), steps, prompts, limits, 1);
}

}  // namespace talon::train
