#include "talon/text/hf_chat_template.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/json_file.h"

namespace talon::text {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

// transformers' SPECIAL_TOKENS_ATTRIBUTES, in its order: what
// special_tokens_map holds and apply_chat_template passes to the template.
constexpr const char* kSpecialTokens[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                          "pad_token", "cls_token", "mask_token"};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read the chat template", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A special token is a string or an AddedToken object {"content": ...}.
std::optional<std::string> token_text(const json& value, const util::JsonLocation& where) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  where.fail_expected("a string or an object with a string \"content\"", value);
}

// special_tokens_map as transformers 5 builds it: the named tokens of
// tokenizer_config.json (special_tokens_map.json overriding them in the legacy
// layout without "added_tokens_decoder"), then the model-specific ones of an
// "extra_special_tokens" object.
// `config_file` is the directory's tokenizer_config.json, nullopt when it has none.
ordered_json special_tokens(const fs::path& dir, const std::optional<json>& config_file) {
  ordered_json tokens = ordered_json::object();
  if (!config_file) return tokens;
  const json& config = *config_file;
  const fs::path config_path = dir / "tokenizer_config.json";
  json named = json::object();
  for (const char* key : kSpecialTokens) {
    if (config.contains(key)) named[key] = config[key];
  }
  const fs::path legacy_path = dir / "special_tokens_map.json";
  if (!config.contains("added_tokens_decoder") && fs::exists(legacy_path)) {
    const json legacy = util::load_json_file(legacy_path.string());
    for (const char* key : kSpecialTokens) {
      if (legacy.contains(key)) named[key] = legacy[key];
    }
  }
  for (const char* key : kSpecialTokens) {
    if (!named.contains(key)) continue;
    if (auto text = token_text(named[key], util::JsonLocation(config_path.string(), key))) tokens[key] = *text;
  }
  if (config.contains("extra_special_tokens") && config["extra_special_tokens"].is_object()) {
    for (const auto& [key, value] : config["extra_special_tokens"].items()) {
      const util::JsonLocation where(config_path.string(), "extra_special_tokens." + key);
      if (auto text = token_text(value, where)) tokens[key] = *text;
    }
  }
  return tokens;
}

std::optional<json> load_tokenizer_config(const fs::path& dir) {
  const fs::path path = dir / "tokenizer_config.json";
  if (dir.empty() || !fs::exists(path)) return std::nullopt;
  return util::load_json_file(path.string());
}

}  // namespace

std::optional<HfChatTemplate> HfChatTemplate::from_tokenizer_dir(const std::string& dir) {
  if (dir.empty()) return std::nullopt;
  // (name, source, file) in transformers' order of priority.
  std::vector<std::tuple<std::string, std::string, std::string>> found;
  const fs::path jinja_file = fs::path(dir) / "chat_template.jinja";
  if (fs::exists(jinja_file)) found.emplace_back("default", read_text(jinja_file), jinja_file.string());
  const fs::path extra_dir = fs::path(dir) / "additional_chat_templates";
  if (fs::is_directory(extra_dir)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(extra_dir)) {
      if (entry.path().extension() == ".jinja") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) found.emplace_back(file.stem().string(), read_text(file), file.string());
  }
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  const std::optional<json> config_file = load_tokenizer_config(dir);
  if (found.empty() && config_file) {
    const json& config = *config_file;
    const util::JsonLocation where(config_path.string(), "chat_template");
    if (config.contains("chat_template") && config["chat_template"].is_string()) {
      found.emplace_back("default", config["chat_template"].get<std::string>(), config_path.string());
    } else if (config.contains("chat_template") && config["chat_template"].is_array()) {
      const json& list = config["chat_template"];
      for (std::size_t i = 0; i < list.size(); ++i) {
        util::JsonFields entry(list[i], where / i);
        found.emplace_back(entry.required_string("name"), entry.required_string("template"),
                           fmt::format("{} (chat_template \"{}\")", config_path.string(), entry.required_string("name")));
      }
    } else if (config.contains("chat_template") && !config["chat_template"].is_null()) {
      where.fail_expected("a string or a list of {\"name\", \"template\"}", config["chat_template"]);
    }
  }
  if (found.empty()) return std::nullopt;

  HfChatTemplate t;
  for (auto& [name, source, file] : found) {
    t.sources_ += name + "\n" + source + "\n";
    if (name == "default" || t.source_name_.empty()) t.source_name_ = file;
    t.templates_.emplace(name, jinja::Template(source, file));
  }
  if (!t.templates_.count("default")) fail("{}: has chat templates but none named \"default\"", dir);
  t.special_tokens_ = special_tokens(dir, config_file);
  return t;
}

HfChatTemplate HfChatTemplate::from_file(const std::string& path, const std::string& tokenizer_dir) {
  HfChatTemplate t;
  std::string source = read_text(path);
  t.sources_ = "default\n" + source + "\n";
  t.source_name_ = path;
  t.templates_.emplace("default", jinja::Template(source, path));
  t.special_tokens_ = special_tokens(tokenizer_dir, load_tokenizer_config(tokenizer_dir));
  return t;
}

void HfChatTemplate::set_kwargs(ordered_json kwargs) {
  if (!kwargs.is_object()) fail("chat template kwargs: expected a JSON object, found {}", kwargs.dump());
  kwargs_ = std::move(kwargs);
}

ordered_json template_message(const Message& message) {
  // transformers 5 aliases reasoning: the first of reasoning_content,
  // thinking, reasoning that is set becomes `thinking` (placed first; a
  // message's own `thinking` keeps its value) and `reasoning_content` (gpt-oss
  // reads the one, Qwen3 the other). The record's key order is kept, with
  // role and content first.
  std::optional<ordered_json> reasoning;
  if (message.reasoning_content) {
    reasoning = *message.reasoning_content;
  } else if (message.extra.contains("thinking")) {
    reasoning = message.extra["thinking"];
  } else if (message.extra.contains("reasoning")) {
    reasoning = message.extra["reasoning"];
  }
  ordered_json m = ordered_json::object();
  if (reasoning) m["thinking"] = *reasoning;
  m["role"] = role_name(message.role);
  if (message.has_content) m["content"] = message.content;
  if (message.reasoning_content) m["reasoning_content"] = *reasoning;
  for (const auto& [key, value] : message.extra.items()) m[key] = value;
  if (reasoning) m["reasoning_content"] = *reasoning;
  return m;
}

jinja::Rendered HfChatTemplate::render(const Conversation& messages, const ordered_json* tools,
                                       bool add_generation_prompt) const {
  if (messages.empty()) fail("{}: cannot render an empty conversation", source_name_);
  auto chosen = templates_.find(tools != nullptr && templates_.count("tool_use") ? "tool_use" : "default");
  ordered_json context = special_tokens_;
  for (const auto& [key, value] : kwargs_.items()) context[key] = value;
  ordered_json list = ordered_json::array();
  for (const Message& m : messages) list.push_back(template_message(m));
  context["messages"] = std::move(list);
  context["tools"] = tools != nullptr ? *tools : ordered_json();
  context["documents"] = nullptr;
  context["add_generation_prompt"] = add_generation_prompt;
  return chosen->second.render(context);
}

bool HfChatTemplate::has_generation_blocks() const {
  for (const auto& [name, t] : templates_) {
    if (t.has_generation_blocks()) return true;
  }
  return false;
}

const std::string& HfChatTemplate::source_name() const { return source_name_; }

std::string HfChatTemplate::fingerprint_text() const {
  return sources_ + special_tokens_.dump() + "\n" + kwargs_.dump();
}

}  // namespace talon::text
