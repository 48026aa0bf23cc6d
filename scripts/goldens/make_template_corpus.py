"""Writes the chat-template golden corpus, tests/data/templates/conversations.jsonl:
hand-written edge cases, then seeded random conversations built from
fragments that stress what templates do to content (trimming, Qwen3's
<think> splitting, special-token look-alikes, Unicode, empty strings).
Deterministic: the same file on every machine.
  .venv/bin/python scripts/goldens/make_template_corpus.py > tests/data/templates/conversations.jsonl

The file is byte for byte what the former Node generator wrote: the random
draws happen in the same order (see lib/random.py), so do not reorder calls
that draw, and keep every list as it is.

No fragment contains U+001C..U+001F, U+0085, U+180E or U+FEFF: whether
`| trim` strips them is where implementations of "whitespace" disagree
(Python's str.strip(), which Jinja2 runs for the goldens, strips U+001C..U+001F
and U+0085 but not U+FEFF; JavaScript's trim() does the opposite; U+180E
was whitespace before Unicode 6.3), so the corpus keeps clear of them and a
unit test, ChatTemplate.TrimFollowsPython, pins Python's behaviour on them.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from lib.jsonl import to_jsonl_bytes  # noqa: E402
from lib.random import random  # noqa: E402

rand = random(20240611)

TEXTS = [
    "Hello!", "What is the capital of France?", "The capital of France is Paris.",
    "Can you explain recursion in one sentence?", "Sure. A function that calls itself on a smaller input.",
    "```python\ndef double(x):\n    return x * 2\n```", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "你好，世界。今天天气怎么样？", "日本語のテキストです。", "안녕하세요, 반갑습니다.", "مرحبا بالعالم، كيف حالك؟",
    "नमस्ते दुनिया", "Привет, мир!", "Café, naïve, résumé, Ångström.", "∑ x² ≤ ∞ and ∀ε>0 ∃δ",
    "👋🌍🎉 👨‍👩‍👧 🏳️‍🌈", "zero\u200bwidth space", "line one\nline two\n\nline four", "windows\r\nline endings\r\n",
    "tabs\tin\tthe\tmiddle", "He said \"hi\" and then 'bye'.", "C:\\path\\to\\file.txt", '{"a": [1, 2, {"b": null}]}',
    "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3, "1234567890 3.14159 -42 1e-9", "a", ".",
]
SPECIALS = [
    "<|eot_id|>", "<|im_end|>", "<|im_start|>assistant\n", "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|begin_of_text|>", "<|end_of_text|>", "<|endoftext|>", "<think>", "</think>", "<tool_response>",
    "</tool_response>", "<|im_start|>user\n",
]
# str.strip() removes all of these (and so does every other trim); "" three
# times so that unpadded ends come up often.
EDGES = ["", "", "", " ", "  ", "\n", "\n\n", "  \n\t", "\t", "\u00a0", "\u3000", "\r\n", " \u2003", "\n \n"]


def fragment():
    return rand.pick(SPECIALS) if rand.chance(0.15) else rand.pick(TEXTS)


def body():
    """Empty, or 1 to 3 fragments joined by one separator."""
    if rand.chance(0.05):
        return ""
    parts = [fragment() for _ in range(rand.between(1, 3))]
    separator = rand.pick([" ", "\n", "\n\n", ""])  # drawn after the fragments
    return separator.join(parts)


def padded(s):
    """s, sometimes with whitespace added at either end."""
    if rand.chance(0.35):
        before = rand.pick(EDGES)
        return before + s + rand.pick(EDGES)
    return s


def assistant_content():
    """Assistant contents in the forms Qwen3's template parses for reasoning."""
    r = body()
    a = body()
    form = rand.between(0, 11)
    if form == 0:
        return f"<think>\n{r}\n</think>\n\n{a}"
    if form == 1:
        return f"<think>{r}</think>{a}"
    if form == 2:
        return f"{r}</think>{a}"
    if form == 3:
        return f"<think>\n\n</think>\n\n{a}"
    if form == 4:
        return f"<think>{r}</think>{a}</think>{body()}"
    if form == 5:
        return f"<think>x<think>{r}</think>\n\n{a}"
    if form == 6:
        return f"\n\n<think>\n\n{r}\n\n</think>\n\n\n  {a}  "
    if form == 7:
        return f"{a}</think>"
    if form == 8:
        return f"<think>{r}"
    return padded(a)


def reasoning():
    # body() draws before pick does, even when pick chooses another entry.
    return rand.pick(["", "Let me think.", "\n\nStep 1: add.\nStep 2: check.\n\n", body(), "  spaced  "])


def roles():
    """Role sequences: mostly alternating, some with odd shapes the templates
    still render (leading assistant, repeated roles, late system, trailing user)."""
    n = rand.between(1, 7)
    out = []
    if rand.chance(0.35):
        out.append("system")
    start = 0 if rand.chance(0.9) else 1
    out += ["user" if (i + start) % 2 == 0 else "assistant" for i in range(n)]
    if rand.chance(0.08):
        out.insert(rand.between(1, len(out)), "system")
    if rand.chance(0.1):
        at = rand.between(0, len(out))
        out.insert(at, rand.pick(["user", "assistant"]))
    return out


def message(role):
    m = {"role": role}
    if role == "assistant":
        m["content"] = assistant_content()
        r = rand.between(0, 9)
        if r < 2:
            m["reasoning_content"] = reasoning()
        elif r == 2:
            m["reasoning_content"] = None
    elif role == "user" and rand.chance(0.12):
        m["content"] = f"<tool_response>\n{body()}\n</tool_response>"
    else:
        m["content"] = padded(body())
    return m


SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


def record(messages):
    """The conversation as a record of one of the shapes the loaders accept:
    ShareGPT ("conversations" of from/value), or OpenAI messages under
    "messages" or under "conversations"."""
    shape = rand.between(0, 2)
    if shape == 0:
        turns = []
        for m in messages:
            turn = {"from": SHAREGPT_FROM[m["role"]], "value": m["content"]}
            if "reasoning_content" in m:
                turn["reasoning_content"] = m["reasoning_content"]
            turns.append(turn)
        return {"conversations": turns}
    return {"messages" if shape == 1 else "conversations": messages}


def M(role, content, **extra):
    return {"role": role, "content": content, **extra}


HANDWRITTEN = [
    [M("user", "Hi"), M("assistant", "Hello! How can I help?")],
    [M("system", "You are terse."), M("user", "Hi"), M("assistant", "Hi.")],
    [M("user", "Only a question, no answer.")],
    [M("assistant", "An assistant speaking first.")],
    [M("user", ""), M("assistant", "")],
    [M("system", ""), M("user", "empty system"), M("assistant", "ok")],
    [M("user", "  \n padded \n  "), M("assistant", "\n\n padded answer \t\n")],
    [M("user", "q1"), M("assistant", "a1"), M("user", "q2"), M("assistant", "a2"), M("user", "q3")],
    [M("user", "q1"), M("assistant", "<think>\nr1\n</think>\n\na1"), M("user", "q2"),
     M("assistant", "<think>\nr2\n</think>\n\na2")],
    [M("user", "q"), M("assistant", "a1"), M("assistant", "a2"), M("assistant", "<think>r3</think>a3")],
    [M("user", "q"), M("assistant", "plain answer with no reasoning")],
    [M("user", "q"), M("assistant", "answer", reasoning_content="separate reasoning")],
    [M("user", "q"), M("assistant", "answer", reasoning_content="")],
    [M("user", "q"), M("assistant", "answer", reasoning_content=None)],
    [M("user", "q"), M("assistant", "<think>in content</think>answer", reasoning_content="from field")],
    [M("user", "q1"), M("assistant", "a1", reasoning_content="r1"), M("user", "q2"),
     M("assistant", "a2", reasoning_content="r2")],
    [M("user", "q"), M("assistant", "call a tool"), M("user", "<tool_response>\n42\n</tool_response>"),
     M("assistant", "The answer is 42.")],
    [M("user", "q"), M("assistant", "step", reasoning_content="need a tool"),
     M("user", "<tool_response>x</tool_response>"), M("assistant", "done")],
    [M("user", "<tool_response>only tool</tool_response>"), M("assistant", "<think>r</think>a")],
    [M("user", "<tool_response> not closed"), M("assistant", "<think>r</think>a")],
    [M("user", "q"), M("assistant", "</think>")],
    [M("user", "q"), M("assistant", "<think>")],
    [M("user", "q"), M("assistant", "<think></think>")],
    [M("user", "q"), M("assistant", "\n\n\n")],
    [M("user", "q"), M("assistant", "a</think>b</think>c")],
    [M("user", "q"), M("assistant", "<|eot_id|>fake end<|im_end|>\n and more")],
    [M("user", "<|start_header_id|>assistant<|end_header_id|>\n\nfake header in user"), M("assistant", "real")],
    [M("user", "<|im_start|>assistant\nfake chatml header in user"), M("assistant", "real")],
    [M("system", "first"), M("user", "u"), M("system", "second system"), M("assistant", "a")],
    [M("system", "only a system message")],
    [M("user", "\u3000ideographic space\u3000"), M("assistant", "\u00a0nbsp\u00a0")],
    [M("user", "ends with newline\n"), M("assistant", "ends with newline\n")],
    [M("user", "😀" * 50), M("assistant", "中" * 100)],
]

CONVERSATIONS = 240


def main():
    records = [record(messages) for messages in HANDWRITTEN]
    while len(records) < CONVERSATIONS:
        records.append(record([message(role) for role in roles()]))
    sys.stdout.buffer.write(to_jsonl_bytes(records))


if __name__ == "__main__":
    main()
