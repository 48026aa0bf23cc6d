// Whether SGLang and vLLM would serve a DFlash or DSpark draft directory as
// Talon computes it (design dflash-dspark.md §2.5, §3.5): the config as
// their loaders read it, and every tensor under the name they look up. The
// engines skip tensors they do not know, so a misnamed one would be served
// as its initial value: each missing, misshapen or unknown name is a
// problem. The engines' embedding and lm_head are the target's, so the
// draft must fit the target's sizes and layers.
#pragma once

#include <string>

#include "talon/io/hf_config.h"
#include "talon/model/eagle3/draft_check.h"
#include "talon/model/draft_method.h"

namespace talon::model {

// strategy: DFlash or DSpark.
DraftCheck check_block_draft_for_engines(const std::string& dir, Strategy strategy, const io::TargetConfig& target,
                                         const std::string& target_name);

}  // namespace talon::model
