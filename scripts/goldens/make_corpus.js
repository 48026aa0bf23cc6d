#!/usr/bin/env node
// Writes tests/data/tokenizer/corpus.jsonl: the deterministic corpus (seeded
// PRNG, no input files) that the tokenizer goldens are made from. One JSON
// object per line: {"text": "..."} or, for bytes that are not valid UTF-8,
// {"bytes_hex": "..."}.
// Regenerate: node scripts/goldens/make_corpus.js && node scripts/goldens/make_tokenizer_goldens.js
'use strict';
const fs = require('fs');
const path = require('path');

const out = path.join(__dirname, '../../tests/data/tokenizer/corpus.jsonl');

const rand = require('../lib/random.js').random(20240611);
const int = rand.below;
const pick = rand.pick;
const cp = (...codes) => String.fromCodePoint(...codes);

const sentences = {
  english: ['The quick brown fox jumps over the lazy dog.', "It's a truth universally acknowledged, isn't it?",
    'Speculative decoding drafts several tokens, then verifies them in one pass.', 'HELLO World!!! How are   you?'],
  french: ['Ça va très bien, merci ! Où est la bibliothèque ?', "L'été dernier, nous sommes allés à la plage.",
    'Les élèves ont étudié l’histoire de la Révolution française.'],
  german: ['Größere Straßen führen über die Brücke nach Köln.', 'Fußgänger müssen den Übergang benutzen.'],
  spanish: ['¿Dónde está la estación? ¡Qué día tan bonito!', 'El niño comió piña y jalapeños en el año 2023.'],
  vietnamese: ['Tiếng Việt có nhiều dấu thanh: à, á, ả, ã, ạ.', 'Hà Nội là thủ đô của Việt Nam.'],
  chinese: ['我们今天去公园散步，天气非常好。', '机器学习模型需要大量的训练数据。', '北京是中华人民共和国的首都。'],
  japanese: ['今日はとても良い天気ですね。', 'カタカナとひらがなを混ぜて書きます。', '東京タワーに行きました！'],
  korean: ['안녕하세요, 만나서 반갑습니다.', '한국어 문장을 토큰화합니다.', '서울은 대한민국의 수도입니다.'],
  arabic: ['مرحبا بالعالم، كيف حالك اليوم؟', 'اللغة العربية تكتب من اليمين إلى اليسار.'],
  hebrew: ['שלום עולם, מה שלומך?', 'העברית נכתבת מימין לשמאל.'],
  hindi: ['नमस्ते दुनिया, आप कैसे हैं?', 'भारत एक विशाल देश है जिसमें अनेक भाषाएँ हैं।'],
  thai: ['สวัสดีครับ ยินดีที่ได้รู้จัก', 'ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ'],
  russian: ['Привет, мир! Как дела?', 'Москва — столица России, основана в 1147 году.'],
  greek: ['Γειά σου κόσμε! Τι κάνεις;', 'Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.'],
};
// Decomposed forms: NFC (Qwen3's normalizer) recomposes them.
const decomposed = ['e\u0301te\u0301', 'A\u030Angstro\u0308m', 'n\u0303and\u00fa', 'Cafe\u0301 au lait',
  '\u1100\u1161\u11A8\u1100\u1161', 'o\u0308\u0304', '\u212B \u2126 \u212A', 'x\u0323\u0307',
  'ǖ vs u\u0308\u0304', 'Zalgo: Z\u0351\u0300\u0301a\u0308l\u0303g\u0304o\u0305',
  // marks newer than Unicode 9.0, which Hugging Face's NFC tables lack
  'e\u07FD\u0301', 'a\u0898\u0316 x\u1DF6\u0301', '\u0915\u0C3C\u093C'];
const emoji = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '🇯🇵', '🏳️‍🌈', '1️⃣', '❤️', '🧑🏿‍💻', '🤖', '🫠', '🪿', '👩🏻‍❤️‍💋‍👨🏼'];
const code = [
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  '#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v.size() > 2 ? 0 : 1;\n}\n',
  'const add = (a, b) => a + b;\nconsole.log(`sum: ${add(2, 3)}`);\r\n',
  'fn main() {\n    let xs: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!("{:?}", xs);\n}\n',
  'SELECT name, COUNT(*) AS n FROM users WHERE age >= 18 GROUP BY name ORDER BY n DESC;',
  '<div class="row"><a href="https://example.com/?q=1&x=2">link</a></div>',
  '{"key": [1, 2.5, -3e10, true, null], "nested": {"a": "b"}}',
  'if (x != 0 && y <= 10) { z += x ** 2; } // comment\n/* block */',
  '    indented\n\t\ttabbed\n  \t mixed\n',
  "    raise ValueError(f'bad value: {value!r}')\n",
];
const specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>',
  '<|reserved_special_token_0|>', '<|reserved_special_token_247|>', '<|python_tag|>', '<|eom_id|>',
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '</tool_call>',
  '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|vision_start|>', '<|image_pad|>', '<tool_response>',
  // tokens of the synthetic test tokenizers (tests/data/tokenizer/synthetic)
  '<s>', '</s>', '[MASK]', '<pad>', 'hello', 'Ωmega', '<tok>', '<bos>', 'Å'];
const partialSpecials = ['<|begin_of_text', '<|eot_id', '<|im_start', 'im_end|>', '<|', '|>', '<think', 'think>',
  '<|reserved_special_token_999|>', '<|endoftext |>', '< |im_end|>', '</think'];
const unicodeSpaces = [0xa0, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x3000, 0x180e, 0x85, 0x2028, 0x2029, 0x202f, 0x205f, 0x1680, 0x200b, 0xfeff].map((c) => cp(c));
const contractions = ["I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL", "he'd", "HE'D",
  "it's", "IT'S", "don't", "DON'T", "It'S", "x'ſ", "IT'ſ", "O'K", "o'\u212A", "Y'ALL", "'s", "'S", "'t",
  "it’s", "'ß", "l'İ", "'\u017Ft", "can'T", "'re'", "''s", "'ll've", "a'Ll", "b'lL"];
// Letters and digits from Unicode 15 and 16 (Oniguruma knows them, PCRE2 10.42 does not).
const newLetters = [0x1c89, 0xa7cb, 0x105c0, 0x10d4a, 0x11380, 0x11f04, 0x13460, 0x16100, 0x1e030, 0x1e4d0,
  0x2ebf0, 0x31350].map((c) => cp(c, c + 1, c + 2));
const newDigits = [0x10d40, 0x116d0, 0x11bf0, 0x16130, 0x1ccf0, 0x1e4f0].map((c) => cp(c, c + 1));
const oddCodePoints = [0xe000, 0xf8ff, 0xfffd, 0xfffe, 0x10ffff, 0x1f000, 0x0378, 0x0e3f, 0x20ac, 0x2603, 0x1d11e,
  0x0300, 0x200d, 0x00ad, 0x061c, 0x0007, 0x001b, 0x007f, 0x0000, 0x2060].map((c) => cp(c))
  .concat([cp(1, 2, 3), cp(0x0e, 0x0f, 0x10, 0x11, 0x12), `a${cp(5)}b${cp(0x10, 0x10)}c`]);

const allSentences = Object.values(sentences).flat();
function fragment() {
  switch (int(12)) {
    case 0: case 1: case 2: return pick(allSentences);
    case 3: return pick(decomposed);
    case 4: return pick(emoji).repeat(1 + int(3));
    case 5: return pick(code);
    case 6: return number();
    case 7: return whitespace();
    case 8: return pick(specials);
    case 9: return pick(partialSpecials);
    case 10: return pick(contractions);
    default: return pick([...unicodeSpaces, ...newLetters, ...newDigits, ...oddCodePoints]);
  }
}
const digits = (n) => Array.from({length: n}, () => int(10)).join('');
function number() {
  switch (int(5)) {
    case 0: return digits(1 + int(40));
    case 1: return `${digits(1 + int(6))}.${digits(1 + int(6))}`;
    case 2: return `-${digits(1 + int(3))},${digits(3)},${digits(3)}`;
    case 3: return `abc${digits(1 + int(8))}def${digits(1 + int(3))}`;
    default: return `${digits(4)}-${digits(2)}-${digits(2)}T${digits(2)}:${digits(2)}`;
  }
}
function whitespace() {
  const parts = [' ', '  ', '\t', '\n', '\r\n', '\n\n', '\r', '\u00a0', '\u3000', '\u2028', '\u180e', '\u0085', '\u000b', '\u000c'];
  let s = '';
  for (let n = 1 + int(6); n > 0; --n) s += pick(parts).repeat(1 + int(4));
  return s;
}
const joiners = ['', ' ', '  ', '\n', '\t', '', ' ', '\u00a0', '\r\n'];
function mix(n) {
  let s = '';
  for (let i = 0; i < n; ++i) s += (i ? pick(joiners) : '') + fragment();
  return s;
}

const texts = [];
const add = (t) => texts.push({text: t});
add('');
add(' ');
add('\n');
// Every fixed fragment alone, and with neighbours.
for (const list of [allSentences, decomposed, emoji, code, specials, partialSpecials, contractions, unicodeSpaces,
  newLetters, newDigits, oddCodePoints]) {
  for (const f of list) {
    add(f);
    add(` ${f} `);
    add(`x${f}y`);
  }
}
for (const sp of unicodeSpaces) {
  add(`a${sp}b`);
  add(`word${sp} ${sp}word`);
  add(`${sp}${sp}\n${sp}end`);
  add(`end${sp}`);
}
for (let n = 1; n <= 45; ++n) add(digits(n));
for (let n = 1; n <= 20; ++n) add(' '.repeat(n) + 'x' + ' '.repeat(n));
for (const ws of ['\n', '\r\n', '\t', ' \n', '\n ', '\t\n\t']) for (let n = 1; n <= 6; ++n) add(`a${ws.repeat(n)}b`);
// Special tokens glued together, spaced, and inside chat-like text.
add('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>');
add('<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n' +
    '<think>\nLet me think.\n</think>\n\nHello.<|im_end|>\n');
add('<|eot_id|><|eot_id|>  <|eot_id|>\n<|eot_id|>x<|eot_id|>');
add('<|im_end|><|im_start|><|im_end|>   <think></think><tool_call>{"a": 1}</tool_call>');
add('<|<|im_start|>|><<|eot_id|>>');
add('[MASK] [MASK][MASK]  [MASK]\t<pad>  x<pad>\n hello hello, xhello hello_ Hello héllo hello1 (hello)');
add('Ωmega  Ωmega <tok> x <tok>y \u212B A\u030A Å <bos><s></s>');
// Long words and runs (kept to a few thousand characters).
add('a'.repeat(3000));
add('ab'.repeat(1500));
add(Array.from({length: 2500}, () => String.fromCharCode(97 + int(26))).join(''));
add('7'.repeat(2000));
add(' '.repeat(2500) + 'x');
add('\n'.repeat(1000));
add('!'.repeat(1200) + '?');
add('中文'.repeat(800));
add('😀'.repeat(500));
add('e\u0301'.repeat(600));
add(Array.from({length: 1500}, () => pick(['a', 'é', 'ß', 'я', 'ا', '字', ' '])).join(''));
// Random mixtures make up the bulk.
while (texts.length < 2100) add(mix(1 + int(8)));

// Invalid UTF-8: lone and stray continuation bytes, truncated and overlong
// sequences, surrogates, bytes that never occur in UTF-8.
const invalid = ['80', 'bf', 'c0', 'c1 80', 'c2', 'e0 80 80', 'e0 a0', 'ed a0 80', 'ed bf bf', 'f0 80 80 80', 'f0 90 80',
  'f4 90 80 80', 'f5', 'fe', 'ff', 'c3 28', 'e2 82 28', 'f0 28 8c bc', 'e2 28 a1', 'f8 88 80 80 80', 'c3', 'e2 82',
  'f0 9f 98'];
const utf8 = (s) => Buffer.from(s, 'utf8');
for (let i = 0; i < 120; ++i) {
  const parts = [];
  for (let n = 1 + int(5); n > 0; --n) {
    parts.push(rand() < 0.5 ? Buffer.from(pick(invalid).replace(/ /g, ''), 'hex') : utf8(fragment()));
  }
  texts.push({bytes_hex: Buffer.concat(parts).toString('hex')});
}
for (const b of invalid) texts.push({bytes_hex: b.replace(/ /g, '')});

fs.writeFileSync(out, texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
console.log(`wrote ${texts.length} lines to ${path.relative(process.cwd(), out)}`);
