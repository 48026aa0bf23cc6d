// Turns --train-data-path / --eval-data-path into a prepared dataset: a
// directory written by `talon prepare` is opened as is; JSONL files are
// prepared into a cache directory under the output directory, and reused
// there while the files and settings stay the same.
#pragma once

#include <string>
#include <vector>

#include "talon/data/prepare.h"
#include "talon/data/prepared_dataset.h"

namespace talon::train {

// `settings`: everything but inputs and output_dir. `expected`: the
// provenance this run needs; a prepared directory that differs is refused.
data::PreparedDataset open_dataset(const std::vector<std::string>& paths, const std::string& cache_dir,
                                   data::PrepareOptions settings, const data::DatasetProvenance& expected);

}  // namespace talon::train
