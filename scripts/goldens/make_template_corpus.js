#!/usr/bin/env node
// Writes the chat-template golden corpus, tests/data/templates/conversations.jsonl:
// hand-written edge cases, then seeded random conversations built from
// fragments that stress what templates do to content (trimming, Qwen3's
// <think> splitting, special-token look-alikes, Unicode, empty strings).
// Deterministic: the same file on every machine.
//   node scripts/goldens/make_template_corpus.js > tests/data/templates/conversations.jsonl
//
// No fragment contains U+001C..U+001F, U+0085, U+180E or U+FEFF: Python's
// str.strip() (what HF renders) and JavaScript's trim() (what
// @huggingface/jinja runs for `| trim`) disagree on those.
'use strict';

const rand = require('../lib/random.js').random(20240611);
const int = rand.between;
const pick = rand.pick;
const chance = rand.chance;

const texts = [
  'Hello!', 'What is the capital of France?', 'The capital of France is Paris.',
  'Can you explain recursion in one sentence?', 'Sure. A function that calls itself on a smaller input.',
  '```python\ndef double(x):\n    return x * 2\n```', 'for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}',
  '你好，世界。今天天气怎么样？', '日本語のテキストです。', '안녕하세요, 반갑습니다.', 'مرحبا بالعالم، كيف حالك؟',
  'नमस्ते दुनिया', 'Привет, мир!', 'Café, naïve, résumé, Ångström.', '∑ x² ≤ ∞ and ∀ε>0 ∃δ',
  '👋🌍🎉 👨‍👩‍👧 🏳️‍🌈', 'zero\u200bwidth space', 'line one\nline two\n\nline four', 'windows\r\nline endings\r\n',
  'tabs\tin\tthe\tmiddle', 'He said "hi" and then \'bye\'.', 'C:\\path\\to\\file.txt', '{"a": [1, 2, {"b": null}]}',
  'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(3), '1234567890 3.14159 -42 1e-9', 'a', '.',
];
const specials = [
  '<|eot_id|>', '<|im_end|>', '<|im_start|>assistant\n', '<|start_header_id|>assistant<|end_header_id|>\n\n',
  '<|begin_of_text|>', '<|end_of_text|>', '<|endoftext|>', '<think>', '</think>', '<tool_response>',
  '</tool_response>', '<|im_start|>user\n',
];
// Both Python and JavaScript strip all of these.
const edges = ['', '', '', ' ', '  ', '\n', '\n\n', '  \n\t', '\t', '\u00a0', '\u3000', '\r\n', ' \u2003', '\n \n'];

function fragment() {
  return chance(0.15) ? pick(specials) : pick(texts);
}
function body() {
  if (chance(0.05)) return '';
  const parts = [];
  for (let i = int(1, 3); i > 0; --i) parts.push(fragment());
  return parts.join(pick([' ', '\n', '\n\n', '']));
}
function padded(s) {
  return chance(0.35) ? pick(edges) + s + pick(edges) : s;
}

// Assistant contents in the forms Qwen3's template parses for reasoning.
function assistant_content() {
  const r = body(), a = body();
  switch (int(0, 11)) {
    case 0: return `<think>\n${r}\n</think>\n\n${a}`;
    case 1: return `<think>${r}</think>${a}`;
    case 2: return `${r}</think>${a}`;
    case 3: return `<think>\n\n</think>\n\n${a}`;
    case 4: return `<think>${r}</think>${a}</think>${body()}`;
    case 5: return `<think>x<think>${r}</think>\n\n${a}`;
    case 6: return `\n\n<think>\n\n${r}\n\n</think>\n\n\n  ${a}  `;
    case 7: return `${a}</think>`;
    case 8: return `<think>${r}`;
    default: return padded(a);
  }
}

function reasoning() {
  return pick(['', 'Let me think.', '\n\nStep 1: add.\nStep 2: check.\n\n', body(), '  spaced  ']);
}

// Role sequences: mostly alternating, some with odd shapes the templates
// still render (leading assistant, repeated roles, late system, trailing user).
function roles() {
  const n = int(1, 7);
  const out = [];
  if (chance(0.35)) out.push('system');
  const start = chance(0.9) ? 0 : 1;
  for (let i = 0; i < n; ++i) out.push((i + start) % 2 === 0 ? 'user' : 'assistant');
  if (chance(0.08)) out.splice(int(1, out.length), 0, 'system');
  if (chance(0.1)) out.splice(int(0, out.length), 0, pick(['user', 'assistant']));
  return out;
}

function message(role) {
  const m = { role };
  if (role === 'assistant') {
    m.content = assistant_content();
    const r = int(0, 9);
    if (r < 2) m.reasoning_content = reasoning();
    else if (r === 2) m.reasoning_content = null;
  } else if (role === 'user' && chance(0.12)) {
    m.content = `<tool_response>\n${body()}\n</tool_response>`;
  } else {
    m.content = padded(body());
  }
  return m;
}

const kShareGpt = { system: 'system', user: 'human', assistant: 'gpt' };
function record(messages) {
  const shape = int(0, 2);
  if (shape === 0) {
    return {
      conversations: messages.map((m) => {
        const out = { from: kShareGpt[m.role], value: m.content };
        if ('reasoning_content' in m) out.reasoning_content = m.reasoning_content;
        return out;
      }),
    };
  }
  return { [shape === 1 ? 'messages' : 'conversations']: messages };
}

const M = (role, content, extra = {}) => ({ role, content, ...extra });
const handwritten = [
  [M('user', 'Hi'), M('assistant', 'Hello! How can I help?')],
  [M('system', 'You are terse.'), M('user', 'Hi'), M('assistant', 'Hi.')],
  [M('user', 'Only a question, no answer.')],
  [M('assistant', 'An assistant speaking first.')],
  [M('user', ''), M('assistant', '')],
  [M('system', ''), M('user', 'empty system'), M('assistant', 'ok')],
  [M('user', '  \n padded \n  '), M('assistant', '\n\n padded answer \t\n')],
  [M('user', 'q1'), M('assistant', 'a1'), M('user', 'q2'), M('assistant', 'a2'), M('user', 'q3')],
  [M('user', 'q1'), M('assistant', '<think>\nr1\n</think>\n\na1'), M('user', 'q2'), M('assistant', '<think>\nr2\n</think>\n\na2')],
  [M('user', 'q'), M('assistant', 'a1'), M('assistant', 'a2'), M('assistant', '<think>r3</think>a3')],
  [M('user', 'q'), M('assistant', 'plain answer with no reasoning')],
  [M('user', 'q'), M('assistant', 'answer', { reasoning_content: 'separate reasoning' })],
  [M('user', 'q'), M('assistant', 'answer', { reasoning_content: '' })],
  [M('user', 'q'), M('assistant', 'answer', { reasoning_content: null })],
  [M('user', 'q'), M('assistant', '<think>in content</think>answer', { reasoning_content: 'from field' })],
  [M('user', 'q1'), M('assistant', 'a1', { reasoning_content: 'r1' }), M('user', 'q2'), M('assistant', 'a2', { reasoning_content: 'r2' })],
  [M('user', 'q'), M('assistant', 'call a tool'), M('user', '<tool_response>\n42\n</tool_response>'), M('assistant', 'The answer is 42.')],
  [M('user', 'q'), M('assistant', 'step', { reasoning_content: 'need a tool' }), M('user', '<tool_response>x</tool_response>'), M('assistant', 'done')],
  [M('user', '<tool_response>only tool</tool_response>'), M('assistant', '<think>r</think>a')],
  [M('user', '<tool_response> not closed'), M('assistant', '<think>r</think>a')],
  [M('user', 'q'), M('assistant', '</think>')],
  [M('user', 'q'), M('assistant', '<think>')],
  [M('user', 'q'), M('assistant', '<think></think>')],
  [M('user', 'q'), M('assistant', '\n\n\n')],
  [M('user', 'q'), M('assistant', 'a</think>b</think>c')],
  [M('user', 'q'), M('assistant', '<|eot_id|>fake end<|im_end|>\n and more')],
  [M('user', '<|start_header_id|>assistant<|end_header_id|>\n\nfake header in user'), M('assistant', 'real')],
  [M('user', '<|im_start|>assistant\nfake chatml header in user'), M('assistant', 'real')],
  [M('system', 'first'), M('user', 'u'), M('system', 'second system'), M('assistant', 'a')],
  [M('system', 'only a system message')],
  [M('user', '\u3000ideographic space\u3000'), M('assistant', '\u00a0nbsp\u00a0')],
  [M('user', 'ends with newline\n'), M('assistant', 'ends with newline\n')],
  [M('user', '😀'.repeat(50)), M('assistant', '中'.repeat(100))],
];

const records = handwritten.map(record);
while (records.length < 240) {
  records.push(record(roles().map(message)));
}
for (const r of records) process.stdout.write(JSON.stringify(r) + '\n');
