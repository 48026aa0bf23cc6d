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
#include "talon/model/eagle3/draft_checkpoint.h"
#include "talon/model/eagle3/ttt.h"
#include "talon/train/device.h"
#include "talon/train/trainer_run.h"
#include "talon/util/error.h"
#include "talon/util/progress.h"

namespace talon::train {
namespace {

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

// What one optimizer step's (or eval pass's) rounds add up to, over every
// draft-DP rank.
struct Trainer::Run::Pass {
  nlohmann::json record;  // the method's, from the summed metrics and the objective
  double denominator = 0;  // the step's summed denominators (LossScope::Step's)
  std::int64_t tokens = 0;
};

Trainer::Run::Pass Trainer::Run::run_rounds(const FeatureSource& source,
                                            const std::function<std::optional<data::Batch>()>& next, bool train,
                                            std::int64_t epoch) {
  const parallel::Layout& layout = groups.layout();
  const model::LossScope scope = method->loss_scope();
  const std::int64_t rounds_per_step = std::max<std::int64_t>(1, micro_batches_per_step / layout.draft_dp());
  const at::TensorOptions fp64 = at::TensorOptions().dtype(at::kDouble).device(device);
  // This rank's sums: metrics, then numerator, denominator, micro-batches,
  // tokens and the Round scope's objective (already summed over ranks).
  at::Tensor sums = at::zeros({method->metric_count() + 5}, fp64);
  const std::int64_t k = method->metric_count();
  for (;;) {
    std::vector<std::optional<data::Batch>> round = deal_round(layout.draft_dp(), next);
    if (!round[0]) break;  // nothing dealt: the same on every rank
    std::optional<model::DraftBatch> mine = source.make_round(round, layout);
    std::optional<model::MicroBatchLoss> loss;
    if (mine) {
      mine->seed = data::batch_seed(options.seed, epoch, *round[static_cast<std::size_t>(layout.draft_dp_rank())]);
      loss = method->loss(*mine);
    }
    double scale = 1;
    if (scope == model::LossScope::MicroBatch) scale = 1.0 / static_cast<double>(micro_batches_per_step);
    if (scope == model::LossScope::Round) {
      // The round's numerator and denominator over the draft-DP ranks; every
      // rank joins, with zeros when it has no micro-batch.
      at::Tensor both = loss ? at::stack({loss->numerator.detach().to(fp64), loss->denominator.to(fp64)})
                             : at::zeros({2}, fp64);
      groups.draft_dp().all_reduce(both);
      const double den = both[1].item<double>() + method->denominator_epsilon();
      scale = 1.0 / den / static_cast<double>(rounds_per_step);
      if (groups.draft_dp().rank() == 0) sums[k + 4] += both[0].item<double>() * scale;
    }
    if (!loss) continue;
    if (train) (loss->numerator * scale).backward();
    sums.narrow(0, 0, k).add_(loss->metrics.to(fp64));
    sums[k] += loss->numerator.detach().to(fp64);
    sums[k + 1] += loss->denominator.to(fp64);
    sums[k + 2] += 1;
    sums[k + 3] += static_cast<double>(mine->lengths.sum().item<std::int64_t>());
  }
  groups.draft_dp().all_reduce(sums);
  const double numerator = sums[k].item<double>(), denominator = sums[k + 1].item<double>();
  double objective = numerator / static_cast<double>(micro_batches_per_step);
  if (scope == model::LossScope::Step) objective = numerator / std::max(denominator, 1e-30);
  if (scope == model::LossScope::Round) objective = sums[k + 4].item<double>();
  return {method->record(sums.narrow(0, 0, k), objective), denominator,
          static_cast<std::int64_t>(sums[k + 3].item<double>())};
}

std::optional<nlohmann::json> Trainer::Run::train_step() {
  const auto start = std::chrono::steady_clock::now();
  state.step_epoch = cursor.epoch();
  std::int64_t dealt = 0;
  auto next = [&]() -> std::optional<data::Batch> {
    if (dealt == micro_batches_per_step || cursor.epoch_done()) return std::nullopt;
    ++dealt;
    return data::make_batch(train_data, cursor.next());
  };
  Pass pass = run_rounds(*features, next, true, cursor.epoch());
  if (cursor.epoch_done()) cursor.start_next_epoch();
  // A loss normalised over the whole step scales the summed gradients now.
  const double grad_scale =
      method->loss_scope() == model::LossScope::Step && pass.denominator > 0 ? 1.0 / pass.denominator : 1.0;
  const double grad_norm = optimizer.reduce_and_clip(options.max_grad_norm, grad_scale);
  nlohmann::json record = std::move(pass.record);
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
                 {"tokens", pass.tokens}, {"tokens_per_s", static_cast<double>(pass.tokens) / seconds}});
  return record;
}

namespace {

// Every figure of a record under `prefix`/: numbers as they are, lists as
// key_i (ploss_0, acc_1, ...); the step and the counters are not figures.
void add_figures(track::TensorBoardWriter& writer, const std::string& prefix, const nlohmann::json& record,
                 std::int64_t step) {
  for (const auto& [key, value] : record.items()) {
    if (key == "step" || key == "epoch" || key == "tokens" || key == "split") continue;
    if (value.is_number()) writer.add_scalar(fmt::format("{}/{}", prefix, key), value.get<double>(), step);
    if (!value.is_array()) continue;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i].is_number()) writer.add_scalar(fmt::format("{}/{}_{}", prefix, key, i), value[i].get<double>(), step);
    }
  }
}

}  // namespace

void Trainer::Run::log(const nlohmann::json& record) {
  if (!is_writer()) return;
  metrics->append(record);
  add_figures(*tensorboard, "train", record, record["step"].get<std::int64_t>());
  tensorboard->flush();
}

void Trainer::Run::evaluate() {
  at::NoGradGuard no_grad;
  const std::size_t n = eval_data->size(), b = static_cast<std::size_t>(options.micro_batch_size);
  std::size_t begin = 0;
  auto next = [&]() -> std::optional<data::Batch> {
    if (begin >= n) return std::nullopt;
    std::vector<std::size_t> indices;
    for (std::size_t i = begin; i < std::min(n, begin + b); ++i) indices.push_back(i);
    begin += b;
    return data::make_batch(*eval_data, indices);
  };
  Pass pass = run_rounds(*eval_features, next, false, kEvalEpoch);
  if (!is_writer()) return;
  nlohmann::json record = std::move(pass.record);
  record.update({{"split", "eval"}, {"step", state.step}, {"epoch", state.step_epoch}, {"tokens", pass.tokens}});
  metrics->append(record);
  add_figures(*tensorboard, "eval", record, state.step);
  tensorboard->flush();
}

void Trainer::Run::evaluate_acceptance() {
  at::NoGradGuard no_grad;
  const eval::AcceptanceReport report =
      measure_draft_acceptance(*method, *target, acceptance.prompts, acceptance.limits,
                               options.eval_acceptance_num_steps, device);
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
