// `talon prepare` end to end on the real Llama-3.1 tokenizer: the dataset
// holds what SampleBuilder makes of each line, output is deterministic, and
// bad input stops with file:line or is counted with --skip-invalid.
#include "talon/data/prepare.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "talon/data/sample_builder.h"
#include "talon/data/vocab_mapping.h"
#include "talon/text/conversation.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "prepare_fixture.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace talon;

namespace {

const std::string& kTokenizer = talon::testing::kLlamaTokenizerDir;

const std::vector<std::string> kGoodLines = {
    R"({"conversations": [{"from": "human", "value": "Hi there"}, {"from": "gpt", "value": "Hello! How can I help?"}]})",
    R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})",
    R"({"messages": [{"role": "user", "content": "Name a color."}, {"role": "assistant", "content": "Blue."}, {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Green."}]})",
};

class PrepareTest : public talon::testing::PrepareFixture {
 protected:
  PrepareTest() : PrepareFixture(512, 64) {}
  const fs::path& dir_ = scratch_.path();
};

}  // namespace

TEST_F(PrepareTest, DatasetHoldsTheBuiltSamplesInFileOrder) {
  std::string a = write("a.jsonl", {kGoodLines[0], "", kGoodLines[1]});
  std::string b = write("b.jsonl", {kGoodLines[2]});
  auto o = options({a, b}, "out");
  data::PrepareReport report = data::prepare_dataset(o);
  EXPECT_EQ(report.lines, 3u);
  EXPECT_EQ(report.samples, 3u);

  auto tok = text::Tokenizer::load(kTokenizer);
  auto tmpl = text::resolve_template({"llama3"}, kTokenizer);
  data::SampleBuilder builder(tok, tmpl, std::nullopt, 512);
  auto ds = data::PreparedDataset::open(o.output_dir);
  ASSERT_EQ(ds.size(), 3u);
  std::uint64_t tokens = 0, supervised = 0;
  data::VocabCounter counter(tok.vocab_size());
  for (std::size_t i = 0; i < 3; ++i) {
    auto want = builder.build(text::parse_conversation(nlohmann::json::parse(kGoodLines[i])));
    auto got = ds.sample(i);
    ASSERT_EQ(got.length, want.input_ids.size());
    EXPECT_TRUE(std::equal(want.input_ids.begin(), want.input_ids.end(), got.input_ids));
    EXPECT_TRUE(std::equal(want.loss_mask.begin(), want.loss_mask.end(), got.loss_mask));
    tokens += want.input_ids.size();
    supervised += want.supervised();
    counter.add(want.input_ids.data(), want.loss_mask.data(), want.input_ids.size());
  }
  EXPECT_EQ(report.tokens, tokens);
  EXPECT_EQ(report.supervised_tokens, supervised);
  EXPECT_EQ(ds.num_tokens(), tokens);

  auto mapping = data::VocabMapping::load(ds.vocab_mapping_path());
  EXPECT_EQ(mapping.used, data::VocabMapping::build(counter, 64).used);
  EXPECT_EQ(static_cast<std::int64_t>(mapping.t2d.size()), tok.vocab_size());

  ds.check_compatible(data::make_provenance(tok, tmpl, std::nullopt, 512, tok.vocab_size()));
  talon::testing::expect_error(
      [&] {
        ds.check_compatible(
            data::make_provenance(tok, text::resolve_template({"qwen"}, ""), std::nullopt, 1024, tok.vocab_size()));
      },
      {"chat template is llama3 but this run uses qwen", "max_length is 512 but this run uses 1024"});
}

TEST_F(PrepareTest, OutputIsByteIdenticalAcrossRunsAndThreadCounts) {
  std::vector<std::string> lines;
  for (int i = 0; i < 700; ++i) lines.push_back(kGoodLines[i % 3]);  // several chunks
  std::string in = write("in.jsonl", lines);
  auto one = options({in}, "one");
  one.num_threads = 1;
  auto two = options({in}, "two");
  two.num_threads = 2;
  data::prepare_dataset(one);
  data::prepare_dataset(two);
  data::prepare_dataset(two);  // replaces "two" in place
  for (const char* f : {"input_ids.bin", "loss_mask.bin", "offsets.bin", "vocab_mapping.safetensors", "header.json"}) {
    EXPECT_EQ(util::read_file(one.output_dir + "/" + f), util::read_file(two.output_dir + "/" + f)) << f;
  }
}

TEST_F(PrepareTest, BadLinesNameFileLineAndReason) {
  struct Case {
    std::string line, reason;
  };
  std::vector<Case> cases = {
      {R"({"conversations": [{"from": "human", "value": "x"})", "not valid JSON"},
      // 10^5 nested arrays: a crash before nesting was bounded.
      {R"({"messages": )" + talon::testing::nested_arrays() + "}",
       ":3: nested deeper than 512 levels of arrays and objects (Talon's limit)"},
      // nlohmann keeps the last of repeated keys; Talon refuses them.
      {R"({"messages": [{"role": "user", "role": "assistant", "content": "x"}]})",
       ":3: duplicate key \"role\" in \"messages\""},
      {R"({"messages": [{"role": "bot", "content": "x"}]})", "bot"},
      {R"({"messages": []})", "empty"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"caf\xE9\"}]}", "not valid UTF-8"},
  };
  for (const auto& c : cases) {
    std::string in = write("bad.jsonl", {kGoodLines[0], kGoodLines[1], c.line});
    std::string msg = talon::testing::error_of([&] { data::prepare_dataset(options({in}, "out")); });
    EXPECT_NE(msg.find(in + ":3:"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(dir_ / "out")) << "nothing is written on error";

    auto o = options({in}, "out");
    o.skip_invalid = true;
    data::PrepareReport r = data::prepare_dataset(o);
    EXPECT_EQ(r.invalid.count, 1u);
    EXPECT_EQ(r.samples, 2u);
    fs::remove_all(dir_ / "out");
  }
}

TEST_F(PrepareTest, SamplesWithoutSupervisedTokensAreDroppedAndReported) {
  std::string in = write("in.jsonl", {kGoodLines[0], R"({"messages": [{"role": "user", "content": "no answer"}]})"});
  auto o = options({in}, "out");
  data::PrepareReport r = data::prepare_dataset(o);
  EXPECT_EQ(r.samples, 1u);
  EXPECT_EQ(r.dropped_unsupervised(), 1u);
  EXPECT_EQ(r.dropped[static_cast<std::size_t>(data::DropCause::NoAssistantTurn)].first, in + ":2");
  EXPECT_EQ(r.unused_lines(512), std::vector<std::string>{"1 without an assistant turn (first " + in + ":2)"});
  EXPECT_EQ(data::PreparedDataset::open(o.output_dir).header()["stats"]["dropped_unsupervised"], 1);
}

// A run without a usable sample says why, cause by cause, with the count and
// the first file:line of each.
TEST_F(PrepareTest, NoUsableSamplesNamesEachCauseAndItsFirstLine) {
  std::string long_question;
  for (int i = 0; i < 60; ++i) long_question += "the cat sat on the mat ";  // ~360 tokens
  const std::vector<std::string> lines = {
      R"({"messages": [{"role": "user", "content": "no answer"}]})",
      R"({"messages": [{"role": "system", "content": "only me"}]})",
      R"({"messages": [{"role": "user", "content": ")" + long_question + R"("}, {"role": "assistant", "content": "ok"}]})",
      R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]})",
      R"({"conversations": [{"from": "human", "value": "still no answer"}]})",
      "{not json",
      R"({"messages": [{"role": "system", "content": "a"}, {"role": "system", "content": "b"}]})",
  };
  const std::vector<std::string> causes = {"without an assistant turn", "with only system messages",
                                           "whose assistant tokens all lie beyond --max-length 192",
                                           "whose assistant replies are empty"};
  std::string in = write("in.jsonl", lines);
  auto o = options({in}, "out");
  o.max_length = 192;
  o.skip_invalid = true;
  const std::string message = talon::testing::error_of([&] { data::prepare_dataset(o); });
  for (const std::string& part :
       {std::string("no usable samples in the input (7 lines read): "), "2 " + causes[0] + " (first " + in + ":1)",
        "2 " + causes[1] + " (first " + in + ":2)", "1 " + causes[2] + " (first " + in + ":3)",
        "1 " + causes[3] + " (first " + in + ":4)", "1 skipped as invalid (first " + in + ":6: not valid JSON"}) {
    EXPECT_NE(message.find(part), std::string::npos) << "\"" << part << "\" not in: " << message;
  }
  for (std::size_t i = 0; i < causes.size(); ++i) {  // each line alone: that cause alone
    const std::string one = write("one.jsonl", {lines[i]});
    auto single = options({one}, "single");
    single.max_length = 192;
    EXPECT_EQ(talon::testing::error_of([&] { data::prepare_dataset(single); }),
              "no usable samples in the input (1 lines read): 1 " + causes[i] + " (first " + one + ":1)");
  }
  EXPECT_EQ(talon::testing::error_of([&] { data::prepare_dataset(options({write("blank.jsonl", {"", " "})}, "b")); }),
            "no usable samples in the input (0 lines read): it holds no non-blank line");
}

TEST_F(PrepareTest, CorruptedDatasetIsRefusedOnOpen) {
  std::string in = write("in.jsonl", kGoodLines);
  auto o = options({in}, "out");
  data::prepare_dataset(o);
  std::string ids_path = o.output_dir + "/input_ids.bin";
  std::string bytes = util::read_file(ids_path);
  bytes[5] ^= 0x40;
  util::write_file_atomic(ids_path, bytes);
  talon::testing::expect_error([&] { data::PreparedDataset::open(o.output_dir); }, {"input_ids.bin: checksum"});
}

TEST_F(PrepareTest, CommandLineRunsOnTheBundledExamples) {
  std::string out = (dir_ / "cli").string();
  auto run = talon::testing::run_talon("prepare --quiet --train-data-path " + std::string(TALON_TEST_DATA) +
                                       "/../../examples/conversations.jsonl --tokenizer " + kTokenizer +
                                       " --chat-template llama3 --max-length 256 --draft-vocab-size 500"
                                       " --output-dir " + out);
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("prepared 300 samples from 300 lines"), std::string::npos) << run.out;
  EXPECT_EQ(data::PreparedDataset::open(out).size(), 300u);
}

TEST_F(PrepareTest, ChatTemplateKwargsAreAJsonObject) {
  const std::string in = write("in.jsonl", kGoodLines);
  for (const auto& [kwargs, error] : std::vector<std::pair<std::string, std::string>>{
           {"'[1]'", "talon: error: --chat-template-kwargs: expected a JSON object, found [1]"},
           {"'{\"a\": '", "talon: error: --chat-template-kwargs: not valid JSON"}}) {
    auto run = talon::testing::run_talon("prepare --quiet --train-data-path " + in + " --tokenizer " + kTokenizer +
                                         " --chat-template-kwargs " + kwargs + " --output-dir " + scratch_.file("o"));
    EXPECT_EQ(run.status, 1) << run.out;
    EXPECT_NE(run.out.find(error), std::string::npos) << run.out;
  }
}

// The output directory is replaced only when it holds an earlier prepared
// dataset and nothing else. Anything else (a training run, the input
// itself, a regular file) is refused before any work, named, and kept.
TEST_F(PrepareTest, OutputDirHoldingAnythingElseIsRefusedAndKept) {
  const std::string in = write("in.jsonl", kGoodLines);
  const auto o = options({in}, "out");
  data::prepare_dataset(o);
  data::prepare_dataset(options({write("one.jsonl", {kGoodLines[0]})}, "out"));  // its own output: replaced
  EXPECT_EQ(data::PreparedDataset::open(o.output_dir).size(), 1u);

  const std::string inside = scratch_.write("out/in.jsonl", util::read_file(in));
  talon::testing::expect_error([&] { data::prepare_dataset(options({inside}, "out")); },
                               {o.output_dir + " holds an earlier Talon prepared dataset and files it did not write: "
                                               "in.jsonl; Talon replaces only its own output"});
  EXPECT_EQ(util::read_file(inside), util::read_file(in));
  EXPECT_EQ(data::PreparedDataset::open(o.output_dir).size(), 1u);

  fs::create_directories(dir_ / "run/epoch_0_step_4");
  const std::string metrics = scratch_.write("run/metrics.jsonl", "{\"step\": 1}\n");
  talon::testing::expect_error([&] { data::prepare_dataset(options({in}, "run")); },
                               {(dir_ / "run").string() + " is not empty and is not an earlier Talon prepared dataset "
                                                          "(it has no .talon-output.json): it holds epoch_0_step_4/, "
                                                          "metrics.jsonl"});
  EXPECT_EQ(util::read_file(metrics), "{\"step\": 1}\n");

  const std::string file = scratch_.write("file", "mine");
  auto run = talon::testing::run_talon("prepare --quiet --train-data-path " + in + " --tokenizer " + kTokenizer +
                                       " --chat-template llama3 --output-dir " + file);
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("talon: error: " + file + " is a file, not a directory"), std::string::npos) << run.out;
  EXPECT_EQ(util::read_file(file), "mine");
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_)) {  // no temporaries left
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST(PrepareFlags, OutOfTheirRangeAreRefusedByName) {
  for (const auto& [flag, value, range] : std::vector<std::array<std::string, 3>>{
           {"--vocab-size", "0", "[1, inf)"},
           {"--max-length", "0", "[2, inf)"},
           {"--draft-vocab-size", "-1", "[1, inf)"},
           {"--num-threads", "-1", "[0, inf)"},
       }) {
    talon::testing::expect_flag_refused("prepare", flag, value, range);
  }
}
