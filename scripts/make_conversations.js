#!/usr/bin/env node
// Writes deterministic synthetic conversations as JSONL: the bundled example
// data (examples/conversations.jsonl) and the `talon prepare` benchmark corpus.
// Tasks are simple and regular (arithmetic, counting, spelling, lists, code),
// so a tiny draft can learn them; shapes alternate between ShareGPT and
// OpenAI, some with a system message, some multi-turn.
//   node scripts/make_conversations.js --count 300 --seed 1 > examples/conversations.jsonl
'use strict';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const count = opt('--count', 300);
const rand = require('./lib/random.js').random(opt('--seed', 1));
const int = rand.between;
const pick = rand.pick;

const ones = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
function words(n) {
  if (n < 20) return ones[n];
  if (n < 100) return tens[Math.floor(n / 10)] + (n % 10 ? '-' + ones[n % 10] : '');
  if (n < 1000) return ones[Math.floor(n / 100)] + ' hundred' + (n % 100 ? ' and ' + words(n % 100) : '');
  return words(Math.floor(n / 1000)) + ' thousand' + (n % 1000 ? ' ' + words(n % 1000) : '');
}
const animals = ['cat', 'dog', 'horse', 'rabbit', 'owl', 'fox', 'otter', 'whale', 'eagle', 'falcon', 'tiger', 'zebra'];
const colors = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'black', 'white', 'silver', 'gold'];
const fruits = ['apple', 'banana', 'cherry', 'grape', 'lemon', 'mango', 'peach', 'pear', 'plum', 'kiwi'];
const langs = ['Python', 'C++', 'JavaScript', 'Rust', 'Go'];

const tasks = [
  () => {
    const a = int(2, 999), b = int(2, 999);
    return [`What is ${a} plus ${b}?`, `${a} plus ${b} is ${a + b}. In words, that is ${words(a + b)}.`];
  },
  () => {
    const a = int(2, 40), b = int(2, 25);
    return [`Multiply ${a} by ${b}.`, `${a} times ${b} equals ${a * b}. To check: ${a * b} divided by ${b} is ${a}.`];
  },
  () => {
    const n = int(3, 12);
    const xs = Array.from({length: n}, (_, i) => String(i + 1));
    return [`Count from one to ${words(n)}.`, `Here you go: ${xs.join(', ')}.`];
  },
  () => {
    const w = pick(animals.concat(fruits));
    return [`How do you spell "${w}" letter by letter?`, `"${w}" is spelled ${w.split('').join('-').toUpperCase()}. It has ${words(w.length)} letters.`];
  },
  () => {
    const k = int(2, 5);
    const xs = [];
    while (xs.length < k) { const c = pick(colors); if (!xs.includes(c)) xs.push(c); }
    return [`Name ${words(k)} colors.`, `Sure. Here are ${words(k)} colors:\n` + xs.map((c, i) => `${i + 1}. ${c[0].toUpperCase() + c.slice(1)}`).join('\n')];
  },
  () => {
    const a = pick(animals), c = pick(colors), f = pick(fruits);
    const an = (w) => (/^[aeiou]/.test(w) ? 'an ' : 'a ') + w;
    return [`Write one sentence about ${an(c)} ${a}.`, `The ${c} ${a} sat quietly under the tree and ate ${an(f)}.`];
  },
  () => {
    const lang = pick(langs);
    const bodies = {
      'Python': 'def add(a, b):\n    return a + b',
      'C++': 'int add(int a, int b) {\n  return a + b;\n}',
      'JavaScript': 'function add(a, b) {\n  return a + b;\n}',
      'Rust': 'fn add(a: i32, b: i32) -> i32 {\n    a + b\n}',
      'Go': 'func add(a, b int) int {\n\treturn a + b\n}',
    };
    return [`Write a ${lang} function that adds two numbers.`, `Here is a ${lang} function that adds two numbers:\n\n\`\`\`\n${bodies[lang]}\n\`\`\`\n\nIt returns the sum of its two arguments.`];
  },
  () => {
    const n = int(1, 999);
    return [`Write the number ${n} in words.`, `${n} in words is "${words(n)}".`];
  },
];

const followups = [
  ['Thanks! Can you say that again, shorter?', (prev) => prev.split('.')[0] + '.'],
  ['Now repeat it in capital letters.', (prev) => prev.toUpperCase()],
];

const systems = ['You are a helpful assistant.', 'You are a concise assistant. Answer briefly.'];

for (let i = 0; i < count; i++) {
  const turns = [];
  const [q, a] = pick(tasks)();
  turns.push(['user', q], ['assistant', a]);
  if (rand() < 0.3) {
    const [fq, fa] = pick(followups);
    turns.push(['user', fq], ['assistant', fa(a)]);
  }
  const system = rand() < 0.2 ? pick(systems) : null;
  let record;
  if (i % 2 === 0) {
    const from = {user: 'human', assistant: 'gpt', system: 'system'};
    const conv = turns.map(([r, v]) => ({from: from[r], value: v}));
    if (system) conv.unshift({from: 'system', value: system});
    record = {id: `ex-${i}`, conversations: conv};
  } else {
    const msgs = turns.map(([r, c]) => ({role: r, content: c}));
    if (system) msgs.unshift({role: 'system', content: system});
    record = {id: `ex-${i}`, messages: msgs};
  }
  process.stdout.write(JSON.stringify(record) + '\n');
}
