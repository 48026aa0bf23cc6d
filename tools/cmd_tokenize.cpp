// talon tokenize / detokenize: JSON lines in, JSON lines out, for scripts and
// for checking Talon's tokenizer against another one.
//   tokenize:   one JSON string per line   -> one JSON array of ids per line
//   detokenize: one JSON array of ids per line -> one JSON string per line
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "talon/text/tokenizer.h"
#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/json_file.h"

namespace talon::cli {

namespace {

using Json = nlohmann::json;

// Calls handle(line, parsed JSON) for each line of standard input; errors
// name "<stdin>:LINE".
template <typename Handle>
void for_each_stdin_line(Handle&& handle) {
  std::ios::sync_with_stdio(false);
  std::string line;
  for (std::size_t number = 1; std::getline(std::cin, line); ++number) {
    std::string where = fmt::format("<stdin>:{}", number);
    handle(where, util::parse_json(line, where));
  }
}

void write(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void tokenize(const std::string& dir, bool add_special_tokens) {
  text::Tokenizer tokenizer = text::Tokenizer::load(dir);
  std::string out;
  for_each_stdin_line([&](const std::string& where, const Json& value) {
    if (!value.is_string()) util::JsonLocation(where).fail_expected("a JSON string", value);
    std::vector<std::int32_t> ids = tokenizer.encode(value.get_ref<const std::string&>(), add_special_tokens);
    out.assign(1, '[');
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(ids[i]);
    }
    out += "]\n";
    write(out);
  });
}

void detokenize(const std::string& dir, bool skip_special_tokens) {
  text::Tokenizer tokenizer = text::Tokenizer::load(dir);
  std::vector<std::int32_t> ids;
  for_each_stdin_line([&](const std::string& where, const Json& value) {
    if (!value.is_array()) util::JsonLocation(where).fail_expected("a JSON array of ids", value);
    ids.clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
      const Json& id = value[i];
      if (!id.is_number_integer()) {
        fail("{}: element {}: expected an integer id, found {}", where, i, util::json_excerpt(id));
      }
      bool in_range = id.is_number_unsigned()
                          ? id.get<std::uint64_t>() < static_cast<std::uint64_t>(tokenizer.vocab_size())
                          : id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() < tokenizer.vocab_size();
      if (!in_range) {
        fail("{}: element {}: id {} is out of range [0, {})", where, i, id.dump(), tokenizer.vocab_size());
      }
      ids.push_back(static_cast<std::int32_t>(id.get<std::int64_t>()));
    }
    std::string decoded;
    try {
      decoded = tokenizer.decode(ids, skip_special_tokens);
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    write(Json(decoded).dump() + "\n");
  });
}

}  // namespace

void add_tokenize_commands(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto add_special = std::make_shared<bool>(false);
  CLI::App* tok =
      app.add_subcommand("tokenize", "Encode text: one JSON string per input line -> one JSON array of ids");
  tok->add_option("--tokenizer", *dir, "Directory with tokenizer.json (and tokenizer_config.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  tok->add_flag("--add-special-tokens", *add_special, "Add the post-processor's special tokens (e.g. BOS)");
  tok->callback([=] { tokenize(*dir, *add_special); });

  auto detok_dir = std::make_shared<std::string>();
  auto skip_special = std::make_shared<bool>(false);
  CLI::App* detok =
      app.add_subcommand("detokenize", "Decode ids: one JSON array of ids per input line -> one JSON string");
  detok->add_option("--tokenizer", *detok_dir, "Directory with tokenizer.json (and tokenizer_config.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  detok->add_flag("--skip-special-tokens", *skip_special, "Leave special tokens out of the text");
  detok->callback([=] { detokenize(*detok_dir, *skip_special); });
}

}  // namespace talon::cli
