// Pre-tokenized training lines, for targets whose chat template nobody can
// render: SpecForge's shape, {"input_ids": [ids], "loss_mask": [0/1]}, read
// with SpecForge's rules (docs/chat_templates.md "Pre-tokenized lines").
#pragma once

#include <cstdint>

#include <nlohmann/json_fwd.hpp>

#include "talon/data/sample_builder.h"

namespace talon::data {

// Whether a JSONL record is pre-tokenized (it has input_ids or loss_mask)
// rather than a conversation; throws when it has keys of both shapes, or
// of neither.
bool is_pretokenized(const nlohmann::json& record);

// The sample exactly as the record gives it, before fit_to_length. Throws
// talon::Error naming the field (the caller prefixes file:line), e.g.
//   field "input_ids[3]": expected a token id in [0, 128256), found 128300
TokenizedSample read_pretokenized(const nlohmann::json& record, std::int64_t vocab_size);

}  // namespace talon::data
