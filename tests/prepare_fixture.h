// What the `talon prepare` tests share: JSONL files written to a scratch
// directory, and options for the real Llama-3.1 tokenizer and template.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "talon/data/prepare.h"
#include "test_support.h"

namespace talon::testing {

class PrepareFixture : public ::testing::Test {
 protected:
  PrepareFixture(std::int64_t max_length, std::int64_t draft_vocab_size)
      : max_length_(max_length), draft_vocab_size_(draft_vocab_size) {}

  // `lines` joined by "\n", one at the end.
  std::string write(const std::string& name, const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    return scratch_.write(name, text);
  }

  data::PrepareOptions options(std::vector<std::string> inputs, const std::string& out) const {
    data::PrepareOptions o;
    o.inputs = std::move(inputs);
    o.output_dir = scratch_.file(out);
    o.tokenizer_dir = kLlamaTokenizerDir;
    o.chat_template.name = "llama3";
    o.max_length = max_length_;
    o.draft_vocab_size = draft_vocab_size_;
    o.show_progress = false;
    return o;
  }

  TempDir scratch_;

 private:
  std::int64_t max_length_, draft_vocab_size_;
};

}  // namespace talon::testing
