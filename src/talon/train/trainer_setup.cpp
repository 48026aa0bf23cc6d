// Building the trainer's components and checking, before any compute, that
// the target, the draft config, the data and the vocab mapping fit together.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>

#include "talon/data/prepare.h"
#include "talon/data/vocab_mapping.h"
#include "talon/io/safetensors.h"
#include "talon/model/draft_checkpoint.h"
#include "talon/text/chat_template.h"
#include "talon/text/tokenizer.h"
#include "talon/train/datasets.h"
#include "talon/train/trainer_run.h"
#include "talon/util/error.h"

namespace talon::train {
namespace {

// cuda: the GPU of this rank's LOCAL_RANK (parallel::local_device).
at::Device parse_device(const std::string& name, int local_rank) {
  if (name == "cpu") return at::kCPU;
  if (name == "cuda") {
    if (!at::hasCUDA()) fail("--device cuda: this libtorch has no CUDA device available");
    return parallel::local_device(at::kCUDA, local_rank);
  }
  fail("--device {}: expected cpu or cuda", name);
}

// fp32 on CPU; bf16 parameters and compute on GPU (fp32 masters in the optimizer).
at::ScalarType compute_dtype(at::Device device) { return device.is_cuda() ? at::kBFloat16 : at::kFloat; }

io::DraftConfig load_checked_draft_config(const TrainOptions& options, const parallel::ProcessGroups& groups) {
  const parallel::Layout& layout = groups.layout();
  io::DraftConfig draft = io::load_draft_config(options.draft_model_config);
  // The draft's split over --draft-tp-size, checked before the target loads.
  model::Eagle3Draft::shards(draft, groups.draft_tp());
  model::Eagle3Draft::shard(draft, "embed_tokens.weight", groups.draft_tp());
  const io::TargetConfig target = io::load_target_config(options.target_model_path);
  const std::string where = fmt::format("draft config {} against target {}", options.draft_model_config,
                                        options.target_model_path);
  if (draft.hidden_size != target.hidden_size) {
    fail("{}: hidden_size {} but the target's is {} (the draft shares the target's embedding)", where,
         draft.hidden_size, target.hidden_size);
  }
  if (draft.target_hidden_size != target.hidden_size) {
    fail("{}: target_hidden_size {} but the target's hidden_size is {}", where, draft.target_hidden_size,
         target.hidden_size);
  }
  if (draft.vocab_size != target.vocab_size) {
    fail("{}: vocab_size {} but the target's is {}", where, draft.vocab_size, target.vocab_size);
  }
  if (options.draft_vocab_size && *options.draft_vocab_size != draft.draft_vocab_size) {
    fail("--draft-vocab-size {} but {} has draft_vocab_size {}", *options.draft_vocab_size,
         options.draft_model_config, draft.draft_vocab_size);
  }
  if (options.ttt_length < 1) fail("--ttt-length must be at least 1, found {}", options.ttt_length);
  // Every optimizer step takes global / micro micro-batches, dealt out evenly to the draft-DP ranks.
  const std::int64_t draft_dp = layout.draft_dp();
  if (options.global_batch_size <= 0 || options.micro_batch_size <= 0 ||
      options.global_batch_size % (options.micro_batch_size * draft_dp) != 0) {
    fail("--draft-global-batch-size {} must be a positive multiple of --draft-micro-batch-size {}{}",
         options.global_batch_size, options.micro_batch_size,
         draft_dp == 1 ? std::string()
                       : fmt::format(" times the draft data-parallel size {} (world {} / --draft-tp-size {})",
                                     draft_dp, layout.world, layout.draft_tp));
  }
  if (options.num_epochs < 1) fail("--num-epochs must be at least 1, found {}", options.num_epochs);
  return draft;
}

data::DatasetProvenance expected_provenance(const TrainOptions& options, const io::TargetConfig& target) {
  text::Tokenizer tokenizer = text::Tokenizer::load(options.target_model_path);
  text::ChatTemplate chat_template = text::resolve_template(options.chat_template);
  return data::make_provenance(tokenizer, chat_template, options.system_prompt, options.max_length,
                               target.vocab_size);
}

data::PrepareOptions prepare_settings(const TrainOptions& options, const io::DraftConfig& draft) {
  data::PrepareOptions p;
  p.tokenizer_dir = options.target_model_path;
  p.vocab_size = draft.vocab_size;
  p.chat_template = options.chat_template;
  p.system_prompt = options.system_prompt;
  p.max_length = options.max_length;
  p.draft_vocab_size = draft.draft_vocab_size;
  p.show_progress = options.show_progress;
  return p;
}

// The draft vocabulary: --init-draft's own when it has one (its lm_head rows
// mean those tokens), else the training set's mapping.
model::DraftVocab load_vocab(const TrainOptions& options, const io::DraftConfig& config,
                             const data::PreparedDataset& train) {
  std::string source = train.vocab_mapping_path();
  if (!options.init_draft.empty()) {
    const std::string weights = options.init_draft + "/model.safetensors";
    if (io::SafetensorsFile::open(weights).find("d2t") != nullptr) source = weights;
  }
  model::DraftVocab vocab = load_draft_vocab(source);
  if (vocab.d2t.size(0) != config.draft_vocab_size) {
    fail("{}: d2t has {} entries but the draft config's draft_vocab_size is {}", source, vocab.d2t.size(0),
         config.draft_vocab_size);
  }
  if (vocab.t2d.size(0) != config.vocab_size) {
    fail("{}: t2d has {} entries but the draft config's vocab_size is {}", source, vocab.t2d.size(0),
         config.vocab_size);
  }
  return vocab;
}

// The draft's rows of the target's embedding: the target's own when both
// split the vocabulary alike, else read from its files.
at::Tensor draft_embedding(const TrainOptions& options, const io::DraftConfig& config, const model::TargetModel& target,
                           const parallel::Group& draft_tp) {
  if (target.tp().size() == draft_tp.size()) return target.embed_tokens();  // both groups: the same consecutive ranks
  at::Tensor rows = model::Eagle3Draft::shard(config, "embed_tokens.weight", draft_tp)
                        .slice(at::arange(config.vocab_size, at::kLong));
  return model::read_target_rows(options.target_model_path, model::TargetMatrix::Embedding, rows, target.device(),
                                 target.dtype());
}

model::Eagle3Draft make_draft(const TrainOptions& options, const io::DraftConfig& config,
                              const model::TargetModel& target, const parallel::Group& draft_tp) {
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  model::Eagle3Draft draft =
      model::Eagle3Draft::create(config, draft_embedding(options, config, target, draft_tp), generator,
                                 at::TensorOptions().device(target.device()).dtype(target.dtype()), draft_tp);
  if (!options.init_draft.empty()) {
    model::DraftCheckpoint init = model::load_draft_checkpoint(options.init_draft);
    draft.load_parameters(init.parameters, options.init_draft + "/model.safetensors");
  }
  return draft;
}

// The lm_head rows of this rank's block of the draft vocabulary.
at::Tensor draft_head(const TrainOptions& options, const model::Eagle3Draft& draft, const model::DraftVocab& vocab,
                      const model::TargetModel& target) {
  at::Tensor ids = model::Eagle3Draft::shard(draft.config, "lm_head.weight", draft.tp).slice(vocab.target_ids());
  return model::read_target_rows(options.target_model_path, model::TargetMatrix::LmHead, ids, target.device(),
                                 target.dtype());
}

// Rank 0 opens (and, from JSONL, prepares) a dataset first; the others open
// what it wrote.
data::PreparedDataset open_shared_dataset(parallel::ProcessGroups& groups, const std::vector<std::string>& paths,
                                          const std::string& cache_dir, data::PrepareOptions settings,
                                          const data::DatasetProvenance& expected) {
  if (groups.rank() != 0) settings.show_progress = false;
  std::optional<data::PreparedDataset> dataset;
  groups.rank0_first([&] { dataset = open_dataset(paths, cache_dir, settings, expected); });
  return std::move(*dataset);
}

std::int64_t total_steps(const TrainOptions& options, const DataCursor& cursor, std::int64_t per_step) {
  return options.num_epochs * ((cursor.batches_per_epoch() + per_step - 1) / per_step);
}

}  // namespace

model::DraftVocab load_draft_vocab(const std::string& path) {
  data::VocabMapping mapping = data::VocabMapping::load(path);
  return {at::tensor(mapping.d2t), at::tensor(mapping.t2d).to(at::kBool)};
}

Trainer::Run::Run(TrainOptions o, parallel::ProcessGroups& g)
    : options(std::move(o)),
      groups(g),
      device(parse_device(options.device, g.local_rank())),
      draft_config(load_checked_draft_config(options, g)),
      target(model::TargetModel::load(options.target_model_path, device, compute_dtype(device), g.target_tp())),
      aux_layers(io::aux_layer_ids(draft_config, static_cast<int>(target.config().num_hidden_layers))),
      provenance(expected_provenance(options, target.config())),
      train_data(open_shared_dataset(g, options.train_data_path, options.output_dir + "/prepared/train",
                                     prepare_settings(options, draft_config), provenance)),
      vocab(load_vocab(options, draft_config, train_data)),
      draft(make_draft(options, draft_config, target, g.draft_tp())),
      features(target, aux_layers, vocab, draft_head(options, draft, vocab, target)),
      micro_batches_per_step(options.global_batch_size / options.micro_batch_size),
      cursor(train_data.size(), options.micro_batch_size, options.seed),
      schedule(options.learning_rate, total_steps(options, cursor, micro_batches_per_step), options.warmup_ratio),
      optimizer(draft.parameters(), draft.shards(), g),
      checkpointer(options.output_dir, options.keep_last, g.rank() == 0) {
  if (!options.resume && checkpointer.newest()) {
    fail("{} already holds checkpoints of an earlier run: pass --resume to continue it, or choose another "
         "--output-dir",
         options.output_dir);
  }
  if (!options.eval_data_path.empty()) {
    eval_data = open_shared_dataset(groups, options.eval_data_path, options.output_dir + "/prepared/eval",
                                    prepare_settings(options, draft_config), provenance);
  }
  state.settings = {
      {"learning_rate", options.learning_rate},   {"warmup_ratio", options.warmup_ratio},
      {"max_grad_norm", options.max_grad_norm},   {"ttt_length", options.ttt_length},
      {"seed", options.seed},                     {"global_batch_size", options.global_batch_size},
      {"micro_batch_size", options.micro_batch_size}, {"num_epochs", options.num_epochs},
      {"total_steps", schedule.total_steps},      {"train_data", train_data.header().at("files")},
      {"draft_config", io::to_json(draft_config)}, {"device", options.device},
  };
}

}  // namespace talon::train
