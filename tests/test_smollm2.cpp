// Talon on a real model against transformers: SmolLM2-135M-Instruct (Llama,
// 30 layers, tied embeddings), which scripts/setup.sh fetches and converts
// into .cache/models/ together with what transformers 5.25 computed with it
// (scripts/fetch_smollm2.py, scripts/goldens/make_smollm2_goldens.py):
// fp32 logits and EAGLE-3 aux states, greedy generation, token ids and the
// model's chat template. Nothing downloads here: without the cache the tests
// fail and say to run setup.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "talon/eval/generate.h"
#include "talon/io/safetensors.h"
#include "talon/model/target_model.h"
#include "talon/text/conversation.h"
#include "talon/text/hf_chat_template.h"
#include "talon/text/tokenizer.h"
#include "talon/util/json_file.h"
#include "test_support.h"

namespace talon {
namespace {

const std::string kModels = std::string(TALON_SOURCE_DIR) + "/.cache/models/";
const std::string kModel = kModels + "SmolLM2-135M-Instruct";
const std::string kGoldens = kModels + "SmolLM2-135M-Instruct.goldens/";

// Both fetch_smollm2.py outputs end with this marker once complete.
bool cached() {
  return std::filesystem::exists(kModel + "/talon_complete") && std::filesystem::exists(kGoldens + "talon_complete");
}

#define REQUIRE_SMOLLM2()                                                                                \
  if (!cached()) {                                                                                       \
    FAIL() << kModel << " or " << kGoldens                                                               \
           << " is missing or incomplete: run scripts/setup.sh (scripts/fetch_smollm2.py) to fetch and " \
              "convert SmolLM2-135M-Instruct";                                                           \
  }

// One model for the whole process: loading 540 MB of fp32 weights costs
// about a second.
const model::TargetModel& target() {
  static const model::TargetModel model = model::TargetModel::load(kModel, at::kCPU, at::kFloat);
  return model;
}

// Both sides compute in fp32 in different orders (Talon's fused attention
// kernel and its own layer loop against transformers' eager attention), so
// rounding accumulates over 30 layers. This model's residual stream holds a
// few huge activations (about 2.5e4, at the first position) beside values of
// order 1, so each position is compared against its own largest magnitude,
// not the tensor's: one scale for the whole tensor would hide errors in every
// ordinary position. Measured worst over the prompts (printed below): 1.4e-6
// of a position's largest magnitude for the aux states, 3.1e-6 for the
// logits (fp32's epsilon is 1.2e-7). Allowed: 2e-5 of it, about six times
// the measured worst and far below what a wrong weight, rotary layout or norm
// gives (differences of percents).
constexpr double kRelative = 2e-5;

// got, want [B, T, W]: each position's largest difference against its own
// largest magnitude.
void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const at::Tensor error = (got - want).abs().amax(-1);
  const at::Tensor scale = want.abs().amax(-1);
  const at::Tensor ratio = error / scale;
  const std::int64_t worst = ratio.flatten().argmax().item<std::int64_t>();
  const double worst_ratio = ratio.flatten()[worst].item<double>();
  std::printf("%s: worst position %lld, largest difference %.3g of its largest magnitude %.3g (%.2g)\n",
              what.c_str(), static_cast<long long>(worst), error.flatten()[worst].item<double>(),
              scale.flatten()[worst].item<double>(), worst_ratio);
  EXPECT_LE(worst_ratio, kRelative) << what << ": position " << worst << " differs by " << worst_ratio
                                    << " of its largest magnitude";
}

TEST(SmolLM2, ForwardMatchesTransformers) {
  REQUIRE_SMOLLM2();
  const model::TargetModel& model = target();
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  ASSERT_EQ(layers, 30);
  // EAGLE-3's aux layers, as the goldens took them.
  const std::vector<int> aux = {1, layers / 2 - 1, layers - 4};
  const io::SafetensorsFile goldens = io::SafetensorsFile::open(kGoldens + "forward.safetensors");
  for (int k = 0; k < 3; ++k) {
    const std::string n = std::to_string(k);
    const model::TargetFeatures features = model.forward(goldens.tensor("input_ids." + n), aux);
    // aux [1, T, 3H]: each layer on its own, so each has its own scale.
    const std::int64_t hidden = model.config().hidden_size;
    const at::Tensor want_aux = goldens.tensor("aux." + n);
    for (int a = 0; a < 3; ++a) {
      expect_close(features.aux.narrow(-1, a * hidden, hidden), want_aux.narrow(-1, a * hidden, hidden),
                   "layer " + std::to_string(aux[a]) + " of prompt " + n);
    }
    expect_close(at::linear(features.hidden, model.lm_head()), goldens.tensor("logits." + n), "logits of prompt " + n);
  }
}

TEST(SmolLM2, GreedyGenerationMatchesTransformers) {
  REQUIRE_SMOLLM2();
  std::vector<eval::Tokens> prompts, want;
  for (const nlohmann::json& g : testing::read_jsonl(kGoldens + "generate.jsonl")) {
    prompts.push_back(g["prompt"].get<eval::Tokens>());
    want.push_back(g["new"].get<eval::Tokens>());
  }
  ASSERT_EQ(prompts.size(), 10u);
  const std::int64_t im_end = 2;  // <|im_end|>, the eos transformers stopped at
  // One prompt at a time, as transformers ran them: a batch would pad, and
  // near-ties could then flip on the last bits of the logits.
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const eval::Tokens got = eval::generate(target(), {prompts[i]}, {64, {im_end}}).front();
    EXPECT_EQ(got, want[i]) << "prompt " << i;
  }
}

TEST(SmolLM2, TokenizerMatchesHuggingFace) {
  REQUIRE_SMOLLM2();
  const text::Tokenizer tokenizer = text::Tokenizer::load(kModel);
  // The corpus as raw bytes: Talon repairs invalid UTF-8 as the goldens'
  // errors="replace" did.
  std::vector<std::string> corpus;
  for (const nlohmann::json& entry : testing::read_jsonl(std::string(TALON_TEST_DATA) + "/tokenizer/corpus.jsonl")) {
    if (entry.contains("text")) {
      corpus.push_back(entry["text"].get<std::string>());
    } else {
      const std::string hex = entry["bytes_hex"];
      std::string bytes;
      for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
      }
      corpus.push_back(bytes);
    }
  }
  int lines = 0, failures = 0;
  for (const nlohmann::json& g : testing::read_jsonl(kGoldens + "tokens.jsonl")) {
    const std::string& text = corpus.at(g["line"].get<std::size_t>());
    const auto ids = tokenizer.encode(text), ids_special = tokenizer.encode(text, true);
    const bool ok = ids == g["ids"].get<std::vector<std::int32_t>>() &&
                    ids_special == g["ids_special"].get<std::vector<std::int32_t>>();
    if (!ok && ++failures <= 5) {
      ADD_FAILURE() << "corpus line " << g["line"] << ": ids " << nlohmann::json(ids).dump() << "\n  want "
                    << g["ids"].dump();
    }
    ++lines;
  }
  EXPECT_EQ(failures, 0) << "corpus lines that differ from Hugging Face, out of " << lines;
  EXPECT_EQ(lines, static_cast<int>(corpus.size()));
}

TEST(SmolLM2, ChatTemplateMatchesApplyChatTemplate) {
  REQUIRE_SMOLLM2();
  const std::optional<text::HfChatTemplate> chat = text::HfChatTemplate::from_tokenizer_dir(kModel);
  ASSERT_TRUE(chat.has_value()) << kModel << " has no chat template";
  const std::string conversations_path = std::string(TALON_TEST_DATA) + "/templates/hf/conversations.jsonl";
  std::vector<std::string> conversations;
  std::ifstream in(conversations_path);
  for (std::string line; std::getline(in, line);) conversations.push_back(line);
  int rendered = 0;
  for (const nlohmann::json& g : testing::read_jsonl(kGoldens + "templates.jsonl")) {
    const std::size_t line = g["line"];
    const nlohmann::ordered_json record = util::parse_ordered_json(conversations.at(line), conversations_path);
    const text::Conversation messages = text::parse_conversation(record);
    const bool add = g["add_generation_prompt"];
    EXPECT_EQ(chat->render(messages, nullptr, add).text, g["text"].get<std::string>())
        << "conversation " << line << (add ? " with" : " without") << " the generation prompt";
    ++rendered;
  }
  // Most of the corpus's conversations are plain turns this template renders.
  EXPECT_GE(rendered, 20);
}

}  // namespace
}  // namespace talon
