#include "talon/util/utf8.h"

#include <gtest/gtest.h>

using talon::util::find_invalid_utf8;
using talon::util::repair_utf8;

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsUnchanged) {
  std::string text = "a\u00e9\u4e2d\U0001F600 \t\n";
  EXPECT_EQ(find_invalid_utf8(text), std::string::npos);
  EXPECT_EQ(repair_utf8(text), text);
}

// The worked example of the Unicode Standard, section 3.9 (Table 3-8):
// 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 -> a FFFD FFFD FFFD b FFFD c FFFD FFFD d
TEST(Utf8, UnicodeStandardTable3_8) {
  std::string in = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  std::string want = "a" + kFFFD + kFFFD + kFFFD + "b" + kFFFD + "c" + kFFFD + kFFFD + "d";
  EXPECT_EQ(repair_utf8(in), want);
  EXPECT_EQ(find_invalid_utf8(in), 1u);
}

TEST(Utf8, SurrogatesOverlongsAndOutOfRange) {
  EXPECT_EQ(repair_utf8("\xED\xA0\x80"), kFFFD + kFFFD + kFFFD);  // U+D800: ED then two strays
  EXPECT_EQ(repair_utf8("\xC0\xAF"), kFFFD + kFFFD);              // overlong '/'
  EXPECT_EQ(repair_utf8("\xE0\x80\xAF"), kFFFD + kFFFD + kFFFD);  // overlong, E0 needs A0..BF
  EXPECT_EQ(repair_utf8("\xF4\x90\x80\x80"), kFFFD + kFFFD + kFFFD + kFFFD);  // > U+10FFFF
  EXPECT_EQ(repair_utf8("\xF5"), kFFFD);
  EXPECT_EQ(repair_utf8("x\xE4\xB8"), "x" + kFFFD);  // truncated at the end: one FFFD
}

TEST(Utf8, AppendEncodesEveryLength) {
  std::string out;
  for (char32_t cp : {U'A', U'\u00e9', U'\u4e2d', U'\U0001F600'}) talon::util::append_utf8(out, cp);
  EXPECT_EQ(out, "A\u00e9\u4e2d\U0001F600");
}

// decode_code_point inverts append_utf8 at every length boundary.
TEST(Utf8, DecodeInvertsAppend) {
  for (char32_t cp : {U'\0', U'\x7F', U'\x80', U'\u07FF', U'\u0800', U'\uD7FF', U'\uE000', U'\uFFFF',
                      U'\U00010000', U'\U0010FFFF'}) {
    std::string text = "x";
    talon::util::append_utf8(text, cp);
    talon::util::CodePoint decoded = talon::util::decode_code_point(text, 1);
    EXPECT_EQ(decoded.value, cp);
    EXPECT_EQ(decoded.length, text.size() - 1);
  }
}
