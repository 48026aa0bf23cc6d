"""Writes tests/data/tokenizer/corpus.jsonl: the deterministic corpus (seeded
PRNG, no input files) that the tokenizer goldens are made from. One JSON
object per line: {"text": "..."} or, for bytes that are not valid UTF-8,
{"bytes_hex": "..."}.
Regenerate: .venv/bin/python scripts/goldens/make_corpus.py && .venv/bin/python scripts/goldens/make_tokenizer_goldens.py

The file is byte for byte what the former Node generator wrote: the random
draws happen in the same order (see lib/random.py), so do not reorder calls
that draw, and keep every list as it is.
"""
import os
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/data/tokenizer/corpus.jsonl"
sys.path.insert(0, str(ROOT / "scripts"))
from lib.jsonl import to_jsonl_bytes  # noqa: E402
from lib.random import random  # noqa: E402

rand = random(20240611)


def cp(*codes):
    """The string of the given code points."""
    return "".join(map(chr, codes))


SENTENCES = {
    "english": ["The quick brown fox jumps over the lazy dog.", "It's a truth universally acknowledged, isn't it?",
                "Speculative decoding drafts several tokens, then verifies them in one pass.",
                "HELLO World!!! How are   you?"],
    "french": ["Ça va très bien, merci ! Où est la bibliothèque ?", "L'été dernier, nous sommes allés à la plage.",
               "Les élèves ont étudié l’histoire de la Révolution française."],
    "german": ["Größere Straßen führen über die Brücke nach Köln.", "Fußgänger müssen den Übergang benutzen."],
    "spanish": ["¿Dónde está la estación? ¡Qué día tan bonito!", "El niño comió piña y jalapeños en el año 2023."],
    "vietnamese": ["Tiếng Việt có nhiều dấu thanh: à, á, ả, ã, ạ.", "Hà Nội là thủ đô của Việt Nam."],
    "chinese": ["我们今天去公园散步，天气非常好。", "机器学习模型需要大量的训练数据。", "北京是中华人民共和国的首都。"],
    "japanese": ["今日はとても良い天気ですね。", "カタカナとひらがなを混ぜて書きます。", "東京タワーに行きました！"],
    "korean": ["안녕하세요, 만나서 반갑습니다.", "한국어 문장을 토큰화합니다.", "서울은 대한민국의 수도입니다."],
    "arabic": ["مرحبا بالعالم، كيف حالك اليوم؟", "اللغة العربية تكتب من اليمين إلى اليسار."],
    "hebrew": ["שלום עולם, מה שלומך?", "העברית נכתבת מימין לשמאל."],
    "hindi": ["नमस्ते दुनिया, आप कैसे हैं?", "भारत एक विशाल देश है जिसमें अनेक भाषाएँ हैं।"],
    "thai": ["สวัสดีครับ ยินดีที่ได้รู้จัก", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ"],
    "russian": ["Привет, мир! Как дела?", "Москва — столица России, основана в 1147 году."],
    "greek": ["Γειά σου κόσμε! Τι κάνεις;", "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας."],
}
ALL_SENTENCES = [s for group in SENTENCES.values() for s in group]
# Decomposed forms: NFC (Qwen3's normalizer) recomposes them.
DECOMPOSED = ["e\u0301te\u0301", "A\u030Angstro\u0308m", "n\u0303and\u00fa", "Cafe\u0301 au lait",
              "\u1100\u1161\u11A8\u1100\u1161", "o\u0308\u0304", "\u212B \u2126 \u212A", "x\u0323\u0307",
              "ǖ vs u\u0308\u0304", "Zalgo: Z\u0351\u0300\u0301a\u0308l\u0303g\u0304o\u0305",
              # marks newer than Unicode 9.0, which Hugging Face's NFC tables lack
              "e\u07FD\u0301", "a\u0898\u0316 x\u1DF6\u0301", "\u0915\u0C3C\u093C"]
# ZWJ sequences, skin tones, flags, keycaps, variation selectors.
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "🏳️‍🌈", "1️⃣", "❤️", "🧑🏿‍💻", "🤖", "🫠", "🪿", "👩🏻‍❤️‍💋‍👨🏼"]
CODE = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v.size() > 2 ? 0 : 1;\n}\n",
    "const add = (a, b) => a + b;\nconsole.log(`sum: ${add(2, 3)}`);\r\n",
    "fn main() {\n    let xs: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", xs);\n}\n",
    "SELECT name, COUNT(*) AS n FROM users WHERE age >= 18 GROUP BY name ORDER BY n DESC;",
    "<div class=\"row\"><a href=\"https://example.com/?q=1&x=2\">link</a></div>",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
    "if (x != 0 && y <= 10) { z += x ** 2; } // comment\n/* block */",
    "    indented\n\t\ttabbed\n  \t mixed\n",
    "    raise ValueError(f'bad value: {value!r}')\n",
]
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|reserved_special_token_0|>", "<|reserved_special_token_247|>", "<|python_tag|>", "<|eom_id|>",
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>", "</tool_call>",
            "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|vision_start|>", "<|image_pad|>",
            "<tool_response>",
            # tokens of the synthetic test tokenizers (tests/data/tokenizer/synthetic)
            "<s>", "</s>", "[MASK]", "<pad>", "hello", "Ωmega", "<tok>", "<bos>", "Å"]
PARTIAL_SPECIALS = ["<|begin_of_text", "<|eot_id", "<|im_start", "im_end|>", "<|", "|>", "<think", "think>",
                    "<|reserved_special_token_999|>", "<|endoftext |>", "< |im_end|>", "</think"]
UNICODE_SPACES = [cp(c) for c in [0xa0, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
                                  0x2009, 0x200a, 0x3000, 0x180e, 0x85, 0x2028, 0x2029, 0x202f, 0x205f, 0x1680,
                                  0x200b, 0xfeff]]
CONTRACTIONS = ["I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL", "he'd", "HE'D",
                "it's", "IT'S", "don't", "DON'T", "It'S", "x'ſ", "IT'ſ", "O'K", "o'\u212A", "Y'ALL", "'s", "'S",
                "'t", "it’s", "'ß", "l'İ", "'\u017Ft", "can'T", "'re'", "''s", "'ll've", "a'Ll", "b'lL"]
# Letters and digits from Unicode 15 and 16 (Oniguruma knows them, PCRE2 10.42 does not).
NEW_LETTERS = [cp(c, c + 1, c + 2) for c in [0x1c89, 0xa7cb, 0x105c0, 0x10d4a, 0x11380, 0x11f04, 0x13460, 0x16100,
                                             0x1e030, 0x1e4d0, 0x2ebf0, 0x31350]]
NEW_DIGITS = [cp(c, c + 1) for c in [0x10d40, 0x116d0, 0x11bf0, 0x16130, 0x1ccf0, 0x1e4f0]]
ODD_CODE_POINTS = [cp(c) for c in [0xe000, 0xf8ff, 0xfffd, 0xfffe, 0x10ffff, 0x1f000, 0x0378, 0x0e3f, 0x20ac,
                                   0x2603, 0x1d11e, 0x0300, 0x200d, 0x00ad, 0x061c, 0x0007, 0x001b, 0x007f, 0x0000,
                                   0x2060]] + [cp(1, 2, 3), cp(0x0e, 0x0f, 0x10, 0x11, 0x12),
                                               f"a{cp(5)}b{cp(0x10, 0x10)}c"]
SINGLE_CHARACTERS = UNICODE_SPACES + NEW_LETTERS + NEW_DIGITS + ODD_CODE_POINTS

WHITESPACE_PARTS = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "\r", "\u00a0", "\u3000", "\u2028", "\u180e", "\u0085",
                    "\u000b", "\u000c"]
# "" and " " twice: they are meant to be drawn twice as often.
JOINERS = ["", " ", "  ", "\n", "\t", "", " ", "\u00a0", "\r\n"]

# Invalid UTF-8: lone and stray continuation bytes, truncated and overlong
# sequences, surrogates, bytes that never occur in UTF-8.
INVALID_UTF8 = ["80", "bf", "c0", "c1 80", "c2", "e0 80 80", "e0 a0", "ed a0 80", "ed bf bf", "f0 80 80 80",
                "f0 90 80", "f4 90 80 80", "f5", "fe", "ff", "c3 28", "e2 82 28", "f0 28 8c bc", "e2 28 a1",
                "f8 88 80 80 80", "c3", "e2 82", "f0 9f 98"]


def digits(n):
    """n random decimal digits."""
    return "".join(str(rand.below(10)) for _ in range(n))


def number():
    """A number in one of a few written forms."""
    form = rand.below(5)
    if form == 0:
        return digits(1 + rand.below(40))
    if form == 1:
        return f"{digits(1 + rand.below(6))}.{digits(1 + rand.below(6))}"
    if form == 2:
        return f"-{digits(1 + rand.below(3))},{digits(3)},{digits(3)}"
    if form == 3:
        return f"abc{digits(1 + rand.below(8))}def{digits(1 + rand.below(3))}"
    return f"{digits(4)}-{digits(2)}-{digits(2)}T{digits(2)}:{digits(2)}"


def whitespace():
    """A run of 1 to 6 whitespace pieces, each repeated 1 to 4 times."""
    s = ""
    for _ in range(1 + rand.below(6)):
        part = rand.pick(WHITESPACE_PARTS)
        s += part * (1 + rand.below(4))
    return s


def fragment():
    """One piece of text; sentences come up three times as often as the rest."""
    kind = rand.below(12)
    if kind <= 2:
        return rand.pick(ALL_SENTENCES)
    if kind == 3:
        return rand.pick(DECOMPOSED)
    if kind == 4:
        emoji = rand.pick(EMOJI)
        return emoji * (1 + rand.below(3))
    if kind == 5:
        return rand.pick(CODE)
    if kind == 6:
        return number()
    if kind == 7:
        return whitespace()
    if kind == 8:
        return rand.pick(SPECIALS)
    if kind == 9:
        return rand.pick(PARTIAL_SPECIALS)
    if kind == 10:
        return rand.pick(CONTRACTIONS)
    return rand.pick(SINGLE_CHARACTERS)


def mix(n):
    """n fragments, joined by random joiners."""
    s = ""
    for i in range(n):
        if i:
            s += rand.pick(JOINERS)
        s += fragment()
    return s


def fixed_texts():
    """Every fixed fragment alone and with neighbours, numbers, whitespace
    runs, special tokens in chat-like text, long runs."""
    texts = ["", " ", "\n"]
    for fragments in [ALL_SENTENCES, DECOMPOSED, EMOJI, CODE, SPECIALS, PARTIAL_SPECIALS, CONTRACTIONS,
                      UNICODE_SPACES, NEW_LETTERS, NEW_DIGITS, ODD_CODE_POINTS]:
        for f in fragments:
            texts += [f, f" {f} ", f"x{f}y"]
    for sp in UNICODE_SPACES:
        texts += [f"a{sp}b", f"word{sp} {sp}word", f"{sp}{sp}\n{sp}end", f"end{sp}"]
    texts += [digits(n) for n in range(1, 46)]
    texts += [" " * n + "x" + " " * n for n in range(1, 21)]
    texts += [f"a{ws * n}b" for ws in ["\n", "\r\n", "\t", " \n", "\n ", "\t\n\t"] for n in range(1, 7)]
    # Special tokens glued together, spaced, and inside chat-like text.
    texts += [
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
        "\n\nHello.<|eot_id|>",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
        "<think>\nLet me think.\n</think>\n\nHello.<|im_end|>\n",
        "<|eot_id|><|eot_id|>  <|eot_id|>\n<|eot_id|>x<|eot_id|>",
        '<|im_end|><|im_start|><|im_end|>   <think></think><tool_call>{"a": 1}</tool_call>',
        "<|<|im_start|>|><<|eot_id|>>",
        "[MASK] [MASK][MASK]  [MASK]\t<pad>  x<pad>\n hello hello, xhello hello_ Hello héllo hello1 (hello)",
        "Ωmega  Ωmega <tok> x <tok>y \u212B A\u030A Å <bos><s></s>",
    ]
    # Long words and runs (kept to a few thousand characters).
    texts += [
        "a" * 3000,
        "ab" * 1500,
        "".join(chr(ord("a") + rand.below(26)) for _ in range(2500)),
        "7" * 2000,
        " " * 2500 + "x",
        "\n" * 1000,
        "!" * 1200 + "?",
        "中文" * 800,
        "😀" * 500,
        "e\u0301" * 600,
        "".join(rand.pick(["a", "é", "ß", "я", "ا", "字", " "]) for _ in range(1500)),
    ]
    return texts


def utf8(s):
    """s in UTF-8 as Node's Buffer.from(s, "utf8") gave it: an unpaired
    surrogate (none is expected) becomes U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", s).encode("utf-8")


def invalid_utf8_mixes(count):
    """count byte strings of 1 to 5 parts, each a fragment in UTF-8 or an
    invalid sequence, as hex."""
    mixes = []
    for _ in range(count):
        parts = []
        for _ in range(1 + rand.below(5)):
            if rand() < 0.5:
                parts.append(bytes.fromhex(rand.pick(INVALID_UTF8)))
            else:
                parts.append(utf8(fragment()))
        mixes.append(b"".join(parts).hex())
    return mixes


def main():
    # The order of these steps is the order of the random draws.
    entries = [{"text": t} for t in fixed_texts()]
    # Random mixtures make up the bulk.
    while len(entries) < 2100:
        entries.append({"text": mix(1 + rand.below(8))})
    entries += [{"bytes_hex": h} for h in invalid_utf8_mixes(120)]
    entries += [{"bytes_hex": b.replace(" ", "")} for b in INVALID_UTF8]

    OUT.write_bytes(to_jsonl_bytes(entries))
    print(f"wrote {len(entries)} lines to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
