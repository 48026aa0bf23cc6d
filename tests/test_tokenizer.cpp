// Talon's byte-level BPE against Hugging Face's tokenizers: every golden line
// made by scripts/goldens/make_tokenizer_goldens.py (encode without and with
// special tokens, decode, decode of random ids) for Llama-3.1, Qwen3 and two
// synthetic tokenizers; count_prefix_tokens against naive prefix encoding;
// the translated regex classes against Oniguruma's for every code point;
// thread safety; and load errors.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "talon/text/byte_level.h"
#include "talon/text/chat_template.h"
#include "talon/text/incremental_encoding.h"
#include "talon/text/regex.h"
#include "talon/text/tokenizer.h"
#include "talon/text/unicode_classes.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/utf8.h"
#include "test_support.h"

namespace {

using talon::text::Tokenizer;
using Json = nlohmann::json;
using Ids = std::vector<std::int32_t>;
using talon::testing::read_jsonl;

const std::string kData = std::string(TALON_TEST_DATA) + "/tokenizer";

std::string model_dir(const std::string& name) {
  if (name == "llama3_1" || name == "qwen3") return std::string(TALON_FIXTURES) + "/tokenizers/" + name;
  return kData + "/synthetic/" + name;
}

std::string golden_path(const std::string& name) {
  if (name == "llama3_1" || name == "qwen3") return kData + "/" + name + ".golden.jsonl";
  return kData + "/synthetic/" + name + "/golden.jsonl";
}

const Tokenizer& tokenizer(const std::string& name) {
  static std::map<std::string, Tokenizer> loaded;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(name);
  if (it == loaded.end()) it = loaded.emplace(name, Tokenizer::load(model_dir(name))).first;
  return it->second;
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// The corpus as raw bytes (invalid UTF-8 kept as is).
const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    for (const Json& entry : read_jsonl(kData + "/corpus.jsonl")) {
      out.push_back(entry.contains("text") ? entry["text"].get<std::string>() : unhex(entry["bytes_hex"]));
    }
    return out;
  }();
  return texts;
}

std::string show(const Ids& ids) { return Json(ids).dump(); }

class Goldens : public ::testing::TestWithParam<std::string> {};

TEST_P(Goldens, MatchHuggingFace) {
  const Tokenizer& t = tokenizer(GetParam());
  int lines = 0, random = 0, failures = 0;
  for (const Json& g : read_jsonl(golden_path(GetParam()))) {
    std::string skip_want = g.value("decoded_skip", g["decoded"].get<std::string>());
    if (g.contains("random_ids")) {
      Ids ids = g["random_ids"];
      EXPECT_EQ(t.decode(ids), g["decoded"].get<std::string>()) << "random ids " << show(ids);
      EXPECT_EQ(t.decode(ids, true), skip_want) << "random ids " << show(ids);
      ++random;
      continue;
    }
    std::size_t line = g["line"];
    const std::string& text = corpus().at(line);
    Ids ids = t.encode(text), ids_special = t.encode(text, true);
    bool ok = ids == g["ids"].get<Ids>() && ids_special == g["ids_special"].get<Ids>() &&
              t.decode(ids) == g["decoded"].get<std::string>() && t.decode(ids_special, true) == skip_want;
    if (!ok && ++failures <= 5) {
      ADD_FAILURE() << GetParam() << " corpus line " << line << " " << Json(talon::util::repair_utf8(text)).dump()
                    << "\n  ids  " << show(ids) << "\n  want " << g["ids"].dump() << "\n  special " << show(ids_special)
                    << "\n  want    " << g["ids_special"].dump() << "\n  decoded " << Json(t.decode(ids)).dump()
                    << "\n  want    " << g["decoded"].dump();
    }
    ++lines;
  }
  EXPECT_EQ(failures, 0) << "corpus lines that differ from Hugging Face, out of " << lines;
  EXPECT_GT(lines, 500);
  EXPECT_EQ(random, 300);
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, Goldens, ::testing::Values("llama3_1", "qwen3", "gpt2_style", "nfc_split"));

TEST(Tokenizer, CorpusHasTheRequiredSize) {
  EXPECT_GE(corpus().size(), 2000u);
  std::size_t invalid = 0;
  for (const auto& text : corpus()) invalid += !talon::util::is_valid_utf8(text);
  EXPECT_GE(invalid, 100u);
}

// Cuts at code point boundaries of a valid text, ascending, with both ends.
std::vector<std::size_t> random_cuts(const std::string& text, std::mt19937& rng, int count) {
  std::vector<std::size_t> boundaries;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) boundaries.push_back(i);
  }
  std::vector<std::size_t> cuts{0, text.size()};
  for (int k = 0; k < count; ++k) cuts.push_back(boundaries[rng() % boundaries.size()]);
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

class PrefixCounts : public ::testing::TestWithParam<std::string> {};

TEST_P(PrefixCounts, EqualNaivePrefixEncoding) {
  const Tokenizer& t = tokenizer(GetParam());
  std::mt19937 rng(42);
  int checked = 0;
  for (std::size_t line = 0; line < corpus().size(); ++line) {
    const std::string& text = corpus()[line];
    if (text.size() > 3000 || line % 3 != 0) continue;
    std::vector<std::size_t> cuts;
    if (talon::util::is_valid_utf8(text)) {
      cuts = random_cuts(text, rng, 4);
    } else {
      cuts = {0, text.size() / 2, text.size()};  // any byte offset: repaired per prefix
    }
    std::vector<std::size_t> counts = t.count_prefix_tokens(text, cuts);
    ASSERT_EQ(counts.size(), cuts.size());
    for (std::size_t k = 0; k < cuts.size(); ++k) {
      std::size_t naive = t.encode(text.substr(0, cuts[k])).size();
      ASSERT_EQ(counts[k], naive) << GetParam() << " line " << line << " cut " << cuts[k] << " of "
                                  << Json(talon::util::repair_utf8(text)).dump();
      ++checked;
    }
  }
  EXPECT_GT(checked, 1500);
}

// Cuts inside special tokens, right after them and inside runs of them.
TEST_P(PrefixCounts, CutsAroundAddedTokens) {
  const Tokenizer& t = tokenizer(GetParam());
  std::string text =
      "<|im_start|>user\nhello [MASK]  <pad>  x<tok> y hello<|eot_id|><|eot_id|>  <|begin_of_text|>Å A\u030A "
      "<think>\n</think>\n\n<|im_end|>\n";
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) cuts.push_back(i);
  }
  std::vector<std::size_t> counts = t.count_prefix_tokens(text, cuts);
  for (std::size_t k = 0; k < cuts.size(); ++k) {
    ASSERT_EQ(counts[k], t.encode(text.substr(0, cuts[k])).size()) << GetParam() << " cut " << cuts[k];
  }
}

// An encoding kept across edits at the text's end (cuts anywhere, inside
// added tokens and code points too, then appends) equals encode afresh.
TEST_P(PrefixCounts, IncrementalEncodingEqualsEncode) {
  const Tokenizer& t = tokenizer(GetParam());
  talon::text::IncrementalEncoding incremental(t);
  const std::vector<std::string> pieces = {"<|im_start|>user\nhello [MASK]  <pad>  x",
                                           "<tok> y hello<|eot_id|>",
                                           "<|eot_id|>  <|begin_of_text|>\u00c5 A\u030A ",
                                           "<think>\n</think>\n\n<|im_end|>\n",
                                           " plain words, 12345 ",
                                           "\xff bad byte"};
  std::mt19937 rng(7);
  std::string text;
  for (int step = 0; step < 400; ++step) {
    const std::size_t cut = rng() % 3 == 0 ? rng() % (text.size() + 1) : text.size();
    const std::string& piece = pieces[rng() % pieces.size()];
    text = text.substr(0, cut) + piece.substr(0, rng() % 4 == 0 ? rng() % (piece.size() + 1) : piece.size());
    ASSERT_EQ(incremental.encode(text), t.encode(text)) << GetParam() << " step " << step << " "
                                                        << Json(talon::util::repair_utf8(text)).dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, PrefixCounts, ::testing::Values("llama3_1", "qwen3", "gpt2_style", "nfc_split"));

// A conversation rendered again after each turn re-encodes only the text
// after its last turn: a constant per turn, not the conversation's length.
TEST(Tokenizer, IncrementalEncodingOfAGrowingConversationReencodesTheLastTurn) {
  const Tokenizer& t = tokenizer("llama3_1");
  const talon::text::ChatTemplate& llama3 = talon::text::builtin_template("llama3");
  talon::text::IncrementalEncoding incremental(t);
  talon::text::Conversation conversation;
  for (int turn = 0; turn < 60; ++turn) {
    conversation.push_back({talon::text::Role::User, "question " + std::to_string(turn), std::nullopt});
    const std::string text = llama3.render(conversation) + llama3.assistant.header;
    ASSERT_EQ(incremental.encode(text), t.encode(text)) << "turn " << turn;
    if (turn > 0) EXPECT_LT(incremental.last_encoded_bytes(), 200u) << "turn " << turn << " of " << text.size();
    conversation.push_back({talon::text::Role::Assistant, "answer " + std::to_string(turn) + ".", std::nullopt});
  }
}

TEST(Tokenizer, PrefixCountsRejectBadCuts) {
  const Tokenizer& t = tokenizer("llama3_1");
  EXPECT_THROW(t.count_prefix_tokens("abc", {2, 1}), talon::Error);
  EXPECT_THROW(t.count_prefix_tokens("abc", {4}), talon::Error);
  EXPECT_THROW(t.count_prefix_tokens("\u00e9", {1}), talon::Error);  // inside a code point
  EXPECT_TRUE(t.count_prefix_tokens("abc", {}).empty());
}

TEST(Tokenizer, DecodeInvertsEncodeWithoutNormalizer) {
  const Tokenizer& t = tokenizer("llama3_1");
  for (const std::string& text : corpus()) {
    ASSERT_EQ(t.decode(t.encode(text)), talon::util::repair_utf8(text));
  }
}

TEST(Tokenizer, ThreadsEncodeConcurrently) {
  const Tokenizer& t = tokenizer("qwen3");
  std::vector<Ids> serial;
  for (const std::string& text : corpus()) serial.push_back(t.encode(text));
  auto run = [&](bool reversed, std::vector<Ids>& out) {
    out.resize(corpus().size());
    for (std::size_t k = 0; k < corpus().size(); ++k) {
      std::size_t i = reversed ? corpus().size() - 1 - k : k;
      out[i] = t.encode(corpus()[i]);
    }
  };
  std::vector<Ids> a, b;
  std::thread first(run, false, std::ref(a)), second(run, true, std::ref(b));
  first.join();
  second.join();
  EXPECT_EQ(a, serial);
  EXPECT_EQ(b, serial);
}

TEST(Tokenizer, VocabularyFacts) {
  const Tokenizer& llama = tokenizer("llama3_1");
  EXPECT_EQ(llama.vocab_size(), 128256);
  EXPECT_EQ(llama.token_to_id("<|eot_id|>"), 128009);
  EXPECT_EQ(llama.token_to_id("Hello"), 9906);
  EXPECT_EQ(llama.token_to_id("no such token"), std::nullopt);
  EXPECT_EQ(llama.dir(), model_dir("llama3_1"));
  const Tokenizer& qwen = tokenizer("qwen3");
  EXPECT_EQ(qwen.vocab_size(), 151669);
  EXPECT_EQ(qwen.token_to_id("<|im_end|>"), 151645);
  EXPECT_EQ(qwen.token_to_id("<think>"), 151667);
}

TEST(Tokenizer, FingerprintHashesBothFiles) {
  std::string json = talon::util::read_file(model_dir("qwen3") + "/tokenizer.json");
  std::string config = talon::util::read_file(model_dir("qwen3") + "/tokenizer_config.json");
  std::string both = json + config;
  EXPECT_EQ(tokenizer("qwen3").fingerprint(), XXH64(both.data(), both.size(), 0));
  std::string llama = talon::util::read_file(model_dir("llama3_1") + "/tokenizer.json") +
                      talon::util::read_file(model_dir("llama3_1") + "/tokenizer_config.json");
  EXPECT_EQ(tokenizer("llama3_1").fingerprint(), XXH64(llama.data(), llama.size(), 0));
  std::string synthetic = talon::util::read_file(model_dir("gpt2_style") + "/tokenizer.json");  // no config
  EXPECT_EQ(tokenizer("gpt2_style").fingerprint(), XXH64(synthetic.data(), synthetic.size(), 0));
}

TEST(Tokenizer, DecodeRejectsUnknownIds) {
  const Tokenizer& t = tokenizer("llama3_1");
  for (std::int32_t id : {-1, 128256, 1 << 30}) {
    try {
      t.decode({1, id});
      ADD_FAILURE() << "no error for id " << id;
    } catch (const talon::Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(id)), std::string::npos) << e.what();
    }
  }
}

// tokenizer_config.json's add_bos_token / add_eos_token replace the
// template's prefix / suffix (transformers' update_post_processor); the
// synthetic gpt2_style template is "<s> $A </s>".
TEST(Tokenizer, ConfigOverridesSpecialTokens) {
  std::string json = talon::util::read_file(model_dir("gpt2_style") + "/tokenizer.json");
  const std::string text = "Hello there";
  Ids plain = Tokenizer::from_json(json, "", "gpt2").encode(text);
  std::int32_t bos = *tokenizer("gpt2_style").token_to_id("<s>"), eos = *tokenizer("gpt2_style").token_to_id("</s>");
  std::int32_t pad = *tokenizer("gpt2_style").token_to_id("<pad>");
  auto with = [&](const char* config) { return Tokenizer::from_json(json, config, "gpt2").encode(text, true); };
  Ids want = plain;
  want.insert(want.begin(), bos);
  want.push_back(eos);
  EXPECT_EQ(with(""), want);
  EXPECT_EQ(with("{}"), want);
  want.erase(want.begin());
  EXPECT_EQ(with(R"({"add_bos_token": false})"), want);
  want.pop_back();
  want.push_back(pad);
  EXPECT_EQ(with(R"({"add_bos_token": false, "add_eos_token": true, "eos_token": {"content": "<pad>"}})"), want);
  EXPECT_THROW(with(R"({"add_eos_token": true})"), talon::Error);
  EXPECT_THROW(with(R"({"add_eos_token": true, "eos_token": "<nope>"})"), talon::Error);
  EXPECT_THROW(with(R"({"add_bos_token": "yes"})"), talon::Error);
}

TEST(ByteLevel, TableIsGpt2s) {
  using namespace talon::text::byte_level;
  EXPECT_EQ(byte_to_char(' '), U'\u0120');
  EXPECT_EQ(byte_to_char('\n'), U'\u010A');
  EXPECT_EQ(byte_to_char('a'), U'a');
  EXPECT_EQ(byte_to_char(0xAD), U'\u0143');
  EXPECT_EQ(byte_to_char(0xFF), U'\u00FF');
  std::string bytes;
  for (unsigned b = 0; b < 256; ++b) {
    std::string byte(1, static_cast<char>(b));
    EXPECT_TRUE(token_to_bytes(bytes_to_token(byte), bytes));
    EXPECT_EQ(bytes, byte);
  }
  EXPECT_TRUE(token_to_bytes("\u0120hello", bytes));
  EXPECT_EQ(bytes, " hello");
  EXPECT_FALSE(token_to_bytes("<\u4e2d>", bytes));  // outside the table
  EXPECT_FALSE(token_to_bytes("\xC3", bytes));      // not UTF-8
}

// Every code point: Talon's PCRE2 translation of each class against the
// members Hugging Face's Oniguruma gives it (scripts/goldens/make_unicode_goldens.py).
TEST(OnigPattern, ClassesMatchOnigurumaForEveryCodePoint) {
  std::ifstream in(kData + "/onig_classes.json");
  Json classes = Json::parse(in);
  ASSERT_EQ(classes.size(), 11u);
  for (const auto& [pattern, ranges] : classes.items()) {
    auto regex = talon::text::Regex::onig(pattern, "test");
    std::vector<bool> want(0x110000, false);
    for (const auto& r : ranges) {
      for (std::uint32_t c = r[0]; c <= r[1].get<std::uint32_t>(); ++c) want[c] = true;
    }
    int mismatches = 0;
    std::string text;
    for (char32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      text.clear();
      talon::util::append_utf8(text, c);
      std::size_t begin, end;
      bool match = regex.find(text, 0, begin, end) && begin == 0 && end == text.size();
      if (match != want[c] && ++mismatches <= 5)
        ADD_FAILURE() << pattern << " U+" << std::hex << c << " talon " << match;
    }
    EXPECT_EQ(mismatches, 0) << pattern;
    if (pattern == "\\s") {  // the same set as a predicate, for added tokens' lstrip / rstrip
      for (char32_t c = 0; c < 0x110000; ++c) ASSERT_EQ(talon::text::is_white_space(c), want[c]) << std::hex << c;
    }
  }
}

TEST(OnigPattern, RejectsWhatPcre2CannotExpress) {
  for (const char* pattern : {"[\\S]", "[a\\P{L}]", "[^\\H]", "[a-z&&[^aeiou]]", "[a[bc]]", "[abc", "a\\"}) {
    EXPECT_THROW(talon::text::Regex::onig(pattern, "test"), talon::Error) << pattern;
  }
  EXPECT_NO_THROW(talon::text::Regex::onig("[[:alpha:]\\s]+|\\P{N}|[]a]|\\p{^L}", "test"));
}

// Load errors name the file and what is wrong.
void expect_load_error(const std::string& json, const std::string& needle) {
  try {
    Tokenizer::from_json(json, "", "dir/tokenizer.json");
    ADD_FAILURE() << "no error; wanted one containing " << needle;
  } catch (const talon::Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("dir/tokenizer.json"), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  }
}

std::string minimal_tokenizer(const std::string& model, const std::string& extra = "") {
  return R"({"version": "1.0", "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
            "decoder": {"type": "ByteLevel"}, )" +
         extra + R"("model": )" + model + "}";
}

TEST(TokenizerErrors, NameTheFileAndTheProblem) {
  const std::string bpe = R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
  EXPECT_NO_THROW(Tokenizer::from_json(minimal_tokenizer(bpe), "", "dir/tokenizer.json"));
  expect_load_error("{\"model\": ", "not valid JSON");
  expect_load_error("{\"version\": 1e999}", "not valid JSON");  // found by fuzzing: a number overflow
  // 10^5 nested arrays crashed the reader; at the limit the message shows 80 bytes.
  expect_load_error("{\"version\": " + talon::testing::nested_arrays() + "}",
                    "dir/tokenizer.json: nested deeper than 512 levels of arrays and objects (Talon's limit)");
  expect_load_error(minimal_tokenizer(R"({"type": )" + talon::testing::nested_arrays(510) + "}"),
                    "\"model.type\": expected a string, found " + std::string(80, '[') + "...");
  expect_load_error("[]", "expected an object");
  expect_load_error(minimal_tokenizer(R"({"type": "WordPiece", "vocab": {}})"), "model.type");
  expect_load_error(minimal_tokenizer(R"({"type": "WordPiece", "vocab": {}})"), "WordPiece");
  expect_load_error(minimal_tokenizer(R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]})"),
                    "merge \"a b\" references \"b\", which is not in the vocabulary");
  expect_load_error(minimal_tokenizer(R"({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]})"),
                    "references \"ab\"");
  expect_load_error(minimal_tokenizer(R"({"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []})"), "id 0");
  expect_load_error(minimal_tokenizer(R"({"type": "BPE", "vocab": {"a": -3}, "merges": []})"), "model.vocab.a");
  expect_load_error(minimal_tokenizer(R"({"type": "BPE", "vocab": {}})"), "missing field \"model.merges\"");
  expect_load_error(minimal_tokenizer(bpe, R"("normalizer": {"type": "Lowercase"},)"), "normalizer type \"Lowercase\"");
  expect_load_error(minimal_tokenizer(bpe, R"("post_processor": {"type": "BertProcessing"},)"), "BertProcessing");
  expect_load_error(R"({"pre_tokenizer": {"type": "Whitespace"}, "model": )" + bpe + "}", "Whitespace");
  expect_load_error(R"({"pre_tokenizer": null, "decoder": {"type": "ByteLevel"}, "model": )" + bpe + "}",
                    "expected a ByteLevel pre-tokenizer");
  expect_load_error(R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"},
                       "model": )" +
                        bpe + "}",
                    "cannot compile regex");
  expect_load_error(minimal_tokenizer(bpe, R"("added_tokens": [{"id": 3}],)"),
                    "missing field \"added_tokens[0].content\"");
}

TEST(TokenizerErrors, MissingFileNamesIt) {
  try {
    Tokenizer::load("/nonexistent/tokenizer/dir");
    ADD_FAILURE() << "no error";
  } catch (const talon::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer/dir/tokenizer.json"), std::string::npos) << e.what();
  }
}

}  // namespace
