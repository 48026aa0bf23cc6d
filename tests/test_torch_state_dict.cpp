// io::read_torch_state_dict against files Python's torch.save wrote
// (scripts/goldens/make_draft_fixtures.py): views that share one storage
// (transposed, a row, a column), several dtypes and a 0-d tensor read to the
// values safetensors holds for them; what is not a state dict of tensors is
// refused naming the file.
#include "talon/io/torch_state_dict.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace talon::io {
namespace {

using talon::testing::expect_error;

const std::string kDir = std::string(TALON_TEST_DATA) + "/drafts/torch_save/";

TEST(TorchStateDict, ViewsAndDtypesReadAsTorchSaveWroteThem) {
  const NamedTensors got = read_torch_state_dict(kDir + "views.bin");
  const SafetensorsFile want = SafetensorsFile::open(kDir + "views.safetensors");
  std::vector<std::string> names;
  for (const auto& [name, tensor] : got) {
    names.push_back(name);
    SCOPED_TRACE(name);
    const at::Tensor expected = want.tensor(name);
    EXPECT_EQ(tensor.scalar_type(), expected.scalar_type());
    EXPECT_EQ(tensor.sizes(), expected.sizes());
    EXPECT_TRUE(at::equal(tensor, expected));
  }
  // In the dict's order, as torch.save wrote it.
  EXPECT_EQ(names, (std::vector<std::string>{"matrix", "transposed", "row", "column", "half", "flags", "ids",
                                             "scalar"}));
  // From the file's bytes (what fuzz_torch_state_dict feeds), the same.
  const NamedTensors from_bytes = read_torch_state_dict_bytes(util::read_file(kDir + "views.bin"), "views.bin");
  ASSERT_EQ(from_bytes.size(), got.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(from_bytes[i].first, got[i].first);
    EXPECT_TRUE(at::equal(from_bytes[i].second, got[i].second)) << got[i].first;
  }
}

TEST(TorchStateDict, WhatIsNotAStateDictOfTensorsIsRefused) {
  expect_error([] { read_torch_state_dict(kDir + "not_tensors.bin"); },
               {kDir + "not_tensors.bin: entry step is not a tensor"});
  talon::testing::TempDir tmp;
  const std::string legacy = tmp.write("legacy.bin", std::string("\x80\x02\x8a\x0a", 4) + "not a zip");
  expect_error([&] { read_torch_state_dict(legacy); },
               {legacy + ": cannot be read as the PyTorch zip archive torch.save writes"});
  // A download cut short: the zip's directory, at its end, is missing.
  const std::string bytes = util::read_file(kDir + "views.bin");
  const std::string cut = tmp.write("cut.bin", bytes.substr(0, bytes.size() / 2));
  expect_error([&] { read_torch_state_dict(cut); },
               {cut + ": cannot be read as the PyTorch zip archive torch.save writes"});
}

}  // namespace
}  // namespace talon::io
