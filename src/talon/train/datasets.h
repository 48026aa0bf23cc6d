// Turns --train-data-path / --eval-data-path into a prepared dataset: a
// directory written by `talon prepare` is opened as is; JSONL files are
// prepared into a cache directory under the output directory, and reused
// there while the files and settings stay the same.
#pragma once

#include <string>
#include <vector>

#include "talon/data/prepare.h"
#include "talon/data/prepared_dataset.h"
#include "talon/io/hf_config.h"
#include "talon/parallel/process_groups.h"

namespace talon::train {

// `settings`: everything but inputs and output_dir. `expected`: the
// provenance this run needs; a prepared directory that differs is refused.
data::PreparedDataset open_dataset(const std::vector<std::string>& paths, const std::string& cache_dir,
                                   data::PrepareOptions settings, const data::DatasetProvenance& expected);

// The same in a run of several processes: rank 0 opens (and, from JSONL,
// prepares) the dataset first; the others open what it wrote.
data::PreparedDataset open_shared_dataset(parallel::ProcessGroups& groups, const std::vector<std::string>& paths,
                                          const std::string& cache_dir, data::PrepareOptions settings,
                                          const data::DatasetProvenance& expected);

// Every sample of `dataset` fits the target's positions: the rotary
// embedding computes any position, but the target's weights only learned the
// first max_position_embeddings, so hidden states past them are no target's.
// Else an error naming the longest sample and --max-length.
void check_fits_target_positions(const data::PreparedDataset& dataset, const io::TargetConfig& target,
                                 const std::string& target_path);

// The provenance data prepared with `settings` records (its tokenizer,
// template, system prompt, max_length and vocab_size).
data::DatasetProvenance expected_provenance(const data::PrepareOptions& settings);

}  // namespace talon::train
