#include "talon/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/mmap_file.h"
#include "talon/util/utf8.h"

// Tensors are viewed and written as raw bytes, and safetensors is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Talon assumes a little-endian host");

namespace talon::io {

struct SafetensorsFile::State {
  std::string path;
  std::shared_ptr<const void> owner;
  const std::uint8_t* data;  // the whole file image
  std::size_t size;
  SafetensorsHeader header;
  std::unordered_map<std::string, std::size_t> index;  // name -> position in header.tensors
};

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::BOOL: return at::kBool;
  }
  fail("unknown DType {}", static_cast<int>(dtype));
}

std::optional<DType> to_dtype(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return DType::F32;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    case at::kLong: return DType::I64;
    case at::kInt: return DType::I32;
    case at::kChar: return DType::I8;
    case at::kByte: return DType::U8;
    case at::kBool: return DType::BOOL;
    default: return std::nullopt;
  }
}

SafetensorsFile::SafetensorsFile(std::shared_ptr<const State> state) : state_(std::move(state)) {}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto file = std::make_shared<const util::MmapFile>(path);
  return from_buffer(file, file->data(), file->size(), path);
}

SafetensorsFile SafetensorsFile::from_buffer(std::shared_ptr<const void> owner, const std::uint8_t* data,
                                             std::size_t size, std::string name) {
  auto state = std::make_shared<State>();
  state->header = parse_safetensors_header(data, size, name);
  state->path = std::move(name);
  state->owner = std::move(owner);
  state->data = data;
  state->size = size;
  for (std::size_t i = 0; i < state->header.tensors.size(); ++i) state->index.emplace(state->header.tensors[i].name, i);
  return SafetensorsFile(std::move(state));
}

const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return state_->header.tensors; }

const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return state_->header.metadata; }

const std::string& SafetensorsFile::path() const { return state_->path; }

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = state_->index.find(name);
  return it == state_->index.end() ? nullptr : &state_->header.tensors[it->second];
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) fail("{}: no tensor \"{}\" among its {} tensors", path(), name, tensors().size());
  const std::uint8_t* bytes = state_->data + state_->header.data_start + info->begin;

  // A bool byte other than 0/1 is undefined behaviour in torch's kernels.
  if (info->dtype == DType::BOOL) {
    const std::uint8_t* bad = std::find_if(bytes, bytes + info->byte_size(), [](std::uint8_t b) { return b > 1; });
    if (bad != bytes + info->byte_size()) {
      fail("{}: tensor \"{}\": BOOL element {} holds byte {} (expected 0 or 1)", path(), name, bad - bytes, *bad);
    }
  }

  at::ScalarType type = to_scalar_type(info->dtype);
  if (reinterpret_cast<std::uintptr_t>(bytes) % dtype_size(info->dtype) != 0) {
    at::Tensor copy = at::empty(info->shape, at::TensorOptions().dtype(type));
    // An empty tensor has no buffer, and memcpy must not see a null pointer.
    if (copy.numel() > 0) std::memcpy(copy.data_ptr(), bytes, info->byte_size());
    return copy;
  }
  // from_blob wants a mutable pointer; the mapping is PROT_READ (see header).
  std::shared_ptr<const void> owner = state_->owner;
  return at::from_blob(
      const_cast<std::uint8_t*>(bytes), info->shape, [owner](void*) {}, at::TensorOptions().dtype(type));
}

namespace {

struct PendingTensor {
  const std::string* name;
  const at::Tensor* tensor;
  DType dtype;
  std::uint64_t bytes;
};

std::vector<PendingTensor> check_tensors(const std::string& path,
                                         const NamedTensors& tensors) {
  std::vector<PendingTensor> pending;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || !util::is_valid_utf8(name)) {
      fail("{}: tensor name \"{}\" is reserved or not UTF-8", path, name);
    }
    if (!seen.insert(name).second) fail("{}: tensor \"{}\" given twice", path, name);
    if (!tensor.defined() || tensor.layout() != at::kStrided) {
      fail("{}: tensor \"{}\" is undefined or not a dense tensor", path, name);
    }
    std::optional<DType> dtype = to_dtype(tensor.scalar_type());
    if (!dtype) {
      fail("{}: tensor \"{}\" has dtype {} (expected one of {})", path, name, c10::toString(tensor.scalar_type()),
           kSupportedDTypes);
    }
    pending.push_back({&name, &tensor, *dtype, std::uint64_t(tensor.numel()) * dtype_size(*dtype)});
  }
  // Decreasing element size keeps every tensor aligned after the 8-aligned header.
  std::sort(pending.begin(), pending.end(), [](const PendingTensor& a, const PendingTensor& b) {
    std::size_t size_a = dtype_size(a.dtype), size_b = dtype_size(b.dtype);
    return size_a != size_b ? size_a > size_b : *a.name < *b.name;
  });
  return pending;
}

std::string encode_header(const std::string& path, const std::vector<PendingTensor>& pending,
                          const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    for (const auto& [key, value] : metadata) {
      if (!util::is_valid_utf8(key) || !util::is_valid_utf8(value)) {
        fail("{}: metadata entry \"{}\" is not UTF-8", path, key);
      }
    }
    header["__metadata__"] = metadata;
  }
  std::uint64_t offset = 0;
  for (const PendingTensor& t : pending) {
    nlohmann::ordered_json entry;
    entry["dtype"] = std::string(dtype_name(t.dtype));
    entry["shape"] = t.tensor->sizes().vec();
    entry["data_offsets"] = {offset, offset + t.bytes};
    header[*t.name] = std::move(entry);
    offset += t.bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<PendingTensor> pending = check_tensors(path, tensors);
  std::string header = encode_header(path, pending, metadata);

  util::AtomicFile file(path);
  std::uint8_t length[8];
  for (std::size_t i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(std::uint64_t(header.size()) >> (8 * i));
  file.write(length, sizeof(length));
  file.write(header);
  for (const PendingTensor& t : pending) {
    at::Tensor cpu = t.tensor->to(at::kCPU).contiguous();
    file.write(cpu.data_ptr(), t.bytes);
  }
  file.commit();
}

}  // namespace talon::io
