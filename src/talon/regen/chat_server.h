// An OpenAI-compatible chat-completions server (SGLang, vLLM) writing
// assistant turns: POST {base}/chat/completions, with a timeout per request
// and retries with exponential backoff when the server fails (connection
// errors, timeouts, HTTP 408, 429 and 5xx). Other HTTP errors and answers
// without a message fail at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "talon/regen/http_client.h"

namespace talon::regen {

struct ChatSettings {
  std::string model = "default";  // the "model" field; vLLM wants the served name
  std::int64_t max_tokens = 4096;
  double temperature = 0.7;
  double top_p = 1.0;
  std::chrono::milliseconds timeout{600'000};  // per request
  int max_retries = 3;                         // after the first try
  std::chrono::milliseconds backoff{500};      // before retry i: backoff * 2^i, at most 30 s
};

class ChatServer {
 public:
  // address: [http://]host[:port][/path]; without a path, /v1.
  ChatServer(const std::string& address, ChatSettings settings);

  // The assistant's reply to `messages` (OpenAI [{"role", "content"}]);
  // `seed` goes with the request, so a rerun asks for the same sample.
  // Throws talon::Error with the last failure once the retries are spent.
  std::string reply(const nlohmann::json& messages, std::uint64_t seed) const;

 private:
  Url url_;
  ChatSettings settings_;
};

}  // namespace talon::regen
