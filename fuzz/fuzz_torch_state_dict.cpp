// Arbitrary bytes as a pytorch_model.bin (io::read_torch_state_dict_bytes:
// libtorch's zip reader, then Talon's state-dict pickle reader), then every
// tensor read whole. talon::Error is expected; a crash, a hang, an
// allocation larger than the input's records or another exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <ATen/ATen.h>

#include "talon/io/torch_state_dict.h"
#include "talon/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const talon::io::NamedTensors tensors = talon::io::read_torch_state_dict_bytes(
        std::string_view(reinterpret_cast<const char*>(data), size), "pytorch_model.bin");
    for (const auto& [name, tensor] : tensors) (void)tensor.contiguous().sum();
  } catch (const talon::Error&) {
  }
  return 0;
}
