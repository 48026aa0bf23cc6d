// The tokenized dataset `talon prepare` writes and training reads: a
// directory of flat little-endian arrays, memory-mapped, plus header.json
// recording how it was made so a mismatched run is refused. docs/formats.md
// has the layout.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/util/atomic_file.h"
#include "talon/util/mmap_file.h"

namespace talon::data {

struct TokenizedSample;

// The kind its directory's manifest records (util/output_manifest.h).
inline constexpr const char* kPreparedDatasetKind = "prepared dataset";

// What the samples depend on; recorded in header.json, checked by readers.
struct DatasetProvenance {
  std::string tokenizer_fingerprint;      // hex XXH64 of the tokenizer files
  std::int64_t vocab_size = 0;            // target vocabulary (length of t2d)
  // The template fields are empty (null in header.json) when every sample
  // came pre-tokenized: no template shaped the data, so a run with any
  // template may use it.
  std::string chat_template;              // template name
  std::string chat_template_fingerprint;  // hex XXH64 of what decides the text and its loss mask (make_provenance)
  std::optional<std::string> system_prompt_override;
  std::int64_t max_length = 0;

  bool rendered() const { return !chat_template.empty(); }
};

struct SampleView {
  const std::int32_t* input_ids;  // [length]
  const std::uint8_t* loss_mask;  // [length]
  std::size_t length;
};

class PreparedDatasetWriter {
 public:
  explicit PreparedDatasetWriter(const std::string& dir);  // nothing appears at dir until finish()
  void append(const TokenizedSample& sample);
  // Writes the index and header.json (provenance, plus `extra` fields such as
  // statistics and sources), then moves the directory into place.
  // Files the caller put under temp_dir() are committed with it.
  void finish(const DatasetProvenance& provenance, const nlohmann::json& extra);
  std::string temp_path(const std::string& name) const { return dir_.file(name); }

 private:
  util::AtomicDir dir_;
  util::AtomicFile ids_, mask_;
  std::vector<std::uint64_t> offsets_{0};
};

class PreparedDataset {
 public:
  // Maps the files and validates sizes, offsets and checksums.
  static PreparedDataset open(const std::string& dir);

  std::size_t size() const { return offsets_count_ - 1; }
  std::uint64_t num_tokens() const;
  SampleView sample(std::size_t i) const;
  const DatasetProvenance& provenance() const { return provenance_; }
  const nlohmann::json& header() const { return header_; }
  const std::string& dir() const { return dir_; }
  std::string vocab_mapping_path() const { return dir_ + "/vocab_mapping.safetensors"; }

  // One error listing every field that differs from what the run expects.
  void check_compatible(const DatasetProvenance& expected) const;
  // Those fields as "; field is X but this run uses Y" clauses; empty when none.
  std::string differences(const DatasetProvenance& expected) const;

 private:
  std::string dir_;
  nlohmann::json header_;
  DatasetProvenance provenance_;
  std::shared_ptr<util::MmapFile> ids_, mask_, offsets_;
  std::size_t offsets_count_ = 1;
};

}  // namespace talon::data
