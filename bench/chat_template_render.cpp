// Single-thread cost of the Jinja interpreter on the real chat templates of
// tests/data/templates/hf: parsing each template once, and rendering the
// corpus's conversations (those the template accepts, without the
// generation prompt, with the special tokens of its goldens), beside the
// built-in llama3 renderer on the same conversations. One figure per line.
// Run from the repository root: build/bench/chat_template_render [tests/data/templates/hf]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "talon/text/chat_template.h"
#include "talon/text/hf_chat_template.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using talon::text::Conversation;

constexpr int kRepeats = 200;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Record {
  Conversation messages;
  std::optional<nlohmann::ordered_json> tools;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "tests/data/templates/hf";
  std::vector<Record> records;
  std::ifstream in(dir + "/conversations.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto record = talon::util::parse_ordered_json(line, dir);
    records.push_back({talon::text::parse_conversation(record), talon::text::parse_tools(record)});
  }
  std::vector<fs::path> templates;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".jinja") templates.push_back(entry.path());
  }
  std::sort(templates.begin(), templates.end());
  ::setenv("SOURCE_DATE_EPOCH", "1721952000", 1);

  for (const fs::path& path : templates) {
    auto start = Clock::now();
    auto t = talon::text::HfChatTemplate::from_file(path.string(), "");
    const double parse_us = micros(Clock::now() - start);
    // The special tokens (and date_string) its goldens were rendered with.
    std::ifstream golden(dir + "/" + path.stem().string() + ".golden.jsonl");
    std::string first;
    std::getline(golden, first);
    nlohmann::ordered_json kwargs = talon::util::parse_ordered_json(first, path.string())["context"];
    for (const char* key : {"messages", "tools", "documents", "add_generation_prompt"}) kwargs.erase(key);
    t.set_kwargs(kwargs);
    std::vector<const Record*> accepted;
    for (const Record& r : records) {
      try {
        t.render(r.messages, r.tools ? &*r.tools : nullptr, false);
        accepted.push_back(&r);
      } catch (const talon::Error&) {
      }
    }
    std::size_t bytes = 0;
    start = Clock::now();
    for (int i = 0; i < kRepeats; ++i) {
      for (const Record* r : accepted) bytes += t.render(r->messages, r->tools ? &*r->tools : nullptr, false).text.size();
    }
    const double render_us = micros(Clock::now() - start) / (kRepeats * static_cast<double>(accepted.size()));
    fmt::print("jinja {}: parse {:.0f} us, render {:.1f} us per conversation ({} conversations, {:.0f} bytes each)\n",
               path.stem().string(), parse_us, render_us, accepted.size(),
               static_cast<double>(bytes) / (kRepeats * static_cast<double>(accepted.size())));
  }

  const talon::text::ChatTemplate& builtin = talon::text::builtin_template("llama3");
  std::vector<const Record*> text_only;
  for (const Record& r : records) {
    if (!r.tools && !talon::text::uses_tools(r.messages)) text_only.push_back(&r);
  }
  std::size_t bytes = 0;
  const auto start = Clock::now();
  for (int i = 0; i < kRepeats; ++i) {
    for (const Record* r : text_only) bytes += builtin.render(r->messages).size();
  }
  fmt::print("builtin llama3: render {:.1f} us per conversation ({} conversations, {} bytes in all)\n",
             micros(Clock::now() - start) / (kRepeats * static_cast<double>(text_only.size())), text_only.size(), bytes);
}
