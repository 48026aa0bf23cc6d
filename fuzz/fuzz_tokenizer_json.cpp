// Arbitrary bytes as "tokenizer.json [NUL tokenizer_config.json [NUL text]]"
// -> Tokenizer::from_json; when it loads, encode the text and a few fixed
// ones with and without special tokens, decode the ids, and count prefix
// tokens, checking the counts against prefix encodes. talon::Error is
// expected; a crash, a sanitizer report, another exception, a hang or a wrong
// count is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "talon/text/tokenizer.h"
#include "talon/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Splits off the part before the next NUL (all of the rest when none).
  auto next_part = [&input]() {
    std::size_t nul = input.find('\0');
    std::string_view part = input.substr(0, nul);
    input.remove_prefix(nul == std::string_view::npos ? input.size() : nul + 1);
    return part;
  };
  std::string_view json = next_part(), config = next_part(), fuzzed_text = input;
  try {
    auto tokenizer = talon::text::Tokenizer::from_json(json, config, "fuzz/tokenizer.json");
    for (std::string_view text :
         {fuzzed_text, std::string_view("Hello world, it's 2024!\n\n  x"), std::string_view("<s>a</s> <|eot_id|>b"),
          std::string_view("e\u0301\u212B 中文 \t"), std::string_view("\xff\xc3(ok)\xe2\x82")}) {
      std::vector<std::int32_t> ids = tokenizer.encode(text, true);
      std::vector<std::int32_t> plain = tokenizer.encode(text);
      try {
        tokenizer.decode(ids);
      } catch (const talon::Error&) {
        // A template may add ids that no token has.
      }
      try {
        tokenizer.decode(plain, true);  // every id encode makes has a token
      } catch (const talon::Error&) {
        __builtin_trap();
      }
      auto counts = tokenizer.count_prefix_tokens(text, {0, text.size()});
      if (counts[0] != 0 || counts[1] != plain.size()) __builtin_trap();
    }
  } catch (const talon::Error&) {
  }
  return 0;
}
