// Arbitrary bytes as a safetensors file image. Opening must either succeed or
// throw talon::Error; every tensor of an accepted file must lie inside the
// image (or be a copy of the right size) and be readable to its last byte.
#include <cstdint>
#include <cstdlib>

#include "talon/io/safetensors.h"
#include "talon/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto file = talon::io::SafetensorsFile::from_buffer(nullptr, data, size, "fuzz");
    for (const talon::io::TensorInfo& info : file.tensors()) {
      at::Tensor tensor = file.tensor(info.name);
      const auto* bytes = static_cast<const std::uint8_t*>(tensor.data_ptr());
      std::size_t nbytes = tensor.numel() * tensor.element_size();
      if (nbytes != info.byte_size()) std::abort();
      // A view starts inside the image and must end inside it too.
      auto begin = reinterpret_cast<std::uintptr_t>(data), at = reinterpret_cast<std::uintptr_t>(bytes);
      if (at >= begin && at < begin + size && at + nbytes > begin + size) std::abort();
      // Read every byte here, in instrumented code, so ASan sees any overrun.
      volatile std::uint8_t sum = 0;
      for (std::size_t i = 0; i < nbytes; ++i) sum = sum + bytes[i];
    }
  } catch (const talon::Error&) {
  }
  return 0;
}
