// The chat-template flags of every command that renders conversations
// (prepare, train, cache, eval, regenerate): one definition, one help text.
#pragma once

#include <CLI/CLI.hpp>

#include "talon/text/chat_template.h"

namespace talon::cli {

// --chat-template and --chat-template-kwargs; with `builds_samples` also
// --supervise-empty-think (the commands that compute loss masks).
void add_chat_template_flags(CLI::App& cmd, text::ChatTemplateSettings& settings, bool builds_samples);

}  // namespace talon::cli
