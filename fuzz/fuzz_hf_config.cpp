// Arbitrary bytes as a config.json, read as a target and as a draft config
// (util::parse_json, as load_target_config and load_draft_config read one).
// talon::Error is expected; a crash (deep nesting was one), a hang, an
// allocation beyond the sizes' limits or another exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "talon/io/hf_config.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  nlohmann::json config;
  try {
    config = talon::util::parse_json(bytes, "config.json");
  } catch (const talon::Error&) {
    return 0;
  }
  try {
    talon::io::TargetConfig target = talon::io::parse_target_config(config, "config.json");
    if (target.num_hidden_layers < 1) __builtin_trap();
  } catch (const talon::Error&) {
  }
  try {
    talon::io::DraftConfig draft = talon::io::parse_draft_config(config, "config.json");
    // What a checkpoint writes must read back the same.
    const std::string text = talon::io::to_json(draft).dump();
    talon::io::DraftConfig again = talon::io::parse_draft_config(talon::util::parse_json(text, "again"), "again");
    if (again.hidden_size != draft.hidden_size || again.intermediate_size != draft.intermediate_size ||
        again.draft_vocab_size != draft.draft_vocab_size) {
      __builtin_trap();
    }
    talon::io::aux_layer_ids(draft, 32);
  } catch (const talon::Error&) {
  }
  return 0;
}
