#include "talon/train/datasets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "talon/text/chat_template.h"
#include "talon/text/tokenizer.h"
#include "talon/util/error.h"

namespace talon::train {

data::PreparedDataset open_dataset(const std::vector<std::string>& paths, const std::string& cache_dir,
                                   data::PrepareOptions settings, const data::DatasetProvenance& expected) {
  if (paths.empty()) fail("no data path given");
  if (paths.size() == 1 && std::filesystem::is_directory(paths[0])) {
    data::PreparedDataset dataset = data::PreparedDataset::open(paths[0]);
    dataset.check_compatible(expected);
    return dataset;
  }
  settings.inputs = paths;
  settings.output_dir = cache_dir;
  if (std::filesystem::exists(cache_dir + "/header.json")) {
    data::PreparedDataset cached = data::PreparedDataset::open(cache_dir);
    if (data::is_prepared_from(cached, settings, expected)) return cached;
  }
  data::PrepareReport report = data::prepare_dataset(settings);
  fmt::print(stderr, "prepared {} samples ({} tokens) from {} into {}\n", report.samples, report.tokens,
             fmt::join(paths, ", "), cache_dir);
  return data::PreparedDataset::open(cache_dir);
}

data::PreparedDataset open_shared_dataset(parallel::ProcessGroups& groups, const std::vector<std::string>& paths,
                                          const std::string& cache_dir, data::PrepareOptions settings,
                                          const data::DatasetProvenance& expected) {
  if (groups.rank() != 0) settings.show_progress = false;
  std::optional<data::PreparedDataset> dataset;
  groups.rank0_first([&] { dataset = open_dataset(paths, cache_dir, settings, expected); });
  return std::move(*dataset);
}

void check_fits_target_positions(const data::PreparedDataset& dataset, const io::TargetConfig& target,
                                 const std::string& target_path) {
  std::size_t longest = 0, which = 0;
  for (std::size_t i = 0; i < dataset.size(); ++i) {
    const std::size_t length = dataset.sample(i).length;
    if (length > longest) longest = length, which = i;
  }
  if (static_cast<std::int64_t>(longest) > target.max_position_embeddings) {
    fail("{}: sample {} has {} tokens, more than the max_position_embeddings {} of the target {}: lower "
         "--max-length (now {}) to at most {}",
         dataset.dir(), which, longest, target.max_position_embeddings, target_path,
         dataset.provenance().max_length, target.max_position_embeddings);
  }
}

data::DatasetProvenance expected_provenance(const data::PrepareOptions& settings) {
  text::Tokenizer tokenizer = text::Tokenizer::load(settings.tokenizer_dir);
  text::ChatTemplate chat_template = text::resolve_template(settings.chat_template, settings.tokenizer_dir);
  return data::make_provenance(tokenizer, chat_template, settings.system_prompt, settings.max_length,
                               settings.vocab_size);
}

}  // namespace talon::train
