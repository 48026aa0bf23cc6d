// Single-thread encode throughput of Talon's tokenizer on the golden corpus
// (tests/data/tokenizer/corpus.jsonl) repeated to a few MB and cut into
// documents of ~4 KB (a typical training sample) and of ~64 KB;
// bench/hf_tokenizer_throughput.py does the same with Hugging Face's
// tokenizers, and both print the total token count so the runs can be
// checked to encode the same thing.
// Run from the repository root: build/bench/tokenizer_throughput [tokenizers_dir] [corpus.jsonl]
// (tokenizers_dir: build/fixtures/tokenizers, unpacked by CMake)
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "talon/text/tokenizer.h"
#include "talon/util/utf8.h"

namespace {

constexpr int kRepeats = 16;

std::vector<std::string> documents(const std::string& corpus_path, std::size_t document_bytes) {
  std::vector<std::string> lines;
  std::ifstream in(corpus_path);
  for (std::string line; std::getline(in, line);) {
    auto entry = nlohmann::json::parse(line);
    if (entry.contains("text")) {
      lines.push_back(entry["text"]);
    } else {
      std::string bytes;
      std::string hex = entry["bytes_hex"];
      for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
      lines.push_back(talon::util::repair_utf8(bytes));
    }
  }
  std::vector<std::string> docs(1);
  for (int r = 0; r < kRepeats; ++r) {
    for (const std::string& line : lines) {
      if (docs.back().size() >= document_bytes) docs.emplace_back();
      docs.back() += line;
      docs.back() += '\n';
    }
  }
  return docs;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizers = argc > 1 ? argv[1] : "build/fixtures/tokenizers";
  std::string corpus = argc > 2 ? argv[2] : "tests/data/tokenizer/corpus.jsonl";
  for (const char* name : {"llama3_1", "qwen3"}) {
    auto tokenizer = talon::text::Tokenizer::load(tokenizers + "/" + name);
    for (std::size_t kb : {4, 64}) {
      std::vector<std::string> docs = documents(corpus, kb * 1024);
      std::size_t bytes = 0;
      for (const auto& d : docs) bytes += d.size();
      for (const auto& d : docs) tokenizer.encode(d);  // warm-up: caches, JIT stack
      auto start = std::chrono::steady_clock::now();
      std::size_t tokens = 0;
      for (const auto& d : docs) tokens += tokenizer.encode(d).size();
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fmt::print("{}_{}kb_mb {:.2f}\n", name, kb, bytes / 1e6);
      fmt::print("{}_{}kb_tokens {}\n", name, kb, tokens);
      fmt::print("{}_{}kb_tokens_per_s {:.0f}\n", name, kb, tokens / seconds);
      fmt::print("{}_{}kb_mb_per_s {:.2f}\n", name, kb, bytes / 1e6 / seconds);
    }
  }
}
