// A state dict that Python's torch.save wrote (pytorch_model.bin in the
// zip format, torch's default since 1.6), as the EAGLE authors publish their
// drafts. libtorch reads the zip and its records (PyTorchStreamReader), but
// its unpickler turns the collections.OrderedDict that every
// torch.save(module.state_dict()) writes into None; the pickle of a flat
// state dict is therefore read here, limited to what torch.save writes for
// one: a dict or OrderedDict of plain tensors (_rebuild_tensor_v2) whose
// storages are records of the archive (and libtorch's pickle_save of a
// dict, which adds a type tag).
#pragma once

#include <string>
#include <string_view>

#include "talon/io/safetensors.h"

namespace talon::io {

// Every name and tensor, in file order, on the CPU in its stored dtype.
// Anything else (the legacy non-zip format, big-endian storages, a value
// that is not a tensor, a pickle opcode torch.save does not write for a
// state dict) throws talon::Error naming `path`.
NamedTensors read_torch_state_dict(const std::string& path);
// The same from a file's bytes; `name` stands for its path in errors.
NamedTensors read_torch_state_dict_bytes(std::string_view bytes, const std::string& name);

}  // namespace talon::io
