// talon::text::nfc (normalizes only the runs NFC can change) against
// utf8proc_NFC on the whole string, its slow twin, and against Hugging Face's
// NFC for every code point (tests/data/tokenizer/hf_nfc.json, made by
// scripts/goldens/make_unicode_goldens.py).
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "talon/text/nfc.h"
#include "talon/util/utf8.h"

namespace {

std::string reference_nfc(const std::string& text) {
  utf8proc_uint8_t* out = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(text.c_str()));
  std::string result(reinterpret_cast<const char*>(out));
  std::free(out);
  return result;
}

std::string nfc(const std::string& text) {
  std::string buffer;
  return std::string(talon::text::nfc(text, buffer));
}

TEST(Nfc, KnownCompositions) {
  EXPECT_EQ(nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(nfc("\u212B"), "\u00c5");                // Angstrom sign, a singleton
  EXPECT_EQ(nfc("\u212A"), "K");                     // Kelvin sign
  EXPECT_EQ(nfc("\u1100\u1161\u11A8"), "\uac01");    // Hangul L V T
  EXPECT_EQ(nfc("q\u0307\u0323"), "q\u0323\u0307");  // reordered by combining class
  EXPECT_EQ(nfc("a\u0308\u0304bc"),
            "\u01df"
            "bc");                           // two steps of composition
  EXPECT_EQ(nfc("\u0958"), "\u0915\u093c");  // composition exclusion
  EXPECT_EQ(nfc("plain ASCII"), "plain ASCII");
}

// Random strings mixing code points NFC acts on (marks of several classes,
// jamo, singletons, excluded compositions) with letters, ASCII and uniformly
// random code points (except the marks Hugging Face's tables lack, on which
// Talon deliberately differs from utf8proc; see the next test).
TEST(Nfc, EqualsUtf8procOnRandomText) {
  const std::vector<char32_t> pool = {
      'a',    'e',    'o',    'u',    'A',    'K',    ' ',     '\n',    0x00e9,  0x00c5,  0x0300,
      0x0301, 0x0302, 0x0308, 0x0304, 0x0323, 0x0327, 0x0328,  0x031b,  0x0345,  0x05b0,  0x05bc,
      0x0650, 0x0654, 0x093c, 0x094d, 0x0958, 0x09be, 0x09c7,  0x0b3e,  0x0b47,  0x0cd5,  0x0cc6,
      0x0dca, 0x0dd9, 0x0f71, 0x0f72, 0x0f80, 0x102e, 0x1025,  0x1100,  0x1112,  0x1161,  0x1175,
      0x11a8, 0x11c2, 0xac00, 0xac01, 0xd7a3, 0x212b, 0x2126,  0x212a,  0xf900,  0x2f800, 0x1e0a,
      0x1fbe, 0x0344, 0x0f73, 0x3099, 0x304b, 0x30cf, 0x1d15e, 0x110ba, 0x11127, 0x1e94a, 0x0f75};
  std::mt19937 rng(1234);
  std::string text;
  for (int n = 0; n < 20000; ++n) {
    text.clear();
    for (int k = 1 + static_cast<int>(rng() % 24); k > 0; --k) {
      char32_t c = pool[rng() % pool.size()];
      if (rng() % 4 == 0) {
        do c = rng() % 0x110000;
        while ((c >= 0xD800 && c <= 0xDFFF) || talon::text::is_mark_unknown_to_hf(c));
      }
      talon::util::append_utf8(text, c);
    }
    ASSERT_EQ(nfc(text), reference_nfc(text)) << "case " << n;
  }
}

// Every code point in each context of the golden file: Talon's NFC equals
// Hugging Face's (listed where it changes the text, else the text itself).
TEST(Nfc, EqualsHuggingFaceForEveryCodePoint) {
  std::ifstream in(std::string(TALON_TEST_DATA) + "/tokenizer/hf_nfc.json");
  auto golden = nlohmann::json::parse(in);
  std::map<std::pair<int, char32_t>, std::string> changed;
  for (const auto& entry : golden["changed"]) changed[{entry[0], entry[1]}] = entry[2];
  ASSERT_GT(changed.size(), 1000u);
  const auto& contexts = golden["contexts"];
  std::string text;
  int mismatches = 0;
  for (int k = 0; k < static_cast<int>(contexts.size()); ++k) {
    std::string before = contexts[k][0], after = contexts[k][1];
    for (char32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      text = before;
      talon::util::append_utf8(text, c);
      text += after;
      auto it = changed.find({k, c});
      const std::string& want = it == changed.end() ? text : it->second;
      if (nfc(text) != want && ++mismatches <= 10) ADD_FAILURE() << "context " << k << " U+" << std::hex << c;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
