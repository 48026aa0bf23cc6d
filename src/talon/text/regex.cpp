#include "talon/text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "talon/text/onig_pattern.h"
#include "talon/util/error.h"

namespace talon::text {

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Per-thread match state, shared by every pattern: the ovector only needs
// the whole-match pair, so one match data block serves all of them.
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  // Long runs of letters or spaces recurse deeply in JIT code; the stack
  // grows on demand up to this size.
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);

  ThreadMatchState() { pcre2_jit_stack_assign(context, nullptr, jit_stack); }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState state;
  return state;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

Regex Regex::onig(std::string_view pattern, const std::string& where) {
  return compile(onig_to_pcre2(pattern, where), pattern, false, where);
}

Regex Regex::literal(std::string_view text, const std::string& where) {
  return compile(std::string(text), text, true, where);
}

Regex Regex::compile(const std::string& pattern, std::string_view original, bool literal, const std::string& where) {
  auto code = std::make_shared<Code>();
  int error = 0;
  PCRE2_SIZE offset = 0;
  // \C (one byte) could split a code point; nothing else in UTF mode can.
  std::uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C);
  code->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error, &offset, nullptr);
  if (!code->code) {
    fail("{}: cannot compile regex {:?} (as PCRE2 {:?}): {} at offset {}", where, original, pattern,
         pcre2_message(error), offset);
  }
  code->jit = pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE) == 0;
  return Regex(std::move(code));
}

bool Regex::find(std::string_view subject, std::size_t start, std::size_t& begin, std::size_t& end) const {
  ThreadMatchState& state = thread_state();
  auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  int rc = code_->jit ? pcre2_jit_match(code_->code, text, subject.size(), start, 0, state.data, state.context)
                      : PCRE2_ERROR_JIT_BADOPTION;
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_JIT_BADOPTION) {
    // The interpreter keeps its backtracking frames on the heap.
    rc = pcre2_match(code_->code, text, subject.size(), start, PCRE2_NO_UTF_CHECK, state.data, state.context);
  }
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    fail("regex match failed at byte {} of a {}-byte text: {}", start, subject.size(), pcre2_message(rc));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
  begin = ovector[0];
  end = ovector[1];
  return true;
}

}  // namespace talon::text
