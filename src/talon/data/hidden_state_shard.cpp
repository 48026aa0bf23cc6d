#include "talon/data/hidden_state_shard.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <memory>

#include "talon/util/error.h"

namespace talon::data {
namespace {

constexpr const char* kFormat = "talon-hidden-states";
constexpr const char* kVersion = "1";

std::string hex64(std::uint64_t v) { return fmt::format("{:016x}", v); }

std::string tensor_name(std::int64_t index, const char* field) { return fmt::format("{}.{}", index, field); }

// XXH64 of a sample's bytes: input_ids, loss_mask, aux, hidden, in that order.
std::uint64_t sample_checksum(const at::Tensor& ids, const at::Tensor& mask, const at::Tensor& aux,
                              const at::Tensor& hidden) {
  std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> state(XXH64_createState(), &XXH64_freeState);
  XXH64_reset(state.get(), 0);
  for (const at::Tensor* t : {&ids, &mask, &aux, &hidden}) XXH64_update(state.get(), t->data_ptr(), t->nbytes());
  return XXH64_digest(state.get());
}

// XXH64 of the file's first 8 + N bytes (the length and the JSON header).
std::string header_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t length = 0;
  if (!in.read(reinterpret_cast<char*>(&length), sizeof(length)) || length > io::kMaxHeaderSize) {
    fail("{}: not a safetensors file (no valid header length)", path);
  }
  std::string bytes(sizeof(length) + length, '\0');
  std::memcpy(bytes.data(), &length, sizeof(length));
  if (!in.read(bytes.data() + sizeof(length), static_cast<std::streamsize>(length))) {
    fail("{}: truncated inside its {}-byte header", path, length);
  }
  return hex64(XXH64(bytes.data(), bytes.size(), 0));
}

std::int64_t metadata_int(const io::SafetensorsFile& file, const char* key) {
  auto it = file.metadata().find(key);
  if (it == file.metadata().end()) fail("{}: __metadata__ lacks \"{}\"", file.path(), key);
  try {
    std::size_t used = 0;
    const std::int64_t value = std::stoll(it->second, &used);
    if (used == it->second.size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  fail("{}: __metadata__ \"{}\" is \"{}\", expected a non-negative integer", file.path(), key, it->second);
}

void expect_tensor(const io::SafetensorsFile& file, const std::string& name, at::ScalarType dtype,
                   const std::vector<std::int64_t>& shape) {
  const io::TensorInfo* info = file.find(name);
  if (info == nullptr) fail("{}: tensor {} is missing", file.path(), name);
  if (io::to_scalar_type(info->dtype) != dtype || info->shape != shape) {
    fail("{}: tensor {} is {} [{}], expected {} [{}]", file.path(), name, io::dtype_name(info->dtype),
         fmt::join(info->shape, ", "), io::dtype_name(*io::to_dtype(dtype)), fmt::join(shape, ", "));
  }
}

// Checks the header against `format`; returns the record (without the file
// checksum fields) and the per-sample checksums.
std::pair<ShardRecord, std::vector<std::uint64_t>> read_header(const io::SafetensorsFile& file,
                                                               const ShardFormat& format) {
  auto meta = [&](const char* key) {
    auto it = file.metadata().find(key);
    return it == file.metadata().end() ? std::string() : it->second;
  };
  if (meta("format") != kFormat || meta("version") != kVersion) {
    fail("{}: not a Talon hidden-state shard of version {} (__metadata__ format \"{}\", version \"{}\")", file.path(),
         kVersion, meta("format"), meta("version"));
  }
  if (meta("cache") != format.cache_id) {
    fail("{}: belongs to another cache (its cache id is {}, this cache's is {}): it was made with different "
         "settings, target or data",
         file.path(), meta("cache"), format.cache_id);
  }
  ShardRecord record;
  record.file = std::filesystem::path(file.path()).filename().string();
  record.first_sample = metadata_int(file, "first_sample");
  record.num_samples = metadata_int(file, "num_samples");
  const std::string sums = meta("xxh64");
  // num_samples 16-digit hex numbers, comma-separated.
  const auto n = static_cast<std::size_t>(record.num_samples);
  bool well_formed = n > 0 && sums.size() == n * 17 - 1;
  std::vector<std::uint64_t> checksums;
  for (std::size_t at = 0; well_formed && at < sums.size(); at += 17) {
    const std::string digits = sums.substr(at, 16);
    well_formed = digits.find_first_not_of("0123456789abcdef") == std::string::npos &&
                  (at + 16 == sums.size() || sums[at + 16] == ',');
    if (well_formed) checksums.push_back(std::stoull(digits, nullptr, 16));
  }
  if (!well_formed) {
    fail("{}: __metadata__ \"xxh64\" must hold {} comma-separated 16-digit hex checksums", file.path(),
         record.num_samples);
  }
  if (static_cast<std::int64_t>(file.tensors().size()) != 4 * record.num_samples) {
    fail("{}: holds {} tensors, expected 4 for each of its {} samples", file.path(), file.tensors().size(),
         record.num_samples);
  }
  const std::int64_t h = format.hidden_size;
  for (std::int64_t k = record.first_sample; k < record.first_sample + record.num_samples; ++k) {
    const io::TensorInfo* ids = file.find(tensor_name(k, "input_ids"));
    if (ids == nullptr || ids->shape.size() != 1) {
      fail("{}: tensor {} is missing or not 1-D", file.path(), tensor_name(k, "input_ids"));
    }
    const std::int64_t n = ids->shape[0];
    expect_tensor(file, tensor_name(k, "input_ids"), at::kInt, {n});
    expect_tensor(file, tensor_name(k, "loss_mask"), at::kByte, {n});
    expect_tensor(file, tensor_name(k, "aux_hidden_states"), format.dtype, {n, format.aux_layers * h});
    expect_tensor(file, tensor_name(k, "hidden_states"), format.dtype, {n, h});
    record.num_tokens += n;
  }
  return {record, checksums};
}

}  // namespace

void write_shard(const std::string& dir, const std::string& file, const std::vector<HiddenStateSample>& samples,
                        const ShardFormat& format) {
  if (samples.empty()) fail("write_shard {}: no samples", file);
  io::NamedTensors tensors;
  std::string sums;
  for (const HiddenStateSample& s : samples) {
    at::Tensor ids = s.input_ids.to(at::kInt).contiguous();
    at::Tensor mask = s.loss_mask.to(at::kByte).contiguous();
    at::Tensor aux = s.aux.to(at::kCPU, format.dtype).contiguous();
    at::Tensor hidden = s.hidden.to(at::kCPU, format.dtype).contiguous();
    sums += (sums.empty() ? "" : ",") + hex64(sample_checksum(ids, mask, aux, hidden));
    tensors.emplace_back(tensor_name(s.index, "input_ids"), ids);
    tensors.emplace_back(tensor_name(s.index, "loss_mask"), mask);
    tensors.emplace_back(tensor_name(s.index, "aux_hidden_states"), aux);
    tensors.emplace_back(tensor_name(s.index, "hidden_states"), hidden);
  }
  io::write_safetensors(dir + "/" + file, tensors,
                        {{"format", kFormat},
                         {"version", kVersion},
                         {"cache", format.cache_id},
                         {"first_sample", std::to_string(samples.front().index)},
                         {"num_samples", std::to_string(samples.size())},
                         {"xxh64", sums}});
}

ShardRecord HiddenStateShard::describe(const std::string& dir, const std::string& file, const ShardFormat& format) {
  const std::string path = dir + "/" + file;
  ShardRecord record = read_header(io::SafetensorsFile::open(path), format).first;
  record.bytes = std::filesystem::file_size(path);
  record.header_xxh64 = header_checksum(path);
  return record;
}

HiddenStateShard HiddenStateShard::open(const std::string& dir, const ShardRecord& record, const ShardFormat& format) {
  const std::string path = dir + "/" + record.file;
  std::error_code error;
  const std::uint64_t bytes = std::filesystem::file_size(path, error);
  if (error) fail("{}: cannot read the shard the index lists: {}", path, error.message());
  if (bytes != record.bytes) {
    fail("{}: {} bytes but the index records {}: the shard is truncated or was replaced", path, bytes, record.bytes);
  }
  if (header_checksum(path) != record.header_xxh64) {
    fail("{}: its header does not match the checksum in the index: the shard was modified", path);
  }
  io::SafetensorsFile file = io::SafetensorsFile::open(path);
  auto [found, checksums] = read_header(file, format);
  if (found.first_sample != record.first_sample || found.num_samples != record.num_samples ||
      found.num_tokens != record.num_tokens) {
    fail("{}: holds samples [{}, {}) with {} tokens but the index records [{}, {}) with {}", path,
         found.first_sample, found.first_sample + found.num_samples, found.num_tokens, record.first_sample,
         record.first_sample + record.num_samples, record.num_tokens);
  }
  return HiddenStateShard(std::move(file), record, std::move(checksums));
}

CachedSample HiddenStateShard::sample(std::int64_t index) const {
  if (index < record_.first_sample || index >= record_.first_sample + record_.num_samples) {
    fail("{}: sample {} is outside its range [{}, {})", file_.path(), index, record_.first_sample,
         record_.first_sample + record_.num_samples);
  }
  at::Tensor ids = file_.tensor(tensor_name(index, "input_ids"));
  at::Tensor mask = file_.tensor(tensor_name(index, "loss_mask"));
  at::Tensor aux = file_.tensor(tensor_name(index, "aux_hidden_states"));
  at::Tensor hidden = file_.tensor(tensor_name(index, "hidden_states"));
  if (sample_checksum(ids, mask, aux, hidden) != checksums_[static_cast<std::size_t>(index - record_.first_sample)]) {
    fail("{}: sample {} does not match its checksum: the shard is corrupted (`talon cache --verify` checks them "
         "all; delete it and run `talon cache` again to rewrite it)",
         file_.path(), index);
  }
  return {ids, mask, aux, hidden};
}

}  // namespace talon::data
