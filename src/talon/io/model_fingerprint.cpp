#include "talon/io/model_fingerprint.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <memory>

#include "talon/io/safetensors_model.h"
#include "talon/util/atomic_file.h"

namespace talon::io {
namespace {

constexpr std::uint64_t kWindows = 16;
constexpr std::uint64_t kWindowBytes = 256;

}  // namespace

std::string model_fingerprint(const std::string& dir) {
  std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> state(XXH64_createState(), &XXH64_freeState);
  XXH64_reset(state.get(), 0);
  auto add = [&](const void* data, std::size_t size) { XXH64_update(state.get(), data, size); };
  const std::string config = util::read_file(dir + "/config.json");
  add(config.data(), config.size());
  const SafetensorsModel model = SafetensorsModel::open(dir);
  for (const std::string& name : model.names()) {
    const TensorInfo& info = model.info(name);
    const std::string header = fmt::format("{}|{}|{}|", name, dtype_name(info.dtype), fmt::join(info.shape, ","));
    add(header.data(), header.size());
    const at::Tensor tensor = model.tensor(name);
    const auto* bytes = static_cast<const std::uint8_t*>(tensor.data_ptr());
    const std::uint64_t size = info.byte_size();
    if (size <= kWindows * kWindowBytes) {
      add(bytes, size);
      continue;
    }
    const std::uint64_t stride = (size - kWindowBytes) / (kWindows - 1);
    for (std::uint64_t w = 0; w < kWindows; ++w) add(bytes + w * stride, kWindowBytes);
  }
  return fmt::format("{:016x}", XXH64_digest(state.get()));
}

}  // namespace talon::io
