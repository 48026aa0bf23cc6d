// Pre-tokenized lines ({"input_ids": [...], "loss_mask": [...]}, SpecForge's
// shape) in `talon prepare` and `talon train`: a sample is exactly the line
// after --max-length and the last-token rule, a conversation written out as
// its tokens prepares and trains to the same result, every bad line is
// refused naming file:line and the field, and a dataset of such lines suits
// a run with any chat template.
#include <gtest/gtest.h>

#include <filesystem>

#include "talon/data/prepare.h"
#include "talon/data/pretokenized.h"
#include "talon/data/sample_builder.h"
#include "talon/data/vocab_mapping.h"
#include "talon/text/conversation.h"
#include "talon/util/atomic_file.h"
#include "prepare_fixture.h"
#include "train_fixture.h"

namespace fs = std::filesystem;
using namespace talon;
using nlohmann::json;

namespace {

const std::string& kTokenizer = talon::testing::kLlamaTokenizerDir;
constexpr std::int64_t kLlamaVocab = 128256;

std::string pretokenized_line(const std::vector<std::int32_t>& ids, const std::vector<std::uint8_t>& mask) {
  return json{{"input_ids", ids}, {"loss_mask", mask}}.dump();
}

// Brief §2 stated naively: the first max_length tokens, the last one out of
// the loss.
data::TokenizedSample expected_sample(std::vector<std::int32_t> ids, std::vector<std::uint8_t> mask,
                                      std::size_t max_length) {
  data::TokenizedSample s;
  for (std::size_t t = 0; t < ids.size() && t < max_length; ++t) {
    s.input_ids.push_back(ids[t]);
    s.loss_mask.push_back(t + 1 == std::min(ids.size(), max_length) ? 0 : mask[t]);
  }
  s.truncated = ids.size() > max_length;
  return s;
}

class PretokenizedTest : public talon::testing::PrepareFixture {
 protected:
  PretokenizedTest() : PrepareFixture(6, 8) {}
};

}  // namespace

TEST_F(PretokenizedTest, SamplesAreTheGivenIdsAndMasksAfterMaxLengthAndTheLastTokenRule) {
  struct Line {
    std::string json;
    std::vector<std::int32_t> ids;
    std::vector<std::uint8_t> mask;
  };
  // --vocab-size above the tokenizer's (a padded embedding): ids up to it are the target's.
  const std::int64_t vocab = kLlamaVocab + 44;
  const std::vector<Line> lines = {
      {"", {128000, 9906, 11, 1917, 0}, {0, 0, 1, 1, 1}},
      {"", {5, 6, 7, 8, 9, 10, 11, 12}, {0, 1, 1, 0, 1, 1, 1, 1}},  // cut to 6
      // SpecForge's [1, n] shape and booleans; other keys are ignored.
      {R"({"id": "x", "input_ids": [[3, 1, 4, 1, 5]], "loss_mask": [[false, true, true, false, true]]})",
       {3, 1, 4, 1, 5},
       {0, 1, 1, 0, 1}},
      {"", {0, static_cast<std::int32_t>(vocab - 1), 2}, {1, 1, 0}},
  };
  std::vector<std::string> text;
  for (const Line& l : lines) text.push_back(l.json.empty() ? pretokenized_line(l.ids, l.mask) : l.json);
  auto o = options({write("in.jsonl", text)}, "out");
  o.vocab_size = vocab;
  const data::PrepareReport report = data::prepare_dataset(o);

  const auto ds = data::PreparedDataset::open(o.output_dir);
  ASSERT_EQ(ds.size(), lines.size());
  std::uint64_t tokens = 0, supervised = 0, truncated = 0;
  data::VocabCounter counter(vocab);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const data::TokenizedSample want = expected_sample(lines[i].ids, lines[i].mask, 6);
    const data::SampleView got = ds.sample(i);
    EXPECT_EQ(std::vector<std::int32_t>(got.input_ids, got.input_ids + got.length), want.input_ids) << "line " << i + 1;
    EXPECT_EQ(std::vector<std::uint8_t>(got.loss_mask, got.loss_mask + got.length), want.loss_mask) << "line " << i + 1;
    tokens += want.input_ids.size();
    supervised += want.supervised();
    truncated += want.truncated;
    counter.add(want.input_ids.data(), want.loss_mask.data(), want.input_ids.size());
  }
  EXPECT_EQ(report.samples, lines.size());
  EXPECT_EQ(report.pretokenized, lines.size());
  EXPECT_EQ(report.tokens, tokens);
  EXPECT_EQ(report.supervised_tokens, supervised);
  EXPECT_EQ(report.truncated, truncated);
  EXPECT_EQ(truncated, 1u);
  const auto mapping = data::VocabMapping::load(ds.vocab_mapping_path());
  const auto want_mapping = data::VocabMapping::build(counter, 8);
  EXPECT_EQ(mapping.d2t, want_mapping.d2t);
  EXPECT_EQ(mapping.t2d, want_mapping.t2d);

  const json& header = ds.header();
  EXPECT_EQ(header["stats"]["pretokenized_samples"], lines.size());
  EXPECT_TRUE(header["provenance"]["chat_template"].is_null()) << header.dump();
  EXPECT_TRUE(header["provenance"]["chat_template_fingerprint"].is_null()) << header.dump();
  EXPECT_EQ(header["provenance"]["vocab_size"], vocab);
}

// The same conversations as Talon renders and tokenizes them, written out as
// tokens: the same dataset, byte for byte, including truncation at
// --max-length and the draft vocabulary.
TEST_F(PretokenizedTest, AConversationWrittenAsItsTokensPreparesToTheSameDataset) {
  const std::string conversations = scratch_.write("conv.jsonl", talon::testing::first_conversations(12));
  auto as_conversations = options({conversations}, "conv");
  as_conversations.max_length = 96;
  as_conversations.draft_vocab_size = 300;
  const data::PrepareReport from_conversations = data::prepare_dataset(as_conversations);
  ASSERT_GT(from_conversations.truncated, 0u) << "the test means to cover truncation";

  const auto tok = text::Tokenizer::load(kTokenizer);
  const auto tmpl = text::resolve_template({"llama3"}, "");
  const data::SampleBuilder whole(tok, tmpl, std::nullopt, 1 << 20);  // untruncated: prepare cuts
  std::vector<std::string> lines;
  for (const json& record : talon::testing::read_jsonl(conversations)) {
    const data::TokenizedSample s = whole.build(text::parse_conversation(record));
    lines.push_back(pretokenized_line(s.input_ids, s.loss_mask));
  }
  auto as_tokens = options({write("tokens.jsonl", lines)}, "tokens");
  as_tokens.max_length = 96;
  as_tokens.draft_vocab_size = 300;
  const data::PrepareReport from_tokens = data::prepare_dataset(as_tokens);

  EXPECT_EQ(from_tokens.samples, from_conversations.samples);
  EXPECT_EQ(from_tokens.pretokenized, from_tokens.samples);
  EXPECT_EQ(from_conversations.pretokenized, 0u);
  EXPECT_EQ(from_tokens.truncated, from_conversations.truncated);
  EXPECT_EQ(from_tokens.supervised_tokens, from_conversations.supervised_tokens);
  for (const char* f : {"input_ids.bin", "loss_mask.bin", "offsets.bin", "vocab_mapping.safetensors"}) {
    EXPECT_EQ(util::read_file(as_tokens.output_dir + "/" + f), util::read_file(as_conversations.output_dir + "/" + f))
        << f;
  }
}

// Training compares a dataset's provenance with its own settings: the
// template fields only where a template shaped the samples.
TEST_F(PretokenizedTest, ADatasetOfPretokenizedLinesSuitsAnyTemplateButNotAnotherVocabularyOrLength) {
  const std::string tokens = write("tokens.jsonl", {pretokenized_line({1, 2, 3}, {0, 1, 1})});
  const auto o = options({tokens}, "tokens");
  data::prepare_dataset(o);
  const auto ds = data::PreparedDataset::open(o.output_dir);
  const auto tok = text::Tokenizer::load(kTokenizer);
  const auto qwen = text::resolve_template({"qwen"}, "");
  ds.check_compatible(data::make_provenance(tok, qwen, std::string("another prompt"), 6, kLlamaVocab));
  auto reuse = o;
  reuse.chat_template.name = "qwen";
  EXPECT_TRUE(data::is_prepared_from(ds, reuse, data::make_provenance(tok, qwen, std::nullopt, 6, kLlamaVocab)));
  talon::testing::expect_error(
      [&] { ds.check_compatible(data::make_provenance(tok, qwen, std::nullopt, 8, kLlamaVocab + 1)); },
      {o.output_dir + ": prepared with different settings; vocab_size is 128256 but this run uses 128257; "
                      "max_length is 6 but this run uses 8"});

  // One conversation among them: the template shaped that sample.
  const std::string mixed = write("mixed.jsonl", {pretokenized_line({1, 2, 3}, {0, 1, 1}),
                                                  R"({"messages": [{"role": "user", "content": "Hi"}, )"
                                                  R"({"role": "assistant", "content": "Hello"}]})"});
  auto m = options({mixed}, "mixed");
  m.max_length = 512;  // past llama3's default system prompt
  const data::PrepareReport report = data::prepare_dataset(m);
  EXPECT_EQ(report.samples, 2u);
  EXPECT_EQ(report.pretokenized, 1u);
  const auto mixed_ds = data::PreparedDataset::open(m.output_dir);
  EXPECT_EQ(mixed_ds.header()["provenance"]["chat_template"], "llama3");
  talon::testing::expect_error(
      [&] { mixed_ds.check_compatible(data::make_provenance(tok, qwen, std::nullopt, 512, kLlamaVocab)); },
      {"chat template is llama3 but this run uses qwen"});
}

TEST_F(PretokenizedTest, BadLinesNameFileLineAndField) {
  struct Case {
    std::string line, reason;
  };
  const std::vector<Case> cases = {
      {R"({"input_ids": [1, 2], "loss_mask": [0, 1], "messages": [{"role": "user", "content": "x"}]})",
       "record has both 'input_ids' (pre-tokenized) and 'messages' (a conversation); expected one or the other"},
      {R"({"loss_mask": [0, 1], "conversations": []})",
       "record has both 'loss_mask' (pre-tokenized) and 'conversations' (a conversation); expected one or the "
       "other"},
      {R"({"text": "hello"})",
       "record has none of 'messages' or 'conversations' (a conversation), 'input_ids' and 'loss_mask' "
       "(pre-tokenized)"},
      {R"({"input_ids": [1, 2]})", "missing field \"loss_mask\""},
      {R"({"loss_mask": [0, 1]})", "missing field \"input_ids\""},
      {R"({"input_ids": "1 2", "loss_mask": [0, 1]})",
       "field \"input_ids\": expected an array of token ids, found \"1 2\""},
      {R"({"input_ids": [1, 2], "loss_mask": {"a": 1}})",
       "field \"loss_mask\": expected an array of 0 and 1, found {\"a\":1}"},
      {R"({"input_ids": [], "loss_mask": []})", "field \"input_ids\": expected at least one token id, found []"},
      {R"({"input_ids": [1, 2, 3], "loss_mask": [0, 1]})",
       "field \"loss_mask\": expected 3 values, one per entry of input_ids, found 2"},
      {R"({"input_ids": [1, 128256], "loss_mask": [0, 1]})",
       "field \"input_ids[1]\": expected a token id in [0, 128256), found 128256"},
      {R"({"input_ids": [-1, 2], "loss_mask": [0, 1]})",
       "field \"input_ids[0]\": expected a token id in [0, 128256), found -1"},
      {R"({"input_ids": [1, 2.0], "loss_mask": [0, 1]})",
       "field \"input_ids[1]\": expected a token id in [0, 128256), found 2.0"},
      {R"({"input_ids": [true, 2], "loss_mask": [0, 1]})",
       "field \"input_ids[0]\": expected a token id in [0, 128256), found true"},
      {R"({"input_ids": [[1, 2], [3, 4]], "loss_mask": [0, 1]})",
       "field \"input_ids[0]\": expected a token id in [0, 128256), found [1,2]"},
      {R"({"input_ids": [[1, 99999999999]], "loss_mask": [[0, 1]]})",
       "field \"input_ids[0][1]\": expected a token id in [0, 128256), found 99999999999"},
      {R"({"input_ids": [1, 2], "loss_mask": [0, 2]})", "field \"loss_mask[1]\": expected 0 or 1, found 2"},
      {R"({"input_ids": [1, 2], "loss_mask": [0, 1.0]})", "field \"loss_mask[1]\": expected 0 or 1, found 1.0"},
  };
  // The reader's message for each, exactly (loading the tokenizer per case would take seconds).
  for (const Case& c : cases) {
    EXPECT_EQ(talon::testing::error_of([&] {
                const json record = json::parse(c.line);
                if (data::is_pretokenized(record)) data::read_pretokenized(record, kLlamaVocab);
              }),
              c.reason);
  }
  // prepare puts file:line before it; with --skip-invalid each bad line is counted.
  const std::string good = pretokenized_line({1, 2, 3}, {0, 1, 1});
  std::vector<std::string> lines = {good};
  for (const Case& c : cases) lines.push_back(c.line);
  const std::string in = write("bad.jsonl", lines);
  EXPECT_EQ(talon::testing::error_of([&] { data::prepare_dataset(options({in}, "out")); }),
            in + ":2: " + cases[0].reason);
  EXPECT_FALSE(fs::exists(scratch_.path() / "out")) << "nothing is written on error";
  auto o = options({in}, "out");
  o.skip_invalid = true;
  const data::PrepareReport r = data::prepare_dataset(o);
  EXPECT_EQ(r.invalid.count, cases.size());
  EXPECT_EQ(r.invalid.first, in + ":2: " + cases[0].reason);
  EXPECT_EQ(r.samples, 1u);

  const std::string cli_in = write("cli.jsonl", {good, cases[9].line});
  const auto run = talon::testing::run_talon("prepare --quiet --train-data-path " + cli_in + " --tokenizer " +
                                             kTokenizer + " --chat-template llama3 --output-dir " +
                                             scratch_.file("cli"));
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("talon: error: " + cli_in + ":2: " + cases[9].reason + "\n"), std::string::npos) << run.out;
}

TEST_F(PretokenizedTest, LinesWithoutASupervisedTokenAreDroppedByCause) {
  const std::vector<std::string> lines = {
      pretokenized_line({1, 2, 3}, {0, 0, 0}),
      pretokenized_line({1, 2, 3, 4, 5, 6, 7, 8}, {0, 0, 0, 0, 0, 1, 1, 1}),  // max_length 6 keeps one 1, the last
      pretokenized_line({1, 2, 3}, {0, 0, 1}),
  };
  const std::vector<std::string> causes = {
      "pre-tokenized with no 1 in loss_mask",
      "pre-tokenized whose supervised tokens all lie beyond --max-length 6",
      "pre-tokenized whose only supervised token is the last, which has no next token",
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string in = write("one.jsonl", {lines[i]});
    EXPECT_EQ(talon::testing::error_of([&] { data::prepare_dataset(options({in}, "out")); }),
              "no usable samples in the input (1 lines read): 1 " + causes[i] + " (first " + in + ":1)");
  }
  std::vector<std::string> with_one = lines;
  with_one.push_back(pretokenized_line({1, 2, 3}, {0, 1, 1}));
  const auto o = options({write("all.jsonl", with_one)}, "out");
  const data::PrepareReport r = data::prepare_dataset(o);
  EXPECT_EQ(r.samples, 1u);
  EXPECT_EQ(r.dropped_unsupervised(), 3u);
  EXPECT_EQ(data::PreparedDataset::open(o.output_dir).header()["stats"]["dropped_unsupervised"], 3);
}

// `talon train` on the tokens of the conversations, under another chat
// template, trains exactly as on the conversations.
TEST(PretokenizedTrain, TrainsAsOnTheConversationsTheyCameFrom) {
  talon::testing::Fixture f(6);
  f.epochs = 1;  // 3 steps
  const std::string from_conversations = f.tmp.file("conv");
  auto run = talon::testing::run_talon(f.args(from_conversations));
  ASSERT_EQ(run.status, 0) << run.out;

  const auto prepared = data::PreparedDataset::open(from_conversations + "/prepared/train");
  std::string lines;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    const data::SampleView s = prepared.sample(i);
    lines += pretokenized_line({s.input_ids, s.input_ids + s.length}, {s.loss_mask, s.loss_mask + s.length}) + "\n";
  }
  const std::string tokens = f.tmp.write("tokens.jsonl", lines);
  std::string args = f.train_args("--train-data-path " + tokens, f.tmp.file("tokens"));
  const std::string llama3 = "--chat-template llama3";
  args.replace(args.find(llama3), llama3.size(), "--chat-template " + f.other_template());
  run = talon::testing::run_talon(args);
  ASSERT_EQ(run.status, 0) << run.out;
  talon::testing::expect_same_training(f.tmp.file("tokens"), from_conversations);
}
