#include "talon/io/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/json_file.h"

namespace talon::io {
namespace {

using nlohmann::json;
using util::json_excerpt;

constexpr std::size_t kLengthBytes = 8;
constexpr const char* kMetadataKey = "__metadata__";

std::uint64_t read_u64_le(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < kLengthBytes; ++i) value |= std::uint64_t{bytes[i]} << (8 * i);
  return value;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& source) {
  std::map<std::string, std::string> metadata;
  if (value.is_null()) return metadata;
  if (!value.is_object()) {
    fail("{}: \"{}\" must be an object of strings, found {}", source, kMetadataKey, json_excerpt(value));
  }
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      fail("{}: \"{}\" entry \"{}\" must be a string, found {}", source, kMetadataKey, key, json_excerpt(item));
    }
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// Fills info.shape from `shape` and returns the byte size it implies.
std::uint64_t parse_shape(const json& shape, TensorInfo& info, const std::string& source) {
  const std::string& name = info.name;
  if (!shape.is_array()) {
    fail("{}: tensor \"{}\": \"shape\" must be an array, found {}", source, name, json_excerpt(shape));
  }
  // `extent` multiplies the dims with zeros read as ones: torch's strides
  // must fit in int64 even for an empty tensor. It bounds the element count.
  constexpr std::uint64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::uint64_t numel = 1, extent = 1;
  for (const json& dim : shape) {
    if (!dim.is_number_unsigned() || dim.get<std::uint64_t>() > kMax) {
      fail("{}: tensor \"{}\": shape {} must hold non-negative integers", source, name, json_excerpt(shape));
    }
    std::uint64_t d = dim.get<std::uint64_t>();
    if (__builtin_mul_overflow(extent, std::max<std::uint64_t>(d, 1), &extent) || extent > kMax) {
      fail("{}: tensor \"{}\": shape {} overflows int64", source, name, json_excerpt(shape));
    }
    numel *= d;
    info.shape.push_back(static_cast<std::int64_t>(d));
  }
  std::uint64_t bytes_extent = 0;
  if (__builtin_mul_overflow(extent, std::uint64_t(dtype_size(info.dtype)), &bytes_extent) || bytes_extent > kMax) {
    fail("{}: tensor \"{}\": shape {} x {} overflows int64", source, name, json_excerpt(shape), dtype_name(info.dtype));
  }
  return numel * dtype_size(info.dtype);
}

// One header entry, checked against the size of the data buffer.
TensorInfo parse_entry(const std::string& name, const json& entry, std::uint64_t buffer_size,
                       const std::string& source) {
  if (!entry.is_object()) {
    fail("{}: tensor \"{}\": entry must be an object, found {}", source, name, json_excerpt(entry));
  }
  auto field = [&](const char* key) -> const json& {
    auto it = entry.find(key);
    if (it == entry.end()) fail("{}: tensor \"{}\": missing field \"{}\"", source, name, key);
    return *it;
  };

  TensorInfo info;
  info.name = name;
  const json& dtype = field("dtype");
  if (!dtype.is_string()) {
    fail("{}: tensor \"{}\": \"dtype\" must be a string, found {}", source, name, json_excerpt(dtype));
  }
  std::optional<DType> parsed = parse_dtype(dtype.get<std::string>());
  if (!parsed) {
    fail("{}: tensor \"{}\": dtype {} is not supported (expected one of {})", source, name, json_excerpt(dtype),
         kSupportedDTypes);
  }
  info.dtype = *parsed;

  std::uint64_t bytes = parse_shape(field("shape"), info, source);

  const json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail("{}: tensor \"{}\": \"data_offsets\" must be [begin, end] with non-negative integers, found {}", source, name,
         json_excerpt(offsets));
  }
  info.begin = offsets[0].get<std::uint64_t>();
  info.end = offsets[1].get<std::uint64_t>();
  if (info.begin > info.end) {
    fail("{}: tensor \"{}\": data_offsets [{}, {}] begin after end", source, name, info.begin, info.end);
  }
  if (info.end > buffer_size) {
    fail("{}: tensor \"{}\": data_offsets [{}, {}] end beyond the data buffer of {} bytes", source, name, info.begin,
         info.end, buffer_size);
  }
  if (info.byte_size() != bytes) {
    fail("{}: tensor \"{}\": shape {} x {} needs {} bytes, data_offsets [{}, {}] hold {}", source, name,
         json_excerpt(field("shape")), dtype_name(info.dtype), bytes, info.begin, info.end, info.byte_size());
  }
  return info;
}

// The tensors must tile the data buffer: no overlap, no gap, nothing after
// the last one. Overlaps would alias tensors; gaps and trailing bytes are
// harmless to Talon, but the reference Rust reader (used by Hugging Face and
// SGLang) refuses them, so accepting them here would only postpone the error
// to serving time, and they are a sign of a truncated or spliced file.
void check_tiling(const std::vector<TensorInfo>& tensors, std::uint64_t buffer_size, const std::string& source) {
  std::uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& t : tensors) {
    if (t.begin < covered) {
      fail("{}: tensor \"{}\": data_offsets [{}, {}] overlap tensor \"{}\" [{}, {}]", source, t.name, t.begin, t.end,
           previous->name, previous->begin, previous->end);
    }
    if (t.begin > covered) {
      fail(
          "{}: tensor \"{}\": data_offsets [{}, {}] leave a gap of {} bytes after byte {} (tensors must cover the "
          "data buffer without holes)",
          source, t.name, t.begin, t.end, t.begin - covered, covered);
    }
    covered = t.end;
    previous = &t;
  }
  if (covered != buffer_size) {
    fail("{}: the data buffer holds {} bytes but the tensors cover {} (trailing bytes)", source, buffer_size, covered);
  }
}

}  // namespace

SafetensorsHeader parse_safetensors_header(const std::uint8_t* data, std::size_t size, const std::string& source) {
  if (size < kLengthBytes) {
    fail("{}: file is {} bytes, shorter than the {}-byte header length", source, size, kLengthBytes);
  }
  std::uint64_t header_size = read_u64_le(data);
  if (header_size > kMaxHeaderSize) {
    fail("{}: header length {} exceeds the limit of {} bytes", source, header_size, kMaxHeaderSize);
  }
  if (header_size > size - kLengthBytes) {
    fail("{}: header length {} exceeds the {} bytes after the length field", source, header_size, size - kLengthBytes);
  }

  std::string_view text(reinterpret_cast<const char*>(data + kLengthBytes), header_size);
  json header = util::parse_json(text, source + " (header)");
  if (!header.is_object()) fail("{}: header must be a JSON object, found {}", source, json_excerpt(header));

  SafetensorsHeader result;
  result.data_start = kLengthBytes + header_size;
  std::uint64_t buffer_size = size - result.data_start;
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      result.metadata = parse_metadata(entry, source);
    } else {
      result.tensors.push_back(parse_entry(name, entry, buffer_size, source));
    }
  }
  std::sort(result.tensors.begin(), result.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  check_tiling(result.tensors, buffer_size, source);
  return result;
}

}  // namespace talon::io
