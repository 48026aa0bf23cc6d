// The element types Talon reads and writes in safetensors files, named as the
// format names them ("F32", "BF16", ...). Torch-free, so the header parser
// (and its fuzzer) does not need libtorch; safetensors.h maps them to torch.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace talon::io {

enum class DType { F32, F16, BF16, I64, I32, I8, U8, BOOL };

std::string_view dtype_name(DType dtype);                 // "F32", "BF16", ...
std::optional<DType> parse_dtype(std::string_view name);  // nullopt when unsupported
std::size_t dtype_size(DType dtype);                      // bytes per element
inline constexpr std::string_view kSupportedDTypes = "F32, F16, BF16, I64, I32, I8, U8, BOOL";

}  // namespace talon::io
