#include "talon/model/dspark/dspark_method.h"

#include <ATen/ATen.h>

#include "talon/model/block/block_step.h"

namespace talon::model {

DSparkMethod::DSparkMethod(BlockDraft backbone, MarkovHead head, DSparkTraining training)
    : backbone_(std::move(backbone)), head_(std::move(head)), training_(std::move(training)) {}

NamedTensors DSparkMethod::parameters() const {
  NamedTensors out = backbone_.parameters();
  const auto shapes = MarkovHead::parameter_shapes(head_.config, backbone_.config.vocab_size,
                                                   backbone_.config.hidden_size);
  std::vector<at::Tensor*> slots = const_cast<MarkovHead&>(head_).slots();
  for (std::size_t i = 0; i < slots.size(); ++i) out.emplace_back(shapes[i].first, *slots[i]);
  return out;
}

std::vector<parallel::TpShard> DSparkMethod::shards() const {
  // The backbone's layout; the heads replicated (they read the all-reduced hidden states).
  std::vector<parallel::TpShard> out = backbone_.shards();
  out.resize(parameters().size());
  return out;
}

MicroBatchLoss DSparkMethod::loss(const DraftBatch& batch) const {
  const BlockStep step = run_blocks(backbone_, batch, training_.blockwise_attention);
  const DSparkTargets targets = dspark_targets(batch.input_ids, batch.loss_mask, step.blocks,
                                               backbone_.config.block_size, training_.decay_gamma);
  const DSparkObjectiveOptions& o = training_.objective;
  const DSparkTerms terms =
      dspark_objective(step.hidden, backbone_.lm_head, batch.final_hidden, head_, targets, o);
  at::Tensor numerator = o.ce_alpha * terms.ce + o.l1_alpha * terms.l1 + o.confidence_alpha * terms.confidence;
  const at::TensorOptions fp64 = at::TensorOptions().dtype(at::kDouble).device(numerator.device());
  auto one = [&](const at::Tensor& t) { return t.detach().to(fp64).view({1}); };
  at::Tensor metrics = at::cat({one(terms.ce), one(terms.l1), one(terms.confidence), one(terms.denominator),
                                terms.accept_rate.to(fp64), terms.evaluated.to(fp64), terms.correct.to(fp64),
                                one(terms.tau), one(terms.blocks)});
  return {numerator, terms.denominator.to(fp64), metrics};
}

nlohmann::json DSparkMethod::record(const at::Tensor& metrics, double objective) const {
  const std::int64_t g = backbone_.config.block_size;
  at::Tensor m = metrics.to(at::kDouble).cpu();
  const double den = std::max(m[3].item<double>(), 1e-6);
  std::vector<double> acc, accept;
  for (std::int64_t k = 0; k < g; ++k) {
    const double evaluated = std::max(m[4 + g + k].item<double>(), 1e-6);
    accept.push_back(m[4 + k].item<double>() / evaluated);
    acc.push_back(m[4 + 2 * g + k].item<double>() / evaluated);
  }
  return {{"loss", objective},
          {"ce_loss", m[0].item<double>() / den},
          {"l1_loss", m[1].item<double>() / den},
          {"confidence_loss", m[2].item<double>() / den},
          {"acc", acc},
          {"accept_rate", accept},
          {"tau_probabilistic", m[4 + 3 * g].item<double>() / std::max(m[5 + 3 * g].item<double>(), 1.0)}};
}

void DSparkMethod::save(const std::string& dir, const NamedTensors& whole) const {
  save_block_draft(dir, config_json(), whole);
}

nlohmann::json DSparkMethod::config_json() const { return dspark_config_json({backbone_.config, head_.config}); }

}  // namespace talon::model
