// Tokenizer's parts and the encoding pipeline shared by tokenizer.cpp and
// tokenizer_prefix.cpp. Not part of the public interface.
#pragma once

#include <string>
#include <vector>

#include "talon/text/added_vocabulary.h"
#include "talon/text/bpe.h"
#include "talon/text/decoder.h"
#include "talon/text/normalizer.h"
#include "talon/text/post_processor.h"
#include "talon/text/pre_tokenizer.h"
#include "talon/text/tokenizer.h"

namespace talon::text {

struct Tokenizer::Impl {
  std::string dir;
  std::uint64_t fingerprint = 0;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  Bpe model;
  AddedVocabulary added;
  PostProcessor post_processor;
  Decoder decoder;

  // Appends the ids of valid UTF-8 `text`, without special tokens.
  void encode_text(std::string_view text, std::vector<std::int32_t>& ids) const;
  // Appends the ids of one raw-text segment (no normalized=false token inside).
  void encode_segment(std::string_view segment, std::vector<std::int32_t>& ids) const;
};

}  // namespace talon::text
