#include "talon/train/datasets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

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

}  // namespace talon::train
