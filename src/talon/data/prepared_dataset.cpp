#include "talon/data/prepared_dataset.h"

#include <xxhash.h>

#include <cstring>

#include "talon/data/sample_builder.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::data {

namespace {

constexpr const char* kFormat = "talon-prepared-dataset";
constexpr int kVersion = 1;
constexpr const char* kIdsFile = "input_ids.bin";      // int32 [num_tokens]
constexpr const char* kMaskFile = "loss_mask.bin";     // uint8 [num_tokens]
constexpr const char* kOffsetsFile = "offsets.bin";    // uint64 [num_samples + 1]

std::string hex64(std::uint64_t v) { return fmt::format("{:016x}", v); }

std::string checksum(const void* data, std::size_t size) { return hex64(XXH64(data, size, 0)); }

nlohmann::json provenance_json(const DatasetProvenance& p) {
  auto or_null = [&](const std::string& field) {
    return p.rendered() ? nlohmann::json(field) : nlohmann::json(nullptr);
  };
  return {{"tokenizer_fingerprint", p.tokenizer_fingerprint},
          {"vocab_size", p.vocab_size},
          {"chat_template", or_null(p.chat_template)},
          {"chat_template_fingerprint", or_null(p.chat_template_fingerprint)},
          {"system_prompt_override", p.system_prompt_override ? nlohmann::json(*p.system_prompt_override)
                                                              : nlohmann::json(nullptr)},
          {"max_length", p.max_length}};
}

}  // namespace

PreparedDatasetWriter::PreparedDatasetWriter(const std::string& dir)
    : dir_(dir, kPreparedDatasetKind), ids_(dir_.file(kIdsFile)), mask_(dir_.file(kMaskFile)) {}

void PreparedDatasetWriter::append(const TokenizedSample& sample) {
  static_assert(sizeof(std::int32_t) == 4, "input_ids.bin holds int32");
  ids_.write(sample.input_ids.data(), sample.input_ids.size() * sizeof(std::int32_t));
  mask_.write(sample.loss_mask.data(), sample.loss_mask.size());
  offsets_.push_back(offsets_.back() + sample.input_ids.size());
}

void PreparedDatasetWriter::finish(const DatasetProvenance& provenance, const nlohmann::json& extra) {
  ids_.commit();
  mask_.commit();
  std::string offsets_bytes(reinterpret_cast<const char*>(offsets_.data()), offsets_.size() * sizeof(std::uint64_t));
  util::write_file_atomic(dir_.file(kOffsetsFile), offsets_bytes);

  nlohmann::json files;
  for (const char* name : {kIdsFile, kMaskFile, kOffsetsFile}) {
    util::MmapFile file(dir_.file(name));
    files[name] = {{"bytes", file.size()}, {"xxh64", checksum(file.data(), file.size())}};
  }
  nlohmann::json header = {{"format", kFormat},
                           {"version", kVersion},
                           {"num_samples", offsets_.size() - 1},
                           {"num_tokens", offsets_.back()},
                           {"provenance", provenance_json(provenance)},
                           {"files", files}};
  header.update(extra);
  util::write_file_atomic(dir_.file("header.json"), header.dump(2) + "\n");
  dir_.commit();
}

PreparedDataset PreparedDataset::open(const std::string& dir) {
  PreparedDataset ds;
  ds.dir_ = dir;
  std::string header_path = dir + "/header.json";
  ds.header_ = util::load_json_file(header_path);
  try {
    if (ds.header_.value("format", "") != kFormat) fail("not a Talon prepared dataset (format field)");
    if (ds.header_.at("version").get<int>() != kVersion) {
      fail("version {} is not the supported version {}", ds.header_.at("version").dump(), kVersion);
    }
    const auto& p = ds.header_.at("provenance");
    ds.provenance_.tokenizer_fingerprint = p.at("tokenizer_fingerprint").get<std::string>();
    ds.provenance_.vocab_size = p.at("vocab_size").get<std::int64_t>();
    if (!p.at("chat_template").is_null()) {  // null: every sample came pre-tokenized
      ds.provenance_.chat_template = p.at("chat_template").get<std::string>();
      ds.provenance_.chat_template_fingerprint = p.at("chat_template_fingerprint").get<std::string>();
    }
    if (!p.at("system_prompt_override").is_null()) {
      ds.provenance_.system_prompt_override = p.at("system_prompt_override").get<std::string>();
    }
    ds.provenance_.max_length = p.at("max_length").get<std::int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed header: {}", header_path, e.what());
  } catch (const Error& e) {
    fail("{}: {}", header_path, e.what());
  }

  auto map = [&](const char* name) {
    auto file = std::make_shared<util::MmapFile>(dir + "/" + name);
    const auto& expect = ds.header_["files"][name];
    if (!expect.is_object() || expect.value("bytes", std::uint64_t{0}) != file->size()) {
      fail("{}: size {} bytes does not match header.json ({})", file->path(), file->size(), expect.dump());
    }
    if (expect.value("xxh64", "") != checksum(file->data(), file->size())) {
      fail("{}: checksum does not match header.json: the file is corrupted", file->path());
    }
    return file;
  };
  ds.ids_ = map(kIdsFile);
  ds.mask_ = map(kMaskFile);
  ds.offsets_ = map(kOffsetsFile);

  std::uint64_t num_samples = ds.header_.value("num_samples", std::uint64_t{0});
  std::uint64_t num_tokens = ds.header_.value("num_tokens", std::uint64_t{0});
  ds.offsets_count_ = ds.offsets_->size() / sizeof(std::uint64_t);
  if (ds.offsets_count_ != num_samples + 1 || ds.ids_->size() != num_tokens * sizeof(std::int32_t) ||
      ds.mask_->size() != num_tokens) {
    fail("{}: file sizes disagree with num_samples {} and num_tokens {}", dir, num_samples, num_tokens);
  }
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < ds.offsets_count_; ++i) {
    std::uint64_t offset;
    std::memcpy(&offset, ds.offsets_->data() + i * sizeof(offset), sizeof(offset));
    if ((i == 0 && offset != 0) || offset < previous || offset > num_tokens) {
      fail("{}/{}: offset {} of sample {} is out of order", dir, kOffsetsFile, offset, i);
    }
    previous = offset;
  }
  if (previous != num_tokens) fail("{}/{}: last offset {} != num_tokens {}", dir, kOffsetsFile, previous, num_tokens);
  return ds;
}

std::uint64_t PreparedDataset::num_tokens() const { return ids_->size() / sizeof(std::int32_t); }

SampleView PreparedDataset::sample(std::size_t i) const {
  if (i >= size()) fail("{}: sample {} out of range (dataset has {})", dir_, i, size());
  std::uint64_t begin, end;
  std::memcpy(&begin, offsets_->data() + i * sizeof(begin), sizeof(begin));
  std::memcpy(&end, offsets_->data() + (i + 1) * sizeof(end), sizeof(end));
  // input_ids.bin is mmapped at a page boundary, so int32 elements are aligned.
  auto ids = reinterpret_cast<const std::int32_t*>(ids_->data());
  return {ids + begin, mask_->data() + begin, static_cast<std::size_t>(end - begin)};
}

std::string PreparedDataset::differences(const DatasetProvenance& expected) const {
  const DatasetProvenance& have = provenance_;
  std::string problems;
  auto check = [&](const char* field, const std::string& found, const std::string& want) {
    if (found != want) problems += fmt::format("; {} is {} but this run uses {}", field, found, want);
  };
  check("tokenizer", have.tokenizer_fingerprint, expected.tokenizer_fingerprint);
  check("vocab_size", std::to_string(have.vocab_size), std::to_string(expected.vocab_size));
  if (have.rendered()) {  // pre-tokenized samples suit any template
    check("chat template", have.chat_template, expected.chat_template);
    check("chat template rendering", have.chat_template_fingerprint, expected.chat_template_fingerprint);
    check("system prompt", have.system_prompt_override.value_or("<template default>"),
          expected.system_prompt_override.value_or("<template default>"));
  }
  check("max_length", std::to_string(have.max_length), std::to_string(expected.max_length));
  return problems;
}

void PreparedDataset::check_compatible(const DatasetProvenance& expected) const {
  std::string problems = differences(expected);
  if (!problems.empty()) fail("{}: prepared with different settings{}", dir_, problems);
}

}  // namespace talon::data
