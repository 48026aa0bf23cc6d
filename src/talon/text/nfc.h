// Unicode NFC (canonical composition) as Hugging Face's tokenizers computes
// it, through utf8proc: HF's tables are Unicode 9.0, so combining marks
// assigned since are left alone (see nfc.cpp). Most text is already NFC, so
// only the runs of code points that NFC could change are handed to utf8proc;
// the rest is copied, or the text returned as is.
#pragma once

#include <string>
#include <string_view>

namespace talon::text {

// NFC of valid UTF-8: `text` itself when no code point in it can change,
// otherwise a view of `buffer`, which receives the result.
std::string_view nfc(std::string_view text, std::string& buffer);

// Whether `cp` is a combining mark that Hugging Face's NFC tables (Unicode
// 9.0) do not have, so that HF's NFC leaves it and its neighbours alone.
bool is_mark_unknown_to_hf(char32_t cp);

}  // namespace talon::text
