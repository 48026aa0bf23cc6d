#!/usr/bin/env node
// Records two Unicode facts of Hugging Face's tokenizers for every code point:
// - tests/data/tokenizer/onig_classes.json: for each character class that the
//   Llama-3 / Qwen / GPT-2 Split patterns use, the code points Oniguruma puts
//   in it, as [first, last] ranges (found by splitting a string of all code
//   points with a Split pre-tokenizer of behaviour "Removed": what survives is
//   outside the class). tests/test_tokenizer.cpp checks Talon's translated
//   PCRE2 classes against them.
// - tests/data/tokenizer/hf_nfc.json: HF's NFC of every code point c in a few
//   contexts (before / after marks and jamo), listed where it differs from the
//   input. tests/test_nfc.cpp checks talon::text::nfc against it.
// Regenerate: node scripts/goldens/make_unicode_goldens.js
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '../..');
const {Tokenizer, nfcNormalizer} = require(path.join(root, '.cache/npm/node_modules/@anush008/tokenizers'));

function splitter(pattern) {
  return Tokenizer.fromString(JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, post_processor: null,
    decoder: null, pre_tokenizer: {type: 'Split', pattern: {Regex: pattern}, behavior: 'Removed', invert: false},
    model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab: {}, merges: []},
  })).getPreTokenizer();
}

const codePoints = [];
for (let c = 0; c < 0x110000; ++c) if (c < 0xd800 || c > 0xdfff) codePoints.push(c);

function ranges(pattern) {
  const pre = splitter(pattern);
  const outside = new Set();
  for (let i = 0; i < codePoints.length; i += 65536) {
    const text = String.fromCodePoint(...codePoints.slice(i, i + 65536));
    for (const [piece] of pre.preTokenizeString(text)) for (const ch of piece) outside.add(ch.codePointAt(0));
  }
  const out = [];
  for (const c of codePoints) {
    if (outside.has(c)) continue;
    if (out.length && out[out.length - 1][1] === c - 1) out[out.length - 1][1] = c;
    else out.push([c, c]);
  }
  return out;
}

const classes = {};
for (const pattern of ['\\p{L}', '\\p{N}', '\\s', ...'strevmld'.split('').map((c) => `(?i:${c})`)]) {
  classes[pattern] = ranges(pattern);
}
const classesOut = path.join(root, 'tests/data/tokenizer/onig_classes.json');
fs.writeFileSync(classesOut, JSON.stringify(classes) + '\n');
console.log(`wrote ${path.relative(root, classesOut)}`);

// Contexts: composition across the code point, reordering against a class
// 220 mark, the code point alone, and after a leading Hangul jamo.
const contexts = [['e', '\u0301'], ['a', '\u0316'], ['', ''], ['\u1100', '']];
const nfc = nfcNormalizer();
const changed = [];
contexts.forEach(([before, after], k) => {
  // One call per context: "|" is a separator NFC leaves alone.
  // U+007C, the separator itself, is left out: its context strings are ASCII
  // and a lone jamo, which NFC leaves unchanged.
  const inputs = codePoints.filter((c) => c !== 0x7c).map((c) => before + String.fromCodePoint(c) + after);
  const outputs = nfc.normalizeString(inputs.join('|')).split('|');
  if (outputs.length !== inputs.length) throw new Error('separator split mismatch');
  inputs.forEach((input, j) => {
    if (outputs[j] !== input) changed.push([k, input.codePointAt(before.length), outputs[j]]);
  });
});
const nfcOut = path.join(root, 'tests/data/tokenizer/hf_nfc.json');
fs.writeFileSync(nfcOut, JSON.stringify({contexts, changed}) + '\n');
console.log(`wrote ${path.relative(root, nfcOut)} (${changed.length} changed)`);
