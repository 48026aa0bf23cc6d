#include "talon/regen/chat_server.h"

#include <algorithm>
#include <thread>

#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::regen {
namespace {

bool worth_retrying(int status) { return status == 408 || status == 429 || status >= 500; }

// choices[0].message.content of a chat-completions answer.
std::string message_content(const std::string& body) {
  nlohmann::json answer;
  try {
    answer = util::parse_json(body, "");
  } catch (const Error& e) {
    fail("the answer: {} (it begins {})", e.what(), body.substr(0, 200));
  }
  const nlohmann::json* content = nullptr;
  if (answer.contains("choices") && answer["choices"].is_array() && !answer["choices"].empty()) {
    const nlohmann::json& choice = answer["choices"][0];
    if (choice.contains("message") && choice["message"].contains("content")) content = &choice["message"]["content"];
  }
  if (content == nullptr || !content->is_string()) {
    fail("the answer has no choices[0].message.content string: {}", body.substr(0, 200));
  }
  return content->get<std::string>();
}

}  // namespace

ChatServer::ChatServer(const std::string& address, ChatSettings settings)
    : url_(Url::parse(address)), settings_(std::move(settings)) {
  if (url_.base.empty()) url_.base = "/v1";
}

std::string ChatServer::reply(const nlohmann::json& messages, std::uint64_t seed) const {
  const nlohmann::json request = {{"model", settings_.model},
                                  {"messages", messages},
                                  {"max_tokens", settings_.max_tokens},
                                  {"temperature", settings_.temperature},
                                  {"top_p", settings_.top_p},
                                  {"seed", seed},
                                  {"stream", false}};
  const std::string body = request.dump();
  std::string last_failure;
  int tries = 0;
  for (int attempt = 0; attempt <= settings_.max_retries; ++attempt) {
    ++tries;
    if (attempt > 0) {
      const auto wait = std::min<std::chrono::milliseconds>(settings_.backoff * (1LL << std::min(attempt - 1, 16)),
                                                            std::chrono::seconds(30));
      std::this_thread::sleep_for(wait);
    }
    HttpResponse response;
    try {
      response = http_post_json(url_, "/chat/completions", body, settings_.timeout);
    } catch (const Error& e) {
      last_failure = e.what();
      continue;
    }
    if (response.status == 200) return message_content(response.body);
    last_failure = fmt::format("HTTP {}: {}", response.status, response.body.substr(0, 200));
    if (!worth_retrying(response.status)) break;
  }
  fail("{} ({} {})", last_failure, tries, tries == 1 ? "try" : "tries");
}

}  // namespace talon::regen
