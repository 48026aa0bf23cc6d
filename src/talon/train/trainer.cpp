#include "talon/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "talon/data/batcher.h"
#include "talon/eval/acceptance.h"
#include "talon/model/draft_checkpoint.h"
#include "talon/model/ttt.h"
#include "talon/train/device.h"
#include "talon/train/trainer_run.h"
#include "talon/util/error.h"
#include "talon/util/progress.h"

namespace talon::train {
namespace {

// Sums over the micro-batches of one optimizer step (or one eval pass).
struct Totals {
  at::Tensor ploss, correct, supervised;  // [T] each
  std::int64_t micro_batches = 0, tokens = 0;

  void add(const model::TttOutput& out, std::int64_t batch_tokens) {
    ploss = ploss.defined() ? ploss + out.ploss : out.ploss;
    correct = correct.defined() ? correct + out.correct : out.correct;
    supervised = supervised.defined() ? supervised + out.supervised : out.supervised;
    ++micro_batches;
    tokens += batch_tokens;
  }
  // Sums over the draft-DP ranks (a rank may have had no micro-batch), so
  // every rank holds the totals of the whole step.
  void all_reduce(const parallel::Group& dp, int ttt_length, at::Device device) {
    const at::TensorOptions fp64 = at::TensorOptions().dtype(at::kDouble).device(device);
    auto or_zeros = [&](const at::Tensor& t) { return t.defined() ? t.to(fp64) : at::zeros({ttt_length}, fp64); };
    at::Tensor packed = at::cat({or_zeros(ploss), or_zeros(correct), or_zeros(supervised),
                                 at::tensor({static_cast<double>(micro_batches), static_cast<double>(tokens)}, fp64)});
    dp.all_reduce(packed);
    ploss = packed.narrow(0, 0, ttt_length);
    correct = packed.narrow(0, ttt_length, ttt_length);
    supervised = packed.narrow(0, 2 * ttt_length, ttt_length);
    micro_batches = static_cast<std::int64_t>(packed[3 * ttt_length].item<double>());
    tokens = static_cast<std::int64_t>(packed[3 * ttt_length + 1].item<double>());
  }
  // loss = sum_s 0.8^s ploss_s; ploss is the mean over micro-batches;
  // acc sums numerators and denominators first (brief §2 step 9).
  nlohmann::json record() const {
    std::vector<double> p, acc;
    at::Tensor mean = (ploss / static_cast<double>(micro_batches)).to(at::kDouble).cpu();
    at::Tensor ratio = (correct / supervised.clamp_min(1e-6)).to(at::kDouble).cpu();
    double loss = 0;
    for (std::int64_t s = 0; s < mean.size(0); ++s) {
      p.push_back(mean[s].item<double>());
      acc.push_back(ratio[s].item<double>());
      loss += std::pow(0.8, static_cast<double>(s)) * p.back();
    }
    return {{"loss", loss}, {"ploss", p}, {"acc", acc}};
  }
};

// Deals micro-batches out to the draft-DP positions, one round at a time:
// round[d] is position d's, absent once `next` has none left.
template <typename Next>
std::vector<std::optional<data::Batch>> deal_round(int positions, Next&& next) {
  std::vector<std::optional<data::Batch>> round(positions);
  for (int d = 0; d < positions; ++d) {
    round[d] = next();
    if (!round[d]) break;
  }
  return round;
}

}  // namespace

Trainer::Trainer(TrainOptions options, parallel::ProcessGroups& groups)
    : run_(std::make_unique<Run>(std::move(options), groups)) {
  std::int64_t resumed_step = -1;
  if (run_->options.resume && run_->resume()) resumed_step = run_->state.step;
  run_->open_trackers(resumed_step);
}

Trainer::~Trainer() = default;

std::string Trainer::run() {
  Run& r = *run_;
  const TrainOptions& o = r.options;
  const std::int64_t last_step = o.max_steps ? std::min(*o.max_steps, r.schedule.total_steps) : r.schedule.total_steps;
  std::optional<util::Progress> progress;
  if (o.show_progress && r.is_writer()) progress.emplace("train", std::max<std::int64_t>(0, last_step - r.state.step), "steps");
  while (r.state.step < last_step) {
    std::optional<nlohmann::json> record = r.train_step();
    if (!record) continue;  // skipped: non-finite
    r.log(*record);
    if (progress) {
      std::string suffix =
          fmt::format("loss {:.3f} acc0 {:.3f} lr {:.2e} {:.0f} tok/s", (*record)["loss"].get<double>(),
                      (*record)["acc"][0].get<double>(), (*record)["lr"].get<double>(),
                      (*record)["tokens_per_s"].get<double>());
      if (r.last_acceptance_length) suffix += fmt::format(" accept len {:.2f}", *r.last_acceptance_length);
      progress->set_suffix(std::move(suffix));
      progress->advance();
    }
    const bool last = r.state.step == last_step;
    if (r.eval_data && ((o.eval_interval > 0 && r.state.step % o.eval_interval == 0) || last)) r.evaluate();
    if (r.measures_acceptance() && (r.state.step % o.eval_acceptance_interval == 0 || last)) r.evaluate_acceptance();
    if ((o.save_interval > 0 && r.state.step % o.save_interval == 0) || last) r.save();
  }
  if (progress) progress->finish();
  if (r.last_checkpoint_step != r.state.step) r.save();  // skipped steps ended the run
  return r.last_checkpoint;
}

std::optional<nlohmann::json> Trainer::Run::train_step() {
  const auto start = std::chrono::steady_clock::now();
  const parallel::Layout& layout = groups.layout();
  Totals totals;
  state.step_epoch = cursor.epoch();
  std::int64_t dealt = 0;
  auto next = [&]() -> std::optional<data::Batch> {
    if (dealt == micro_batches_per_step || cursor.epoch_done()) return std::nullopt;
    ++dealt;
    return data::make_batch(train_data, cursor.next());
  };
  while (dealt < micro_batches_per_step && !cursor.epoch_done()) {
    std::optional<model::TttBatch> mine = features->make_round(deal_round(layout.draft_dp(), next), layout);
    if (!mine) continue;
    model::TttOutput out = model::ttt_forward(draft, *mine, options.ttt_length, options.step);
    // Every micro-batch of the step counts 1 / (global / micro), on whichever
    // rank it ran: the draft-DP reduction sums them.
    (out.loss / static_cast<double>(micro_batches_per_step)).backward();
    totals.add(out, mine->lengths.sum().item<std::int64_t>());
  }
  if (cursor.epoch_done()) cursor.start_next_epoch();
  totals.all_reduce(groups.draft_dp(), options.ttt_length, device);

  const double grad_norm = optimizer.reduce_and_clip(options.max_grad_norm);
  nlohmann::json record = totals.record();
  if (!std::isfinite(grad_norm) || !std::isfinite(record["loss"].get<double>())) {
    optimizer.zero_grads();
    ++state.skipped_steps;
    if (++bad_steps_in_a_row >= options.max_bad_steps) {
      fail("stopping: {} steps in a row had a non-finite loss or gradient (last: loss {}, grad norm {}); "
           "lower --learning-rate or check the data",
           bad_steps_in_a_row, record["loss"].get<double>(), grad_norm);
    }
    if (is_writer()) fmt::print(stderr, "warning: step {} skipped: non-finite loss or gradient\n", state.step + 1);
    return std::nullopt;
  }
  bad_steps_in_a_row = 0;
  const double lr = schedule.at(state.step);
  optimizer.step(lr);
  optimizer.zero_grads();
  ++state.step;

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  record.update({{"step", state.step}, {"epoch", state.step_epoch}, {"lr", lr}, {"grad_norm", grad_norm},
                 {"tokens", totals.tokens}, {"tokens_per_s", static_cast<double>(totals.tokens) / seconds}});
  return record;
}

void Trainer::Run::log(const nlohmann::json& record) {
  if (!is_writer()) return;
  metrics->append(record);
  const std::int64_t step = record["step"];
  for (const char* key : {"loss", "lr", "grad_norm", "tokens_per_s"}) {
    tensorboard->add_scalar(fmt::format("train/{}", key), record[key], step);
  }
  for (std::size_t s = 0; s < record["ploss"].size(); ++s) {
    tensorboard->add_scalar(fmt::format("train/ploss_{}", s), record["ploss"][s], step);
    tensorboard->add_scalar(fmt::format("train/acc_{}", s), record["acc"][s], step);
  }
  tensorboard->flush();
}

void Trainer::Run::evaluate() {
  at::NoGradGuard no_grad;
  const parallel::Layout& layout = groups.layout();
  Totals totals;
  const std::size_t n = eval_data->size(), b = static_cast<std::size_t>(options.micro_batch_size);
  std::size_t begin = 0;
  auto next = [&]() -> std::optional<data::Batch> {
    if (begin >= n) return std::nullopt;
    std::vector<std::size_t> indices;
    for (std::size_t i = begin; i < std::min(n, begin + b); ++i) indices.push_back(i);
    begin += b;
    return data::make_batch(*eval_data, indices);
  };
  while (begin < n) {
    std::optional<model::TttBatch> mine = eval_features->make_round(deal_round(layout.draft_dp(), next), layout);
    if (mine) {
      totals.add(model::ttt_forward(draft, *mine, options.ttt_length, options.step),
                 mine->lengths.sum().item<std::int64_t>());
    }
  }
  totals.all_reduce(groups.draft_dp(), options.ttt_length, device);
  if (!is_writer()) return;
  nlohmann::json record = totals.record();
  record.update({{"split", "eval"}, {"step", state.step}, {"epoch", state.step_epoch}, {"tokens", totals.tokens}});
  metrics->append(record);
  tensorboard->add_scalar("eval/loss", record["loss"], state.step);
  for (std::size_t s = 0; s < record["acc"].size(); ++s) {
    tensorboard->add_scalar(fmt::format("eval/acc_{}", s), record["acc"][s], state.step);
  }
  tensorboard->flush();
}

void Trainer::Run::evaluate_acceptance() {
  at::NoGradGuard no_grad;
  // The draft as save() writes it: BF16 weights, read back in the compute
  // dtype, as `talon eval` reads the checkpoint.
  model::NamedTensors saved;
  for (const auto& [name, value] : draft.parameters()) saved.emplace_back(name, value.detach().to(at::kBFloat16));
  model::Eagle3Draft as_saved =
      model::Eagle3Draft::create(draft.config, draft.embed_tokens, at::detail::createCPUGenerator(0),
                                 at::TensorOptions().device(device).dtype(compute_dtype(device)));
  as_saved.load_parameters(saved, fmt::format("the draft at step {}", state.step));
  const eval::TreeShape chain{options.eval_acceptance_num_steps, 1, options.eval_acceptance_num_steps + 1};
  const eval::AcceptanceReport report = eval::measure_acceptance(
      *target, as_saved, vocab.d2t.cpu(), aux_layers, acceptance.prompts, chain, acceptance.limits, 1);
  nlohmann::json record = report.to_json();
  record.update({{"split", "acceptance"}, {"step", state.step}, {"epoch", state.step_epoch},
                 {"speculative_num_steps", options.eval_acceptance_num_steps},
                 {"max_new_tokens", options.eval_acceptance_max_new_tokens}});
  metrics->append(record);
  last_acceptance_length = report.acceptance_length();
  tensorboard->add_scalar("acceptance/length", record["acceptance_length"], state.step);
  const std::vector<double> rates = report.acceptance_rates();
  for (std::size_t d = 0; d < rates.size(); ++d) {
    tensorboard->add_scalar(fmt::format("acceptance/rate_depth_{}", d + 1), rates[d], state.step);
  }
  tensorboard->flush();
  if (report.mismatches != 0 && compute_dtype(device) == at::kFloat) {
    fail("step {}: {} prompts decoded differently with speculation: a bug", state.step, report.mismatches);
  }
}

}  // namespace talon::train
